"""Rule tests: `expect:` / `ok:` marks, the found / missing / unexpected comparison, `stateaudit test-rules`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.ruletest import check_fixture, fixture_paths, read_marks

from .conftest import REPO

MODULE_MAP = """\
import express from 'express';
export const app = express();
// expect: ts.module-collection
const sessions = new Map<string, string>();
// ok: ts.module-collection
const ROLES = ['admin', 'viewer'] as const;
app.post('/login', (req, res) => { sessions.set(req.body.user, 'x'); res.end(); });
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("text, expected", [
    ("// expect: a.rule\nx = 1\n", [("expect", "a.rule", 2)]),
    ("# expect: a.rule, b.rule\nx = 1\n", [("expect", "a.rule", 2), ("expect", "b.rule", 2)]),
    ("// expect: a.rule\n// ok: b.rule\nx = 1\n", [("expect", "a.rule", 3), ("ok", "b.rule", 3)]),
    ("  # ok: a.rule   read-only table\nx = 1\n", [("ok", "a.rule", 2)]),
    ("x = f(ok: 1)  // expect: a.rule\n", []),
    ("def hit(self, ok: bool) -> None:\n", []),
    ("// expect: a.rule\n", [("expect", "a.rule", 0)]),
], ids=["single", "several", "stacked", "trailing-words", "not-own-line", "python-annotation", "dangling"])
def test_read_marks_names_next_code_line(tmp_path, text, expected):
    marks = read_marks(write(tmp_path / "f.ts", text))
    assert [(m.kind, m.rule_id, m.target) for m in marks] == expected


def test_read_marks_keeps_the_classification_an_expect_states(tmp_path):
    text = "// expect: a.rule risk=HIGH category=queue shared=no, b.rule   then free text\nx = 1\n"
    marks = read_marks(write(tmp_path / "f.ts", text))
    assert [(m.rule_id, m.classification) for m in marks] == [
        ("a.rule", (("risk", "HIGH"), ("category", "queue"), ("shared", "no"))), ("b.rule", ())]


def test_check_fixture_checks_the_stated_classification(tmp_path, ruleset):
    text = MODULE_MAP.replace("// expect: ts.module-collection\n", "// expect: ts.module-collection risk=CRITICAL "
                              "category=session storage=in-memory shared=no confidence=high priority=P1\n")
    result = check_fixture(write(tmp_path / "ts.module-collection.ts", text), ruleset)
    assert result.passed and not result.misclassified
    assert result.cases("f.ts") == ["found       f.ts:4  ts.module-collection risk=CRITICAL category=session "
                                    "storage=in-memory shared=no confidence=high priority=P1"]


def test_check_fixture_reports_a_different_classification(tmp_path, ruleset):
    text = MODULE_MAP.replace("// expect: ts.module-collection\n",
                              "// expect: ts.module-collection risk=low category=session shared=yes\n")
    result = check_fixture(write(tmp_path / "ts.module-collection.ts", text), ruleset)
    assert not result.passed
    assert result.found == [("ts.module-collection.ts", 4, "ts.module-collection")]
    assert result.cases("f.ts") == [
        "misclassified  f.ts:4  ts.module-collection: risk is CRITICAL, expected low; shared is no, expected yes"]


@pytest.mark.parametrize("mark, problem", [
    ("// expect: ts.module-collection risky=HIGH", "unknown classification field 'risky' (use risk, category, storage, "
     "shared, confidence, priority); did you mean 'risk'?"),
    ("// expect: ts.module-collection shared=maybe", "'shared' must be one of no, partial, yes (got 'maybe')"),
    ("// expect: ts.module-collection risk=SEVERE", "'risk' must be one of LOW, MEDIUM, HIGH, CRITICAL (got 'SEVERE')"),
    ("// ok: ts.module-collection risk=LOW", "an 'ok:' mark takes no classification; only 'expect:' does"),
])
def test_check_fixture_flags_a_classification_it_cannot_check(tmp_path, ruleset, mark, problem):
    text = MODULE_MAP.replace("// expect: ts.module-collection\n", mark.replace("ok:", "expect:") + "\n"
                              ).replace("// ok: ts.module-collection\n", mark + "\n" if "ok:" in mark else
                                        "// ok: ts.module-collection\n")
    result = check_fixture(write(tmp_path / "ts.module-collection.ts", text), ruleset)
    assert not result.passed
    assert [p[2] for p in result.problems] == [problem]


def test_a_service_folder_is_one_fixture_scanned_whole(tmp_path, ruleset):
    """The Map's class is instantiated in another file: only a scan of the folder knows that it lives per process."""
    service = tmp_path / "fixtures" / "team.jobs"
    write(service / "package.json", '{"name": "jobs", "dependencies": {"express": "^4.19.2"}}')
    write(service / "src" / "JobBoard.ts", "export class JobBoard {\n"
          "  // expect: ts.instance-collection risk=CRITICAL confidence=high\n"
          "  private readonly jobs = new Map<string, string>();\n"
          "  add(id: string) { this.jobs.set(id, 'queued'); }\n}\n")
    write(service / "src" / "app.ts", "import { JobBoard } from './JobBoard';\n"
          "// expect: ts.singleton risk=LOW storage=in-memory\nexport const board = new JobBoard();\n")
    write(tmp_path / "fixtures" / "other.ts", "export const ROLES = ['admin'] as const;\n")
    assert fixture_paths(tmp_path / "fixtures") == [tmp_path / "fixtures" / "other.ts", service]
    result = check_fixture(service, ruleset)
    assert result.cases("team.jobs") == [
        "found       team.jobs/src/JobBoard.ts:3  ts.instance-collection risk=CRITICAL confidence=high",
        "found       team.jobs/src/app.ts:3  ts.singleton risk=LOW storage=in-memory"], result.cases()
    alone = check_fixture(service / "src" / "JobBoard.ts", ruleset)  # no instantiation seen: lifetime unknown
    assert alone.misclassified == (("JobBoard.ts", 3, "ts.instance-collection", "confidence is medium, expected high"),)


