"""Rule loading: every bad rule file stops the run with `path:line: message`, and good ones compile."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.resources import rules_dir
from stateaudit.ruleset import RuleError, load_rule, load_rules
from stateaudit.syntax import known_good_queries, query_digest

GOOD = """\
id: team.sessions
title: Sessions kept in a module Map
kind: collection
languages: [typescript]
risk: HIGH
message: "`{symbol}` holds sessions in process memory."
queries:
  typescript: |
    (program (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @value) @target))
where:
  scope: module
  words: [session, sessions]
docs:
  what: Module-level session maps.
  why: Each instance has its own sessions.
  fix: Keep sessions in Redis.
"""


def write_rule(folder: Path, text: str, rule_id: str = "team.sessions") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rule_id}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD_RULES = [
    # (case id, transform of GOOD, expected line, fragment of the message)
    ("malformed-yaml", lambda t: replace(t, "kind: collection", "kind: [collection"), 4, "malformed YAML"),
    ("unknown-key", lambda t: replace(t, "risk: HIGH", "risk: HIGH\nseverity: HIGH"), 6, "unknown key 'severity'"),
    ("unknown-key-hint", lambda t: replace(t, "message:", "mesage:"), 6, "did you mean 'message'?"),
    ("unknown-docs-key", lambda t: replace(t, "  fix:", "  fixx:"), 16, "did you mean 'fix'?"),
    ("wrong-type", lambda t: replace(t, "title: Sessions kept in a module Map", "title: [a, b]"), 2,
     "'title' must be a string, got a list"),
    ("wrong-type-bool", lambda t: replace(t, "risk: HIGH", "risk: HIGH\nenabled: maybe"), 6, "'enabled' must be true or false"),
    ("bad-enum", lambda t: replace(t, "kind: collection", "kind: colection"), 3, "did you mean 'collection'?"),
    ("bad-risk", lambda t: replace(t, "risk: HIGH", "risk: SEVERE"), 5, "'risk' must be one of"),
    ("bad-language", lambda t: replace(t, "languages: [typescript]", "languages: [typscript]"), 4,
     "did you mean 'typescript'?"),
    ("no-language", lambda t: replace(t, "languages: [typescript]", "languages: []"), 4, "at least one"),
    ("id-mismatch", lambda t: replace(t, "id: team.sessions", "id: team.other"), 1, "must match the file name"),
    ("missing-key", lambda t: replace(t, "title: Sessions kept in a module Map\n", ""), 1, "missing required key 'title'"),
    ("empty-docs", lambda t: replace(t, "  fix: Keep sessions in Redis.", "  fix: ''"), 13, "docs.fix is required"),
    ("unknown-fact", lambda t: replace(t, "  scope: module", "  scoop: module"), 11, "did you mean 'scope'?"),
    ("unknown-fact-nested", lambda t: replace(t, "  words: [session, sessions]",
                                              "  any:\n    - words: [session]\n    - wrds: [sessions]"), 14,
     "where.any: unknown fact 'wrds'; did you mean 'words'?"),
    ("bad-operator", lambda t: replace(t, "  scope: module", "  scope: {like: module}"), 11, "unknown operator"),
    ("bad-regex", lambda t: replace(t, "  scope: module", "  scope: {regex: '('}"), 11, "bad regex"),
    ("assess-row-unknown-fact", lambda t: t + "assess:\n  - when:\n      scope: module\n      knd: collection\n"
                                              "    risk: LOW\n", 20, "unknown fact 'knd'; did you mean 'kind'?"),
    ("query-does-not-compile", lambda t: replace(t, "(variable_declarator name:", "(variable_declaration name:"), 9,
     "query does not compile"),
    ("query-bad-field", lambda t: replace(t, "value: (_) @value", "valeu: (_) @value"), 9, "Invalid field name"),
    ("query-for-unlisted-language", lambda t: replace(t, "  typescript: |", "  typscript: |"), 8, "did you mean 'typescript'?"),
    ("duplicate-key", lambda t: replace(t, "risk: HIGH", "risk: HIGH\nrisk: LOW"), 6, "duplicate key 'risk'"),
    ("unknown-placeholder", lambda t: replace(t, "`{symbol}`", "`{symbl}`"), 6, "did you mean {symbol}?"),
    ("broken-template", lambda t: replace(t, "`{symbol}`", "`{symbol`"), 6, "not a valid template"),
    ("assess-row-unknown-key", lambda t: t + "assess:\n  - when: {scope: module}\n    risks: LOW\n", 19, "did you mean 'risk'?"),
    ("assess-row-bad-priority", lambda t: t + "assess:\n  - when: {}\n    priority: P9\n", 19, "'priority' must be one of"),
    ("not-a-mapping", lambda t: "- just\n- a list\n", 1, "must be a mapping"),
    ("inside-unknown-node-type", lambda t: t + "inside: [clas_body]\n", 17, "did you mean 'class_body'?"),
    ("not-inside-bad-pattern", lambda t: t + "not_inside:\n  - (call_expresion)\n", 18, "pattern in 'not_inside' does not compile"),
    ("has-empty", lambda t: t + "has: []\n", 17, "non-empty list"),
    ("has-unlisted-language", lambda t: t + "has:\n  python: [call]\n", 18, "not in languages"),
    ("inside-wrong-type", lambda t: t + "inside: class_body\n", 17, "'inside' must be a list or a mapping"),
]


@pytest.mark.parametrize("transform, line, fragment", [c[1:] for c in BAD_RULES], ids=[c[0] for c in BAD_RULES])
def test_load_rule_rejects_bad_file_with_path_and_line(tmp_path, transform, line, fragment):
    path = write_rule(tmp_path, transform(GOOD))
    with pytest.raises(RuleError) as caught:
        load_rule(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message


def test_load_rule_accepts_good_file(tmp_path):
    rule = load_rule(write_rule(tmp_path, GOOD))
    assert rule.id == "team.sessions"
    assert set(rule.queries) == {"typescript", "tsx"}
    assert rule.composition == {}


def test_load_rules_rejects_duplicate_id_across_folders(tmp_path):
    write_rule(tmp_path / "a", GOOD)
    second = write_rule(tmp_path / "b", GOOD)
    with pytest.raises(RuleError, match=r"b/team\.sessions\.yaml:1: duplicate rule id 'team\.sessions'"):
        load_rules([tmp_path / "a", tmp_path / "b"])
    assert second.exists()


def test_load_rules_rejects_duplicate_id_in_yml_and_yaml(tmp_path):
    write_rule(tmp_path, GOOD)
    (tmp_path / "team.sessions.yml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(RuleError, match="duplicate rule id"):
        load_rules([tmp_path])


def test_load_rules_skips_rule_switched_off_but_still_validates_it(tmp_path):
    write_rule(tmp_path, GOOD + "enabled: false\n")
    ruleset = load_rules([rules_dir(), tmp_path])
    assert "team.sessions" not in ruleset.rules
    assert "team.sessions" in ruleset.disabled
    write_rule(tmp_path, GOOD.replace("kind: collection", "kind: nope") + "enabled: false\n")
    with pytest.raises(RuleError):
        load_rules([tmp_path])


def test_load_rule_turns_rule_level_action_into_last_assess_row(tmp_path):
    text = GOOD + "assess:\n  - when: {in_test_file: true}\n    action: ignore\naction: Use Redis\neffort: 1 day\n"
    rule = load_rule(write_rule(tmp_path, text))
    assert rule.assess[-1] == {"when": {}, "action": "Use Redis", "effort": "1 day"}
    assert rule.assess[0]["action"] == "ignore"


def test_load_rule_compiles_composition_per_grammar(tmp_path):
    text = GOOD.replace("languages: [typescript]", "languages: [typescript, javascript]").replace(
        "queries:\n", "queries:\n  javascript: (identifier) @target\n")
    text += "inside: [class_body]\nnot_inside:\n  typescript: ['(call_expression)']\nhas: [identifier]\n"
    rule = load_rule(write_rule(tmp_path, text))
    assert set(rule.composition) == {"typescript", "tsx", "javascript"}
    assert rule.composition["typescript"]["inside"].types == {"class_body"}
    assert len(rule.composition["tsx"]["not_inside"].patterns) == 1
    assert "not_inside" not in rule.composition["javascript"]


def test_load_rule_rejects_node_type_missing_from_one_listed_language(tmp_path):
    text = GOOD.replace("languages: [typescript]", "languages: [typescript, javascript]").replace(
        "queries:\n", "queries:\n  javascript: (identifier) @target\n")
    path = write_rule(tmp_path, text + "inside: [public_field_definition]\n")
    with pytest.raises(RuleError, match="is not a javascript node type"):
        load_rule(path)


def test_shipped_rules_and_tables_load():
    ruleset = load_rules([rules_dir()])
    assert ruleset.rules
    assert ruleset.tables["categories"] and ruleset.tables["assessment"]


def test_scan_with_bad_rule_folder_exits_2_naming_file_and_line(tmp_path):
    rules = tmp_path / "rules"
    path = write_rule(rules, replace(GOOD, "risk: HIGH", "risk: HIGH\nseverity: HIGH"))
    (tmp_path / "app.ts").write_text("export const x = 1;\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "app.ts"), "--rules", str(rules)])
    assert result.exit_code == 2
    assert f"{path}:6: unknown key 'severity'" in result.output


def test_bad_classification_table_exits_2_naming_file(tmp_path):
    rules = tmp_path / "rules"
    (rules / "classify").mkdir(parents=True)
    table = rules / "classify" / "mine.yaml"
    table.write_text("categorys:\n  - category: x\n    when: {}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "--rules", str(rules)])
    assert result.exit_code == 2
    assert f"{table}:1: unknown table 'categorys'; did you mean 'categories'?" in result.output


def _team_rules(folder: Path, count: int) -> list[Path]:
    """`count` distinct valid team rules (each query text unique, so none is known good yet)."""
    paths = []
    for i in range(count):
        text = replace(GOOD, "id: team.sessions", f"id: team.sessions{i}")
        text = replace(text, "    (program", f"    ; team rule {i} of {folder.name}\n    (program")
        path = folder / f"team.sessions{i}.yaml"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_load_rules_checks_many_new_queries_together_and_names_the_culprit(tmp_path):
    """Many unknown queries are checked as one joined query per grammar; a broken one is still named."""
    paths = _team_rules(tmp_path / "good", 6)
    ruleset = load_rules([rules_dir(), tmp_path / "good"])
    known = known_good_queries()
    assert all(query_digest(grammar, query.text) in known
               for path in paths for grammar, query in ruleset.rules[path.stem].queries.items())

    broken = _team_rules(tmp_path / "bad", 6)[4]
    broken.write_text(replace(broken.read_text(encoding="utf-8"), "(variable_declarator name:",
                              "(variable_declaration name:"), encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rules([rules_dir(), tmp_path / "bad"])
    assert str(caught.value).startswith(f"{broken}:10: "), str(caught.value)
    assert "query does not compile" in str(caught.value)
