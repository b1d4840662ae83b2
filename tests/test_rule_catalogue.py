"""The rules self-check: every shipped rule loads, compiles, is documented, and has a fixture per language."""

from __future__ import annotations

import pytest

from stateaudit.resources import rules_dir
from stateaudit.ruleset import GRAMMARS, load_rules
from stateaudit.ruletest import read_marks

from .conftest import FIXTURES

RULES = load_rules([rules_dir()]).rules
RULE_IDS = sorted(RULES)
FAMILY_EXTENSIONS = {"typescript": ".ts", "python": ".py"}  # .js fixtures are checked when they exist


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_compiles_for_every_listed_language(rule_id):
    rule = RULES[rule_id]
    for language in rule.languages:
        for grammar in GRAMMARS[language]:
            assert grammar in rule.queries, f"{rule_id}: no compiled {grammar} query"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_documents_what_why_fix_bad_and_good(rule_id):
    docs = RULES[rule_id].docs
    for section in ("what", "why", "fix", "bad", "good"):
        assert str(docs.get(section) or "").strip(), f"{rule_id}: docs.{section} is empty"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_has_fixture_with_expect_per_language(rule_id):
    rule = RULES[rule_id]
    wanted = [FAMILY_EXTENSIONS[x] for x in rule.languages if x in FAMILY_EXTENSIONS]
    if "javascript" in rule.languages and (FIXTURES / "rules" / f"{rule_id}.js").exists():
        wanted.append(".js")
    for extension in wanted:
        fixture = FIXTURES / "rules" / f"{rule_id}{extension}"
        assert fixture.exists(), f"{rule_id}: no fixture {fixture.name}"
        expects = [m for m in read_marks(fixture) if m.kind == "expect" and m.rule_id == rule_id]
        assert expects, f"{fixture.name}: no `expect: {rule_id}` mark"
