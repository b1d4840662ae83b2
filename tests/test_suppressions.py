"""Inline suppressions keep their reasons; faulty or unused ones are findings of stateaudit.suppression."""

from __future__ import annotations

import json

import jsonschema
from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.suppressions import find_suppressions

from .conftest import REPO
from .gitrepo import GitRepo
from .service_code import REQUIREMENTS

SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

# A Flask-style module whose caches carry every kind of suppression comment.
LOOKUPS = '''import time

# stateaudit: ignore[py.module-collection] read-only lookup table, filled once at import expires=2999-12-31
COUNTRIES: dict[str, str] = {}

_tokens: dict[str, str] = {}  # stateaudit: ignore[py.module-collection]

# stateaudit: ignore[py.module-collection] per-pod warm cache expires=2020-01-31
_warm: dict[str, float] = {}

# stateaudit: ignore[py.modul-collection] typo in the rule id
_rates: dict[str, float] = {}

# stateaudit: ignore[py.module-collection] the table this was for moved to Redis
LIMIT = 10


def load(code: str, name: str) -> None:
    COUNTRIES[code] = name
    _tokens[code] = name
    _warm[code] = time.time()
    _rates[code] = 1.0
'''

# A NestJS-style provider with a CRITICAL task map, suppressed with a reason.
TRACKER = '''import { Injectable } from '@nestjs/common';

@Injectable()
export class TaskTracker {
  /* stateaudit: ignore[ts.instance-collection] single replica until the queue migration (JIRA-412) */
  private readonly tasks = new Map<string, string>();

  start(id: string): void {
    this.tasks.set(id, 'running');
  }
}
'''


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def scan(repo: GitRepo, *extra: str) -> tuple[object, dict]:
    result = run("scan", str(repo.root), "--format", "json", "--fail-on", "MEDIUM", *extra)
    return result, json.loads(result.stdout)


def lookups_repo(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "geo")
    repo.commit("geo service", {"requirements.txt": REQUIREMENTS, "geo/lookups.py": LOOKUPS})
    return repo


def by_line(report: dict) -> dict[tuple[int, str], dict]:
    return {(f["line"], f["rule"]): f for f in report["findings"]}


def test_a_suppression_with_a_reason_is_applied_and_kept_in_the_report(tmp_path):
    repo = lookups_repo(tmp_path)
    _, report = scan(repo)
    countries = by_line(report)[(4, "py.module-collection")]
    assert countries["suppressed"] is True
    assert countries["suppression"] == {"kind": "inline", "line": 3, "expires": "2999-12-31",
                                        "reason": "read-only lookup table, filled once at import"}
    assert (3, "stateaudit.suppression") not in by_line(report), "a valid, used suppression is not a finding"


def test_faulty_suppressions_are_low_findings_and_not_applied(tmp_path):
    repo = lookups_repo(tmp_path)
    result, report = scan(repo)
    assert result.exit_code == 1  # the unsuppressed MEDIUM findings
    found = by_line(report)
    # no reason: reported, and the finding it meant to hide stays active
    assert found[(6, "py.module-collection")]["suppressed"] is False
    assert "gives no reason, so it is not applied" in found[(6, "stateaudit.suppression")]["message"]
    # expired: the finding is back
    assert found[(9, "py.module-collection")]["suppressed"] is False
    assert "expired on 2020-01-31" in found[(8, "stateaudit.suppression")]["message"]
    # unknown rule, with the closest id
    assert "names unknown rule 'py.modul-collection'; did you mean 'py.module-collection'?" in \
        found[(11, "stateaudit.suppression")]["message"]
    # nothing to match
    assert "matches no py.module-collection finding" in found[(14, "stateaudit.suppression")]["message"]
    hygiene = [f for f in report["findings"] if f["rule"] == "stateaudit.suppression"]
    assert len(hygiene) == 4
    assert {(f["risk"], f["kind"], f["suppressed"]) for f in hygiene} == {("LOW", "suppression", False)}
    assert len({f["fingerprint"] for f in hygiene}) == 4

    # they gate like any rule
    assert run("scan", str(repo.root), "--fail-on", "none", "--fail-on-rule", "stateaudit.suppression").exit_code == 1


def test_suppressed_findings_carry_their_reason_in_sarif(tmp_path):
    repo = lookups_repo(tmp_path)
    out = tmp_path / "geo.sarif"
    assert run("scan", str(repo.root), "--format", "sarif", "-o", str(out), "--fail-on", "none").exit_code == 0
    sarif = json.loads(out.read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    run_ = sarif["runs"][0]
    suppressed = [r for r in run_["results"] if r.get("suppressions")]
    assert [(r["locations"][0]["physicalLocation"]["region"]["startLine"], r["suppressions"]) for r in suppressed] == [
        (4, [{"kind": "inSource", "status": "accepted", "justification": "read-only lookup table, filled once at import"}])]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    assert rules["stateaudit.suppression"]["help"]["markdown"].startswith("## stateaudit.suppression")


def test_config_can_make_critical_unsuppressible(tmp_path):
    repo = GitRepo(tmp_path / "tasks")
    repo.commit("tasks service", {"package.json": '{"name": "tasks"}', "src/tracker.ts": TRACKER})
    result, report = scan(repo)
    assert result.exit_code == 0, result.output
    assert [(f["rule"], f["suppressed"], f["suppression"]["reason"]) for f in report["findings"]] == [
        ("ts.instance-collection", True, "single replica until the queue migration (JIRA-412)")]

    repo.commit("no CRITICAL may be suppressed", {".stateaudit.yml": "unsuppressible: [CRITICAL]\n"})
    result, report = scan(repo)
    assert result.exit_code == 1
    found = by_line(report)
    assert found[(6, "ts.instance-collection")]["suppressed"] is False
    assert "the config makes CRITICAL unsuppressible" in found[(5, "stateaudit.suppression")]["message"]


def test_the_suppression_rule_can_be_disabled_and_is_documented(tmp_path):
    repo = lookups_repo(tmp_path)
    repo.commit("no hygiene findings", {".stateaudit.yml": "disable: [stateaudit.suppression]\n"})
    _, report = scan(repo)
    assert not [f for f in report["findings"] if f["rule"] == "stateaudit.suppression"]
    explained = run("explain", "stateaudit.suppression")
    assert explained.exit_code == 0 and "expires=YYYY-MM-DD" in explained.output
    assert "stateaudit.suppression" in (REPO / "docs" / "rules.md").read_text(encoding="utf-8")


def test_blanket_ignore_names_no_rule():
    found = find_suppressions(["x = {}  # stateaudit: ignore", "// stateaudit: ignore[a.b, c.d] why: reasons",
                               'text = "stateaudit: ignore[a.b] in a string is not a comment"'])
    assert [(s.line, s.rule_ids, s.reason) for s in found] == [(1, (), ""), (2, ("a.b", "c.d"), "why: reasons")]
