"""Configuration end to end: every `.stateaudit.yml` / `[tool.stateaudit]` key through the CLI, and `init`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.config import DEFAULTS, Config, load_config

from .conftest import REPO

APP = """\
import express from 'express';
export const app = express();
const sessions = new Map<string, string>();
const requestCounts = new Map<string, number>();
app.post('/login', (req, res) => { sessions.set(req.body.user, 'x'); requestCounts.set(req.path, 1); res.end(); });
export class JobBoard {
  private jobs = new Map<string, string>();
  add(id: string) { this.jobs.set(id, 'queued'); }
}
"""
# Without a config: sessions (line 3) CRITICAL, requestCounts (4) LOW metrics, jobs (7) CRITICAL, medium confidence.
LEGACY = "const legacyCache = new Map();\nexport function put(k: string) { legacyCache.set(k, 1); }\n"


def project(root: Path, config: str | None = None, name: str = ".stateaudit.yml", **files: str) -> Path:
    for rel, text in {"src/app.ts": APP, **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    if config is not None:
        (root / name).write_text(config, encoding="utf-8")
    return root


def scan(root: Path, *args: str):
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json", *args], catch_exceptions=False)
    # A crash propagates (catch_exceptions=False): exit 1 can only be the gate, and then the JSON is complete.
    findings = json.loads(result.output)["findings"] if result.exit_code in (0, 1) else []
    return result, {(f["file"], f["line"]): f for f in findings}


def test_default_config_gates_on_critical(tmp_path):
    result, found = scan(project(tmp_path))
    assert result.exit_code == 1
    assert found[("src/app.ts", 3)]["risk"] == "CRITICAL"


@pytest.mark.parametrize("level, code", [("none", 0), ("LOW", 1), ("MEDIUM", 0)])
def test_fail_on_sets_the_gate(tmp_path, level, code):
    result, _ = scan(project(tmp_path, f"fail_on: {level}\ndisable: [ts.instance-collection]\n"
                                       "risk_overrides: {ts.module-collection: LOW}\n"))
    assert result.exit_code == code


def test_fail_on_flag_wins_over_file(tmp_path):
    result, _ = scan(project(tmp_path, "fail_on: LOW\n"), "--fail-on", "none")
    assert result.exit_code == 0


def test_exclude_skips_matching_paths(tmp_path):
    root = project(tmp_path, "exclude: ['legacy/**']\n", **{"legacy/old.ts": LEGACY})
    _, found = scan(root)
    assert not [k for k in found if k[0].startswith("legacy/")]
    _, without = scan(project(tmp_path / "b", **{"legacy/old.ts": LEGACY}))
    assert ("legacy/old.ts", 1) in without


def test_include_tests_scans_test_files(tmp_path):
    files = {"src/app.test.ts": LEGACY}
    _, found = scan(project(tmp_path, "include_tests: true\n", **files))
    assert found[("src/app.test.ts", 1)]["risk"] == "LOW"  # test code is LOW
    _, without = scan(project(tmp_path / "b", **files))
    assert ("src/app.test.ts", 1) not in without


def test_service_roots_make_folders_services(tmp_path):
    root = project(tmp_path, "service_roots: [apps/api]\n", **{"apps/api/server.ts": LEGACY})
    _, found = scan(root)
    assert found[("apps/api/server.ts", 1)]["service"] == "api"


def test_rules_folders_are_relative_to_the_config_file(tmp_path):
    team = tmp_path / "conf" / "team-rules"
    team.mkdir(parents=True)
    (team / "team.sessions.yaml").write_text((REPO / "tests" / "data" / "team-rules" / "team.sessions.yaml").read_text())
    root = project(tmp_path / "repo", "rules: [../conf/team-rules]\n")
    _, found = scan(root)
    assert ("src/app.ts", 3) in found
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json"], catch_exceptions=False)
    rules = {(f["line"], f["rule"]) for f in json.loads(result.output)["findings"]}
    assert (3, "team.sessions") in rules and (3, "ts.module-collection") in rules


def test_disable_switches_rules_off(tmp_path):
    _, found = scan(project(tmp_path, "disable: [ts.module-collection]\n"))
    assert [f["rule"] for f in found.values()] == ["ts.instance-collection"]


def test_risk_overrides_set_a_rule_risk(tmp_path):
    _, found = scan(project(tmp_path, "risk_overrides:\n  ts.module-collection: MEDIUM\n"))
    assert found[("src/app.ts", 3)]["risk"] == "MEDIUM"
    assert found[("src/app.ts", 7)]["risk"] == "CRITICAL"


def test_category_risk_sets_a_category_risk(tmp_path):
    _, found = scan(project(tmp_path, "category_risk:\n  metrics: HIGH\n  session: MEDIUM\n"))
    assert found[("src/app.ts", 4)]["risk"] == "HIGH"
    assert found[("src/app.ts", 3)]["risk"] == "MEDIUM"


def test_min_confidence_hides_less_certain_findings(tmp_path):
    _, found = scan(project(tmp_path, "min_confidence: high\n"))
    assert ("src/app.ts", 7) not in found  # JobBoard is never instantiated: medium confidence
    assert ("src/app.ts", 3) in found


def test_pyproject_table_is_read_with_dashed_keys(tmp_path):
    root = project(tmp_path, '[project]\nname = "svc"\n\n[tool.stateaudit]\nfail-on = "none"\n'
                             'disable = ["ts.instance-collection"]\n', name="pyproject.toml")
    result, found = scan(root)
    assert result.exit_code == 0
    assert {f["rule"] for f in found.values()} == {"ts.module-collection"}


def test_pyproject_subtable_alone_is_found(tmp_path):
    root = project(tmp_path, '[tool.stateaudit.risk_overrides]\n"ts.module-collection" = "LOW"\n', name="pyproject.toml")
    _, found = scan(root)
    assert found[("src/app.ts", 3)]["risk"] == "LOW"


BAD_CONFIGS = [
    ("unknown-key", ".stateaudit.yml", "fail_on: HIGH\nfial_on: LOW\n", ":2: unknown setting 'fial_on'; did you mean 'fail_on'?"),
    ("wrong-type", ".stateaudit.yml", "exclude: legacy\n", ":1: 'exclude' must be a list, got a string"),
    ("wrong-item-type", ".stateaudit.yml", "disable: [1]\n", ":1: 'disable' must be a list of strings"),
    ("bool-for-string", ".stateaudit.yml", "min_confidence: true\n", "'min_confidence' must be a string"),
    ("bad-yaml", ".stateaudit.yml", "exclude: [a\n", "invalid YAML"),
    ("not-a-mapping", ".stateaudit.yml", "- a\n", "must be a mapping"),
    ("bad-fail-on", ".stateaudit.yml", "fail_on: SEVERE\n", ":1: fail_on must be one of"),
    ("bad-risk", ".stateaudit.yml", "risk_overrides: {ts.module-collection: BAD}\n", "must be CRITICAL, HIGH, MEDIUM or LOW"),
    ("bad-confidence", ".stateaudit.yml", "min_confidence: certain\n", "min_confidence must be low, medium or high"),
    ("unknown-rule", ".stateaudit.yml", "disable: [ts.module-colection]\n", "did you mean 'ts.module-collection'?"),
    ("unknown-rule-override", ".stateaudit.yml", "risk_overrides: {ts.singletons: LOW}\n", "did you mean 'ts.singleton'?"),
    ("unknown-category", ".stateaudit.yml", "category_risk: {metric: LOW}\n", "did you mean 'metrics'?"),
    ("missing-rule-dir", ".stateaudit.yml", "rules: [nope]\n", "rule directory not found"),
    ("bad-toml", "pyproject.toml", "[tool.stateaudit]\nfail_on = \n", "invalid TOML"),
    ("pyproject-unknown-key", "pyproject.toml", "[tool.stateaudit]\nexlude = []\n", "did you mean 'exclude'?"),
]


@pytest.mark.parametrize("name, text, fragment", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_exits_2_naming_the_file(tmp_path, name, text, fragment):
    root = project(tmp_path, text, name=name)
    result = CliRunner().invoke(main, ["scan", str(root)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert str(root / (name if "rule directory" not in fragment else "nope")) in result.output
    assert fragment in result.output


def test_explicit_config_option_is_used(tmp_path):
    root = project(tmp_path)
    other = tmp_path / "ci.yml"
    other.write_text("fail_on: none\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", str(root), "--config", str(other), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0


def test_init_writes_starter_config_that_loads_to_defaults(tmp_path):
    result = CliRunner().invoke(main, ["init", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    written = tmp_path / ".stateaudit.yml"
    assert replace(load_config(written), source=None) == Config()
    text = written.read_text(encoding="utf-8")
    assert text.count("\n# ") > 5, "the starter config explains itself in comments"
    for key in DEFAULTS:
        assert f"\n{key}:" in text


def test_init_refuses_to_overwrite_without_force(tmp_path):
    (tmp_path / ".stateaudit.yml").write_text("fail_on: LOW\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "--force" in result.output
    assert (tmp_path / ".stateaudit.yml").read_text() == "fail_on: LOW\n"
    assert CliRunner().invoke(main, ["init", str(tmp_path), "--force"], catch_exceptions=False).exit_code == 0
    assert "fail_on: CRITICAL" in (tmp_path / ".stateaudit.yml").read_text()
