"""Every shipped rule fixture's (file or service folder) `expect:` / `ok:` marks match a real scan of it; traps yield no findings."""

from __future__ import annotations

import pytest

from stateaudit.ruletest import check_fixture, fixture_paths

from .conftest import FIXTURES, REPO

RULE_FIXTURES = fixture_paths(FIXTURES / "rules")
TRAPS = fixture_paths(FIXTURES / "traps")


@pytest.mark.parametrize("fixture", RULE_FIXTURES, ids=lambda p: p.name)
def test_rule_fixture_findings_match_marks(fixture, ruleset):
    result = check_fixture(fixture, ruleset)
    cases = result.cases(fixture.relative_to(REPO).as_posix())
    assert result.passed, "\n" + "\n".join(cases)


@pytest.mark.parametrize("trap", TRAPS, ids=lambda p: p.relative_to(FIXTURES / "traps").as_posix())
def test_trap_yields_no_findings(trap, ruleset):
    result = check_fixture(trap, ruleset)
    assert not result.expected, "a trap must not expect findings; move the case to fixtures/rules"
    assert not result.actual, "\n" + "\n".join(result.cases(trap.relative_to(REPO).as_posix()))