def test_check_fixture_passes_when_marks_match(tmp_path, ruleset):
    result = check_fixture(write(tmp_path / "ts.module-collection.ts", MODULE_MAP), ruleset)
    assert result.passed
    assert result.found == [("ts.module-collection.ts", 4, "ts.module-collection")]


def test_check_fixture_reports_missing_and_unexpected(tmp_path, ruleset):
    text = MODULE_MAP.replace("// expect: ts.module-collection\n", "").replace(
        "// ok: ts.module-collection\n", "// expect: ts.module-collection\n")
    result = check_fixture(write(tmp_path / "ts.module-collection.ts", text), ruleset)
    assert not result.passed
    assert result.missing == [("ts.module-collection.ts", 5, "ts.module-collection")]  # the read-only table now marked expect
    assert result.unexpected == [("ts.module-collection.ts", 3, "ts.module-collection")]  # the session map left unmarked
    cases = result.cases("f.ts")
    assert "missing     f.ts:5  ts.module-collection" in cases
    assert "unexpected  f.ts:3  ts.module-collection" in cases


def test_check_fixture_flags_unknown_rule_in_mark(tmp_path, ruleset):
    result = check_fixture(write(tmp_path / "x.ts", "// expect: ts.module-colection\nconst a = 1;\n"), ruleset)
    assert not result.passed
    assert result.problems == (("x.ts", 1, "mark names unknown rule 'ts.module-colection'; did you mean 'ts.module-collection'?"),)


def test_check_fixture_ignores_rules_outside_those_under_test(tmp_path, ruleset):
    text = "// expect: ts.interval-timer\nsetInterval(() => undefined, 1000);\n"
    text += "export const cache = new Map();\nexport function put(k: string) { cache.set(k, 1); }\n"
    path = write(tmp_path / "ts.interval-timer.ts", text)
    assert not check_fixture(path, ruleset).passed  # every rule: the Map on line 3 is unexpected
    assert check_fixture(path, ruleset, frozenset({"ts.interval-timer"})).passed


def test_check_fixture_does_not_count_suppressed_findings(tmp_path, ruleset):
    text = MODULE_MAP.replace("// expect: ts.module-collection\n",
                              "// ok: ts.module-collection\n// stateaudit: ignore[ts.module-collection] per-pod cache\n")
    assert check_fixture(write(tmp_path / "ts.module-collection.ts", text), ruleset).passed


def test_test_rules_exits_0_and_lists_cases_when_all_pass(tmp_path):
    path = write(tmp_path / "ts.module-collection.ts", MODULE_MAP)
    result = run("test-rules", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert f"found       {path.as_posix()}:4  ts.module-collection" in result.output
    assert "1 fixture files, 0 failed: 1 found, 0 missing, 0 unexpected" in result.output


def test_test_rules_exits_1_on_mismatch(tmp_path):
    write(tmp_path / "ts.module-collection.ts", MODULE_MAP.replace("const sessions", "const ROLES2 = 1;\nconst sessions"))
    result = run("test-rules", "-q", str(tmp_path))
    assert result.exit_code == 1
    assert "missing" in result.output and "unexpected" in result.output
    assert "found  " not in result.output  # --quiet hides passing cases


def test_test_rules_exits_1_on_a_misclassification(tmp_path):
    write(tmp_path / "ts.module-collection.ts", MODULE_MAP.replace(
        "// expect: ts.module-collection\n", "// expect: ts.module-collection risk=LOW\n"))
    result = run("test-rules", str(tmp_path))
    assert result.exit_code == 1
    assert "misclassified" in result.output
    assert "1 fixture files, 1 failed: 1 found, 0 missing, 0 unexpected, 1 misclassified" in result.output


def test_test_rules_loads_rule_files_in_the_folder(tmp_path):
    rules = tmp_path / "team"
    write(rules / "team.sessions.yaml", (Path(__file__).parent / "data" / "team-rules" / "team.sessions.yaml").read_text())
    write(rules / "team.sessions.ts", "// expect: team.sessions\nconst sessions = new Map();\nconst other = new Map();\n")
    result = run("test-rules", str(rules))
    assert result.exit_code == 0, result.output
    assert "1 found, 0 missing, 0 unexpected" in result.output


def test_test_rules_without_fixtures_is_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["test-rules", str(tmp_path)])
    assert result.exit_code == 2
    assert "no fixture files" in result.output


def test_test_rules_defaults_to_shipped_fixtures_in_checkout():
    shipped = fixture_paths(REPO / "fixtures" / "rules")
    assert any(p.is_dir() for p in shipped) and any(p.is_file() for p in shipped)
    result = run("test-rules", "-q")
    assert result.exit_code == 0, result.output
    assert f"{len(shipped)} fixture files, 0 failed: " in result.output
