"""One run, several outputs; GitHub annotations; the short CI summary; --fail-on-rule."""

from __future__ import annotations

import json

import jsonschema
from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.report.github import escape_data, escape_property

from .conftest import REPO
from .gitrepo import GitRepo
from .service_code import RATE_LIMIT, REQUIREMENTS, SESSIONS_APP

SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def accounts(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "accounts")
    repo.commit("accounts", {"requirements.txt": REQUIREMENTS, "app/main.py": SESSIONS_APP, "app/limits.py": RATE_LIMIT})
    return repo


def test_each_output_takes_its_format_from_its_extension(tmp_path):
    repo = accounts(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    names = ["report.html", "report.sarif", "inventory.md", "findings.json", "table.txt", "step-summary"]
    result = run("scan", str(repo.root), "--fail-on", "none", "--format", "summary",
                 *[x for name in names for x in ("-o", str(out / name))])
    assert result.exit_code == 0, result.output
    assert result.stdout == "", "every format asked for went to a file"
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    jsonschema.validate(json.loads((out / "report.sarif").read_text()), SARIF_SCHEMA)
    assert (out / "inventory.md").read_text().startswith("# accounts State Inventory")
    findings = json.loads((out / "findings.json").read_text())
    assert [f["symbol"] for f in findings["findings"]] == ["_hits", "sessions"]
    assert "app/main.py:8" in (out / "table.txt").read_text()
    assert (out / "step-summary").read_text().startswith("### ✅ stateaudit: 2 findings")


def test_format_sets_stdout_beside_the_files(tmp_path):
    repo = accounts(tmp_path)
    sarif = tmp_path / "stateaudit.sarif"
    result = run("scan", str(repo.root), "-o", str(sarif), "--format", "json", "--fail-on", "none")
    assert json.loads(result.stdout)["summary"]["findings"] == 2 and sarif.is_file()
    quiet = run("scan", str(repo.root), "-o", str(sarif), "--fail-on", "none")
    assert quiet.stdout == ""


def test_github_annotations_use_workspace_paths_and_escape(tmp_path, monkeypatch):
    repo = accounts(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = run("scan", "accounts", "--format", "github", "--fail-on", "HIGH")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::error file=accounts/app/limits.py,line=3,endLine=3,col=1,"
                               "title=HIGH py.module-collection%3A _hits::")
    assert lines[1].startswith("::error file=accounts/app/main.py,line=8,")
    assert lines[-1] == "::notice title=stateaudit::2 unsuppressed findings (1 CRITICAL, 1 HIGH); 0 suppressed"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A" and escape_data("50%\r\n") == "50%25%0D%0A"
    assert repo.root.is_dir()


def test_summary_lists_what_is_new_since_the_baseline(tmp_path):
    repo = GitRepo(tmp_path / "accounts")
    repo.commit("accounts", {"requirements.txt": REQUIREMENTS, "app/main.py": SESSIONS_APP})
    assert run("baseline", str(repo.root)).exit_code == 0
    repo.commit("rate limits", {"app/limits.py": RATE_LIMIT})
    result = run("scan", str(repo.root), "--format", "summary", "--fail-on", "HIGH")
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("### ❌ stateaudit: 1 finding, 1 fails the gate\n")
    assert "| HIGH | 1 |" in text and "| CRITICAL | 0 |" in text
    assert "**Since the baseline** (`.stateaudit-baseline.json`): 1 new finding, 1 accepted." in text
    assert "#### New CRITICAL and HIGH findings" in text
    assert "| HIGH | accounts | `app/limits.py:3` `_hits` | Hits dict |" in text
    assert "sessions" not in text, "accepted findings are counted, not listed"


def test_fail_on_rule_gates_on_one_rule_whatever_its_risk(tmp_path):
    repo = accounts(tmp_path)
    assert run("scan", str(repo.root), "--fail-on", "none").exit_code == 0
    assert run("scan", str(repo.root), "--fail-on", "none", "--fail-on-rule", "py.module-collection").exit_code == 1
    assert run("scan", str(repo.root), "--fail-on", "none", "--fail-on-rule", "ts.singleton",
               "--fail-on-rule", "py.timer-thread").exit_code == 0
    unknown = run("scan", str(repo.root), "--fail-on-rule", "py.module-colection")
    assert unknown.exit_code == 2 and "did you mean 'py.module-collection'" in unknown.output


def test_a_format_prefix_names_the_format_of_any_file(tmp_path):
    repo = accounts(tmp_path)
    notes = tmp_path / "notes.md"
    result = run("scan", str(repo.root), "-o", f"summary:{notes}", "-o", f"json:{tmp_path / 'a.txt'}",
                 "--fail-on", "none")
    assert result.exit_code == 0 and result.stdout == ""
    assert notes.read_text().startswith("### ✅ stateaudit: 2 findings")
    assert json.loads((tmp_path / "a.txt").read_text())["summary"]["findings"] == 2
