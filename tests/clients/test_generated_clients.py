"""Clients generated from the live schema by tools nobody here wrote, each driven by a small
program through the first hour of an integration: register, log in, draft a project with
milestones naming the seller by e-mail, the seller joins, propose, accept, list.

- TypeScript: openapi-typescript's types, program.ts on openapi-fetch, compiled by `tsc` strict,
  run by node against the server.
- Python: openapi-python-client (no warning allowed), program.py on the generated package.

Each prints the generated client's size (files, lines, bytes).
"""

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.clients.tools import HERE, node_tool, run, size_of

pytestmark = [pytest.mark.slow]


def test_a_typescript_client_compiles_strict_and_runs_the_first_hour(server, live_schema, tmp_path):
    generate, tsc = node_tool("openapi-typescript"), node_tool("tsc")
    work = tmp_path / "ts"
    (work / "generated").mkdir(parents=True)
    for name in ("program.ts", "tsconfig.json"):
        shutil.copy(HERE / name, work / name)
    (work / "package.json").write_text(json.dumps({"type": "module", "private": True}))
    (work / "node_modules").symlink_to(HERE / "node_modules", target_is_directory=True)

    generated = work / "generated" / "schema.ts"
    generating = run([generate, live_schema, "--output", generated], cwd=work)
    assert generating.returncode == 0, "openapi-typescript could not read the schema"
    files, lines, size = size_of(generated, (".ts",))
    print(f"TypeScript client (openapi-typescript types): {lines} lines, {size} bytes")

    compiling = run([tsc, "--project", work / "tsconfig.json", "--pretty", "false"], cwd=work)
    assert compiling.returncode == 0, f"program.ts does not compile against the generated types:\n{compiling.stdout}"

    running = run(["node", work / "dist" / "program.js", server], cwd=work, timeout=120)
    assert running.returncode == 0, f"program.ts failed against the live server:\n{running.stderr[-3000:]}"
    assert json.loads(running.stdout.strip().splitlines()[-1])["ok"] is True


def test_a_python_client_generates_without_warnings_and_runs_the_first_hour(server, live_schema, tmp_path):
    generator = Path(sys.executable).with_name("openapi-python-client")
    package = tmp_path / "py" / "amani_client"
    generating = run([generator, "generate", "--path", live_schema, "--meta", "none", "--output-path", package,
                      "--config", HERE / "openapi-python-client.yaml", "--fail-on-warning"], cwd=tmp_path)
    assert generating.returncode == 0, f"openapi-python-client warned or failed:\n{generating.stdout[-4000:]}"
    files, lines, size = size_of(package, (".py",))
    print(f"Python client (openapi-python-client): {files} files, {lines} lines, {size} bytes")

    running = run([sys.executable, HERE / "program.py", server], cwd=tmp_path, timeout=120,
                  env={"PYTHONPATH": str(package.parent)})
    assert running.returncode == 0, f"program.py failed against the live server:\n{running.stderr[-3000:]}"
    assert json.loads(running.stdout.strip().splitlines()[-1])["ok"] is True
