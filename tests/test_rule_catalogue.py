"""The rules self-check: every shipped rule is documented with examples that behave as documented, and has a
fixture per language. (That each rule loads and compiles for its languages is enforced by load_rules itself.)"""

from __future__ import annotations

import pytest

from stateaudit.config import Config
from stateaudit.model import Risk
from stateaudit.resources import rules_dir
from stateaudit.ruleset import load_rules
from stateaudit.ruletest import read_marks
from stateaudit.scan import scan

from .conftest import FIXTURES

RULES = load_rules([rules_dir()]).rules
RULE_IDS = sorted(RULES)
FAMILY_EXTENSIONS = {"typescript": ".ts", "python": ".py"}  # .js fixtures are checked when they exist


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


# Rules that list state already kept in a shared store: their `bad` example is the in-memory version,
# which they must not list, and their `good` example is what they report (as LOW).
STORE_RULES = frozenset({"ts.client-backed-store", "py.client-backed-store"})
EXAMPLE_EXTENSIONS = {"typescript": ".ts", "javascript": ".js", "python": ".py"}


def scan_example(folder, rule, text: str, ruleset):
    folder.mkdir()
    (folder / f"example{EXAMPLE_EXTENSIONS[rule.languages[0]]}").write_text(text, encoding="utf-8")
    return scan(folder, Config(include_tests=True), ruleset).report.findings


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_docs_examples_behave_as_documented(rule_id, tmp_path, ruleset):
    """docs.bad is reported by the rule; docs.good is not, or only as LOW (state to list, nothing to do)."""
    rule = RULES[rule_id]
    bad = scan_example(tmp_path / "bad", rule, rule.docs["bad"], ruleset)
    good = [f for f in scan_example(tmp_path / "good", rule, rule.docs["good"], ruleset) if f.rule_id == rule_id]
    if rule_id in STORE_RULES:
        assert not [f for f in bad if f.rule_id == rule_id], f"{rule_id}: the in-memory docs.bad is listed as store-backed"
        assert [f.risk for f in good] == [Risk.LOW]
        return
    assert [f for f in bad if f.rule_id == rule_id], f"{rule_id}: docs.bad is not reported by the rule"
    assert all(f.risk == Risk.LOW for f in good), f"{rule_id}: docs.good is reported as {[f.risk.name for f in good]}"
