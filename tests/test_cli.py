"""CLI smoke tests through click's runner: exit codes and the JSON contract."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit import __version__
from stateaudit.cli import main

from .conftest import FIXTURES

CONTRACT_FIELDS = {
    "fingerprint", "rule", "service", "file", "line", "column", "end_line", "symbol", "kind", "category",
    "state_type", "storage", "shared", "risk", "priority", "action", "message", "snippet", "suppressed",
}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_version_prints_package_version():
    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_scan_json_follows_contract_and_fails_gate_on_critical(tmp_path):
    out = tmp_path / "report.json"
    result = run("scan", str(FIXTURES / "corpus"), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    assert result.exit_code == 1  # the corpus holds CRITICAL state
    assert data["schema_version"] == 1
    assert data["summary"]["findings"] == len([f for f in data["findings"] if not f["suppressed"]])
    assert sum(data["summary"]["by_risk"].values()) == data["summary"]["findings"]
    assert data["findings"], "the corpus must produce findings"
    for finding in data["findings"]:
        assert CONTRACT_FIELDS <= set(finding)
        assert finding["kind"] in ("collection", "cache", "singleton", "timer", "file-write", "global")
        assert finding["shared"] in ("no", "partial", "yes")
        assert not finding["file"].startswith("/")
    keys = [(f["file"], f["line"], f["rule"]) for f in data["findings"]]
    assert keys == sorted(keys)  # the contract: findings by file, then line, then rule
    services = [s["name"] for s in data["services"]]
    assert services == sorted(services)


def test_scan_fail_on_none_exits_clean():
    result = run("scan", str(FIXTURES / "corpus"), "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0


def test_scan_missing_path_is_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_scan_clean_folder_exits_zero(tmp_path):
    (tmp_path / "app.ts").write_text("export function add(a: number, b: number) { return a + b; }\n")
    result = run("scan", str(tmp_path), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["findings"] == []
