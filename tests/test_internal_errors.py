"""Our own bugs stay contained: an exception in one file's analysis is an internal-error entry, not a crash.

The failure is injected with a real rule/fixture combination rather than a mock: a team rule with
`subject: class` whose query captures the class *name* makes the Python class-fact extractor walk a
body the identifier does not have (AttributeError in py_file.instance_collections). That is a genuine
failure path of our code, reached the way a user would reach it. If the extractor is ever made to cope
with it, this test fails loudly and needs another real failure, not a loosened assertion.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit import facts
from stateaudit.cli import main

from .test_discover import make

BAD_RULE = """\
id: team.store-classes
title: Classes named like stores
kind: collection
subject: class
languages: [python]
risk: HIGH
message: "`{symbol}` looks like a store."
queries:
  python: '(class_definition name: (identifier) @target (#match? @target "Store$"))'
docs: {what: Classes named *Store., why: They may keep state., fix: Check them.}
"""
STATEFUL_PY = "jobs = {}\n\ndef add(key):\n    jobs[key] = 1\n"
FILES = {
    "rules/team.store-classes.yaml": BAD_RULE,
    "src/store.py": "class SessionStore:\n    pass\n\n" + STATEFUL_PY,
    "src/other.py": STATEFUL_PY,
    "src/app.ts": "const tasks = new Map<string, number>();\nexport function add(id: string) { tasks.set(id, 1); }\n",
}


def run(tmp_path, *args):
    return CliRunner().invoke(main, ["scan", str(tmp_path / "src"), "--rules", str(tmp_path / "rules"), *args])


def test_an_exception_in_one_rule_is_an_internal_error_and_the_rest_is_scanned(tmp_path):
    make(tmp_path, FILES)
    result = run(tmp_path, "--format", "json")
    assert result.exit_code == 2, result.output  # the gate would say 1 (CRITICAL findings): 2 wins, never 1
    data = json.loads(result.stdout)
    assert [(e["file"], e["rule"]) for e in data["internal_errors"]] == [("store.py", "team.store-classes")]
    assert data["internal_errors"][0]["message"].startswith("AttributeError: ")
    assert data["summary"]["internal_errors"] == 1
    # Every file is still scanned, including the other rules on the file that failed.
    assert sorted((f["file"], f["symbol"]) for f in data["findings"]) == [
        ("app.ts", "tasks"), ("other.py", "jobs"), ("store.py", "jobs")]
    assert "store.py: internal error in rule team.store-classes: AttributeError" in result.stderr
    assert "Traceback" not in result.output


def test_every_report_format_lists_the_internal_error(tmp_path):
    make(tmp_path, FILES)
    for fmt in ("sarif", "markdown", "html", "table"):
        result = run(tmp_path, "--format", fmt, "-o", str(tmp_path / f"report.{fmt}"))
        assert result.exit_code == 2, (fmt, result.output)
        text = (tmp_path / f"report.{fmt}").read_text(encoding="utf-8")
        if fmt == "sarif":
            invocation = json.loads(text)["runs"][0]["invocations"][0]
            assert invocation["executionSuccessful"] is False
            note = invocation["toolExecutionNotifications"][0]
            assert note["level"] == "error" and note["associatedRule"] == {"id": "team.store-classes"}
            assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "store.py"
        elif fmt == "table":
            assert "1 internal error(s)" in text
        else:
            assert "Internal Errors" in text and "store.py" in text and "team.store-classes" in text
            assert "AttributeError" in text


def test_an_exception_outside_the_rules_loses_only_that_file(tmp_path, monkeypatch):
    """The per-file guard around the whole analysis. No rule can reach this path, so one function at the
    boundary between match and the facts package, the TypeScript extractor's `analyse`, is replaced by one
    that fails for one file and delegates for the others."""
    make(tmp_path, {**FILES, "rules/team.store-classes.yaml": "", "src/broken.ts": FILES["src/app.ts"]})
    (tmp_path / "rules" / "team.store-classes.yaml").unlink()
    real = facts.typescript.analyse

    def analyse(parsed):
        if parsed.rel == "broken.ts":
            raise KeyError("injected")
        return real(parsed)

    monkeypatch.setattr(facts.typescript, "analyse", analyse)
    result = run(tmp_path, "--format", "json")
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    [error] = data["internal_errors"]
    assert (error["file"], error["rule"]) == ("broken.ts", None)
    assert error["message"].startswith("KeyError: 'injected' (at match.py:") and error["message"].endswith(" in _match_file)")
    assert sorted(f["file"] for f in data["findings"]) == ["app.ts", "other.py", "store.py"]


def test_test_rules_reports_an_internal_error_as_a_failed_fixture(tmp_path):
    make(tmp_path, {"rules/team.store-classes.yaml": BAD_RULE,
                    "rules/store.py": "# expect: team.store-classes\nclass SessionStore:\n    pass\n"})
    result = CliRunner().invoke(main, ["test-rules", str(tmp_path / "rules")])
    assert result.exit_code == 1, result.output
    assert "internal error in rule team.store-classes: AttributeError" in result.stdout
    assert "Traceback" not in result.output
