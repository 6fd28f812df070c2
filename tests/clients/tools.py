"""Helpers of the client checks (conftest.py says what they run): the path of an installed Node
tool or a skip naming what to install, a tool run with its output echoed, the size of what a
generator wrote."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE_BIN = HERE / "node_modules" / ".bin"

# The tools talk to no one but the server under test: no telemetry, no update checks.
QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "SCARF_ANALYTICS": "false",
         "DO_NOT_TRACK": "1", "NO_UPDATE_NOTIFIER": "1", "NO_COLOR": "1", "FORCE_COLOR": "0"}


def missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def node_tool(name: str) -> Path:
    """The path of an installed npm tool, or a skip naming what to install."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing("Node.js (20.19 or later) with npm is not installed: install it (Debian: apt-get install nodejs npm) "
                "and run `make test`, which installs the tools of tests/clients/package.json")
    tool = NODE_BIN / name
    if not tool.exists():
        missing(f"{name} is not installed: run `npm ci` in tests/clients (`make test` does it when npm is present)")
    return tool


def run(command: list, *, cwd: Path, timeout: int = 180, env: dict | None = None,
        echo: bool = True) -> subprocess.CompletedProcess:
    """Run a tool, echoing what it printed (pytest shows it on failure, and with -s); a tool's
    machine-readable answer (``echo=False``) is the caller's to report."""
    completed = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **QUIET, **(env or {})},
    )
    print(f"$ {' '.join(str(part) for part in command)}  → exit {completed.returncode}")
    if echo and completed.stdout.strip():
        print(completed.stdout.rstrip())
    if completed.stderr.strip():
        print(completed.stderr.rstrip(), file=sys.stderr)
    return completed


def size_of(path: Path, suffixes: tuple[str, ...]) -> tuple[int, int, int]:
    """(files, lines, bytes) of the files under ``path`` with these suffixes."""
    files = [p for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file() and p.suffix in suffixes]
    return len(files), sum(len(p.read_text().splitlines()) for p in files), sum(p.stat().st_size for p in files)
