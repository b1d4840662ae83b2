"""`stateaudit rules`, `explain`, `parse`, and docs/rules.md generated from the rule files."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.suppressions import with_builtin_rules

from .conftest import REPO

DOCS_RULES = REPO / "docs" / "rules.md"
TEAM_RULES = REPO / "tests" / "data" / "team-rules"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_rules_json_lists_every_rule_with_languages_kind_and_default_risk(ruleset):
    result = run("rules", "--format", "json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    ruleset = with_builtin_rules(ruleset)  # the rule files' rules and stateaudit.suppression
    assert "stateaudit.suppression" in ruleset.rules
    assert [r["id"] for r in listed] == sorted(ruleset.rules)
    for row in listed:
        rule = ruleset.rules[row["id"]]
        assert row == {"id": rule.id, "languages": list(rule.languages), "kind": rule.kind,
                       "risk": rule.risk.name, "title": rule.title}


def test_rules_table_shows_ids():
    result = run("rules")
    assert result.exit_code == 0
    assert "ts.module-collection" in result.output
    assert "Default risk" in result.output


def test_rules_includes_extra_rule_folder():
    result = run("rules", "--format", "json", "--rules", str(TEAM_RULES))
    assert "team.sessions" in [r["id"] for r in json.loads(result.output)]


def test_rules_markdown_is_the_committed_catalogue():
    result = run("rules", "--format", "markdown")
    assert result.exit_code == 0
    assert DOCS_RULES.read_text(encoding="utf-8") == result.output, (
        "docs/rules.md is out of date; run `stateaudit rules --format markdown > docs/rules.md`")


def test_rules_markdown_documents_every_rule(ruleset):
    text = run("rules", "--format", "markdown").output
    for rule in ruleset.rules.values():
        assert f"## {rule.id}: {rule.title}" in text
        assert rule.docs["fix"].split()[0] in text


def test_explain_prints_what_why_and_fix():
    result = run("explain", "ts.module-collection")
    assert result.exit_code == 0
    for heading in ("What it finds.", "Why it matters.", "How to fix."):
        assert heading in result.output
    assert "Module-level collection written at runtime" in result.output


def test_explain_unknown_rule_exits_2_with_suggestion():
    result = CliRunner().invoke(main, ["explain", "ts.module-colection"])
    assert result.exit_code == 2
    assert "did you mean 'ts.module-collection'?" in result.output


def test_explain_finds_rule_in_extra_folder():
    result = run("explain", "team.sessions", "--rules", str(TEAM_RULES))
    assert result.exit_code == 0
    assert "Keep sessions in Redis." in result.output


def test_parse_prints_s_expression_with_field_names(tmp_path):
    source = tmp_path / "a.ts"
    source.write_text("const sessions = new Map();\n", encoding="utf-8")
    result = run("parse", str(source))
    assert result.exit_code == 0
    assert result.output.startswith("(program")
    assert "name: (identifier)" in result.output and "; line 1: sessions" in result.output
    assert "constructor: (identifier)" in result.output


def test_parse_unknown_extension_is_usage_error(tmp_path):
    source = tmp_path / "a.rb"
    source.write_text("x = 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["parse", str(source)])
    assert result.exit_code == 2
