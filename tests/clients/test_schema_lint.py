"""The live schema validates under two linters nobody here wrote, each on its recommended rules:
Redocly (tests/clients/redocly.yaml) and Spectral (tests/clients/.spectral.yaml). Zero errors and
zero warnings; every rule switched off in those files says why. The counts are printed."""

import json
from collections import Counter

import pytest

from tests.clients.tools import HERE, node_tool, run

pytestmark = [pytest.mark.slow]


def report(tool: str, problems: list[tuple[str, str, str, str]]) -> str:
    """Counts per severity and rule, then each problem: severity, rule, where, message."""
    severities = Counter(severity for severity, *_ in problems)
    rules = Counter((severity, rule) for severity, rule, *_ in problems)
    lines = [f"{tool}: {severities['error']} errors, {severities['warning']} warnings"]
    lines += [f"  {count:4} {severity} {rule}" for (severity, rule), count in sorted(rules.items())]
    lines += [f"  {severity} {rule} at {where}: {message}" for severity, rule, where, message in problems]
    return "\n".join(lines)


def test_redocly_recommended_rules_find_nothing(live_schema, tmp_path):
    redocly = node_tool("redocly")
    linted = run([redocly, "lint", live_schema, "--config", HERE / "redocly.yaml", "--format", "json"], cwd=tmp_path,
                 echo=False)
    assert linted.stdout.strip().startswith("{"), f"Redocly did not lint the schema:\n{linted.stderr[-2000:]}"
    answer = json.loads(linted.stdout)
    problems = [({"warn": "warning"}.get(p["severity"], p["severity"]), p["ruleId"], p["location"][0]["pointer"] if p.get("location") else "",
                 p["message"]) for p in answer["problems"]]
    print(report("Redocly (recommended)", problems))
    assert answer["totals"]["errors"] == 0 and answer["totals"]["warnings"] == 0, report("Redocly", problems)
    assert linted.returncode == 0


SPECTRAL_SEVERITIES = {0: "error", 1: "warning", 2: "info", 3: "hint"}


def test_spectral_oas_recommended_rules_find_nothing(live_schema, tmp_path):
    spectral = node_tool("spectral")
    output = tmp_path / "spectral.json"
    linted = run([spectral, "lint", live_schema, "--ruleset", HERE / ".spectral.yaml", "--format", "json",
                  "--output", output, "--fail-severity", "warn"], cwd=tmp_path)
    assert output.exists(), f"Spectral did not lint the schema:\n{linted.stderr[-2000:]}"
    answer = json.loads(output.read_text() or "[]")
    problems = [(SPECTRAL_SEVERITIES[p["severity"]], p["code"], ".".join(map(str, p["path"])), p["message"])
                for p in answer]
    print(report("Spectral (spectral:oas recommended)", problems))
    counts = Counter(severity for severity, *_ in problems)
    assert counts["error"] == 0 and counts["warning"] == 0, report("Spectral", problems)
    assert linted.returncode == 0
