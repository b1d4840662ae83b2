"""Config, rule and baseline files that cannot be used: exit 2 with `file:line: message`, never a traceback."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from stateaudit.cli import main

from .test_discover import make

GOOD_RULE = """\
id: team.jobs
title: Job tables
kind: collection
languages: [python]
risk: HIGH
message: "`{symbol}` holds jobs."
queries:
  python: |
    (module (expression_statement (assignment left: (identifier) @name) @target))
docs: {what: a, why: b, fix: c}
"""
DEEP = "[" * 3000 + "]" * 3000

# (case id, files to write, extra scan arguments, the file the message names, its line, a fragment of the message)
CASES = [
    ("config-malformed-yaml", {".stateaudit.yml": "fail_on: HIGH\nexclude: [a\n"}, [], ".stateaudit.yml", 3, "invalid YAML"),
    ("config-not-utf8", {".stateaudit.yml": b"fail_on: \xff\n"}, [], ".stateaudit.yml", 1, "not UTF-8"),
    ("config-nested-too-deeply", {".stateaudit.yml": f"exclude: {DEEP}\n"}, [], ".stateaudit.yml", 1, "nested too deeply"),
    ("config-not-a-mapping", {".stateaudit.yml": "- fail_on\n"}, [], ".stateaudit.yml", 1, "must be a mapping"),
    ("config-wrong-type", {".stateaudit.yml": "include_tests: false\nmax_file_bytes: big\n"}, [], ".stateaudit.yml", 2,
     "'max_file_bytes' must be a number, got a string"),
    ("config-negative-limit", {".stateaudit.yml": "max_file_bytes: -1\n"}, [], ".stateaudit.yml", 1, "positive number"),
    ("config-unknown-key", {".stateaudit.yml": "\n\nmax_file_size: 10\n"}, [], ".stateaudit.yml", 3, "unknown setting"),
    ("config-bad-risk", {".stateaudit.yml": "fail_on: HIGH\nrisk_overrides: {ts.singleton: BAD}\n"}, [],
     ".stateaudit.yml", 2, "must be CRITICAL, HIGH, MEDIUM or LOW"),
    ("config-unknown-rule", {".stateaudit.yml": "fail_on: HIGH\ndisable: [ts.singletons]\n"}, [], ".stateaudit.yml", 2,
     "did you mean 'ts.singleton'?"),
    ("config-missing-rule-folder", {".stateaudit.yml": "fail_on: HIGH\nrules: [team-rules]\n"}, [], ".stateaudit.yml", 2,
     "rule directory not found: 'team-rules'"),
    ("pyproject-bad-toml", {"pyproject.toml": "[tool.stateaudit]\nfail_on = \n"}, [], "pyproject.toml", 2, "invalid TOML"),
    ("pyproject-unknown-key", {"pyproject.toml": "[project]\nname = 'x'\n\n[tool.stateaudit]\nexlude = []\n"}, [],
     "pyproject.toml", 5, "did you mean 'exclude'?"),
    ("rule-malformed-yaml", {"rules/team.jobs.yaml": GOOD_RULE.replace("risk: HIGH", "risk: [HIGH")}, ["--rules", "rules"],
     "rules/team.jobs.yaml", 6, "malformed YAML"),
    ("rule-nested-too-deeply", {"rules/team.jobs.yaml": f"id: {DEEP}\n"}, ["--rules", "rules"], "rules/team.jobs.yaml", 1,
     "malformed YAML"),
    ("rule-wrong-type", {"rules/team.jobs.yaml": GOOD_RULE.replace("languages: [python]", "languages: python")},
     ["--rules", "rules"], "rules/team.jobs.yaml", 4, "'languages' must be a list"),
    ("rule-unknown-key", {"rules/team.jobs.yaml": GOOD_RULE + "severity: HIGH\n"}, ["--rules", "rules"],
     "rules/team.jobs.yaml", 11, "unknown key 'severity'"),
    ("rule-invalid-query", {"rules/team.jobs.yaml": GOOD_RULE.replace("(identifier)", "(identifer)")}, ["--rules", "rules"],
     "rules/team.jobs.yaml", 9, "does not compile"),
    ("rule-folder-missing", {}, ["--rules", "no-such-rules"], "no-such-rules", 1, "rule directory not found"),
    ("baseline-truncated", {"baseline.json": '{\n  "schema_version": 1,\n  "findings": [\n'}, ["--baseline", "baseline.json"],
     "baseline.json", 4, "truncated or invalid JSON"),
    ("baseline-not-ours", {"baseline.json": '{"version": "2.1.0", "runs": []}\n'}, ["--baseline", "baseline.json"],
     "baseline.json", 1, "not a stateaudit findings JSON report"),
    ("baseline-no-fingerprints", {"baseline.json": '{"tool": {"name": "stateaudit"}, "findings": [{"rule": "x"}]}'},
     ["--baseline", "baseline.json"], "baseline.json", 1, "without a 'fingerprint'"),
]


@pytest.mark.parametrize("files, args, named, line, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_unusable_settings_exit_2_with_file_and_line(tmp_path, monkeypatch, files, args, named, line, fragment):
    make(tmp_path, {"app.py": "jobs = {}\n", **files})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["scan", ".", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert "\n" not in message
    found = re.match(r"stateaudit: (.+):(\d+): (.+)", message)
    assert found, message
    assert (found.group(1).removeprefix(str(tmp_path) + "/"), int(found.group(2))) == (named, line)
    assert fragment in found.group(3)


STORE_TS = """\
export const sessions = new Map<string, string>();

export function remember(id: string, who: string): void {
  sessions.set(id, who);
}
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_broken_query_stops_only_the_scans_whose_files_use_its_grammar(tmp_path, monkeypatch, jobs):
    """A scan checks the queries of the grammars its files use: compiling the others is most of a cold
    start-up. With two jobs, discovery runs beside the compiling (beside.py); which of them finishes first
    must not change what is reported. `stateaudit rules` checks every grammar."""
    make(tmp_path, {"web/src/store.ts": STORE_TS,
                    "rules/team.jobs.yaml": GOOD_RULE.replace("(identifier)", "(identifer)")})
    monkeypatch.chdir(tmp_path)
    args = ["--jobs", jobs, "--no-cache", "--format", "json", "--fail-on", "none"]

    with_team = CliRunner().invoke(main, ["scan", "web", "--rules", "rules", *args])
    without = CliRunner().invoke(main, ["scan", "web", *args])
    assert with_team.exit_code == 0, with_team.output
    assert '"sessions"' in with_team.stdout
    assert _findings(with_team.stdout) == _findings(without.stdout)

    make(tmp_path, {"web/jobs.py": "jobs = {}\n"})
    mixed = CliRunner().invoke(main, ["scan", "web", "--rules", "rules", *args])
    listed = CliRunner().invoke(main, ["rules", "--rules", "rules"])
    for result in (mixed, listed):
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.stderr
        assert re.fullmatch(r"stateaudit: .*rules/team\.jobs\.yaml:9: .*does not compile.*", result.stderr.strip())


def _findings(report: str) -> list:
    import json

    return [(f["rule"], f["file"], f["line"]) for f in json.loads(report)["findings"]]
