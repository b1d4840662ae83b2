"""The condition language of `where:` and classification `when:`: every operator, set-valued facts, combinators.

Each case is a fact value and a condition with the answer the docs (docs/writing-rules.md, Conditions) give,
so a comparison that always holds, or never does, fails here.
"""

from __future__ import annotations

import pytest

from stateaudit.conditions import ConditionError, holds, may_hold, surely_holds, validate

WORDS = frozenset({"session", "sessions", "token"})


@pytest.mark.parametrize("facts, condition, expected", [
    # scalar: equality
    ({"scope": "module"}, {"scope": "module"}, True),
    ({"scope": "class"}, {"scope": "module"}, False),
    ({}, {"scope": "module"}, False),
    # scalar fact, list: any of
    ({"kind": "cache"}, {"kind": ["collection", "cache"]}, True),
    ({"kind": "timer"}, {"kind": ["collection", "cache"]}, False),
    # set-valued fact, scalar: membership
    ({"words": WORDS}, {"words": "token"}, True),
    ({"words": WORDS}, {"words": "queue"}, False),
    ({"clients": ("redis",)}, {"clients": "redis"}, True),
    # set-valued fact, list: any member in common
    ({"words": WORDS}, {"words": ["queue", "session"]}, True),
    ({"words": WORDS}, {"words": ["queue", "job"]}, False),
    ({"writes": ["set", "delete"]}, {"writes": ["push"]}, False),
    # booleans test truthiness; a missing fact is falsy
    ({"rebound": True}, {"rebound": True}, True),
    ({"stateful_fields": ("jobs",)}, {"stateful_fields": True}, True),
    ({"stateful_fields": ()}, {"stateful_fields": True}, False),
    ({}, {"rebound": False}, True),
    ({}, {"rebound": True}, False),
    ({"writes": frozenset()}, {"writes": False}, True),
    # regex: re.search on the text, on any member of a set; a missing fact never matches
    ({"callee": "fs.promises.writeFile"}, {"callee": {"regex": "^fs\\."}}, True),
    ({"callee": "path.join"}, {"callee": {"regex": "^fs\\."}}, False),
    ({"words": WORDS}, {"words": {"regex": "^sess"}}, True),
    ({"words": WORDS}, {"words": {"regex": "^queue"}}, False),
    ({}, {"callee": {"regex": ".*"}}, False),
    ({"positional_count": 12}, {"positional_count": {"regex": "^1"}}, True),
    # gte / lte: numbers compared, boundaries included; not-a-number never compares
    ({"positional_count": 2}, {"positional_count": {"gte": 2}}, True),
    ({"positional_count": 3}, {"positional_count": {"gte": 2}}, True),
    ({"positional_count": 1}, {"positional_count": {"gte": 2}}, False),
    ({"positional_count": 0}, {"positional_count": {"gte": 1}}, False),
    ({"positional_count": 5}, {"positional_count": {"lte": 5}}, True),
    ({"positional_count": 4}, {"positional_count": {"lte": 5}}, True),
    ({"positional_count": 6}, {"positional_count": {"lte": 5}}, False),
    ({"positional_count": 2.5}, {"positional_count": {"gte": 2, "lte": 3}}, True),
    ({"positional_count": 4}, {"positional_count": {"gte": 2, "lte": 3}}, False),
    ({"positional_count": 1}, {"positional_count": {"gte": 2, "lte": 3}}, False),
    ({}, {"positional_count": {"gte": 0}}, False),
    ({}, {"positional_count": {"lte": 10}}, False),
    ({"positional_count": "3"}, {"positional_count": {"gte": 1}}, False),
    ({"positional_count": None}, {"positional_count": {"lte": 1}}, False),
    # {not: value}: the inner test fails, whatever the inner test is
    ({"scope": "class"}, {"scope": {"not": "module"}}, True),
    ({"scope": "module"}, {"scope": {"not": "module"}}, False),
    ({"kind": "timer"}, {"kind": {"not": ["collection", "cache"]}}, True),
    ({"words": WORDS}, {"words": {"not": "session"}}, False),
    ({"words": WORDS}, {"words": {"not": ["queue", "job"]}}, True),
    ({"rebound": True}, {"rebound": {"not": True}}, False),
    ({"class_name": "LRUCache"}, {"class_name": {"not": {"regex": "Cache$"}}}, False),
    ({"class_name": "JobBoard"}, {"class_name": {"not": {"regex": "Cache$"}}}, True),
    ({"positional_count": 1}, {"positional_count": {"not": {"gte": 2}}}, True),
    ({"positional_count": 3}, {"positional_count": {"not": {"gte": 2}}}, False),
    ({"positional_count": 3}, {"positional_count": {"gte": 1, "not": 3}}, False),
    ({"positional_count": 2}, {"positional_count": {"gte": 1, "not": 3}}, True),
])
def test_fact_tests(facts, condition, expected):
    assert holds(condition, facts) is expected


@pytest.mark.parametrize("condition, expected", [
    ({}, True),
    (None, True),
    ({"kind": "collection", "scope": "module"}, True),  # every entry must hold
    ({"kind": "collection", "scope": "class"}, False),
    ({"all": [{"kind": "collection"}, {"words": "session"}]}, True),
    ({"all": [{"kind": "collection"}, {"words": "queue"}]}, False),
    ({"any": [{"kind": "timer"}, {"words": "session"}]}, True),
    ({"any": [{"kind": "timer"}, {"words": "queue"}]}, False),
    ({"not": {"kind": "timer"}}, True),
    ({"not": {"kind": "collection"}}, False),
    ({"not": {"kind": "collection", "scope": "class"}}, True),  # not (a and b)
    ({"any": [{"all": [{"kind": "collection"}, {"not": {"writes": "delete"}}]}, {"kind": "timer"}]}, True),
    ({"any": [{"all": [{"kind": "collection"}, {"not": {"writes": "set"}}]}, {"kind": "timer"}]}, False),
    ({"all": [{"any": [{"scope": "class"}, {"scope": "module"}]}, {"not": {"any": [{"rebound": True}]}}]}, True),
    ({"kind": "collection", "any": [{"scope": "class"}]}, False),  # combinator beside facts: both must hold
])
def test_combinators(condition, expected):
    facts = {"kind": "collection", "scope": "module", "words": WORDS, "writes": frozenset({"set"}), "rebound": False}
    assert holds(condition, facts) is expected


@pytest.mark.parametrize("condition, message", [
    ({"scop": "module"}, "condition: unknown fact 'scop'; did you mean 'scope'?"),
    ({"any": []}, "condition: 'any' takes a non-empty list of conditions"),
    ({"all": {"kind": "x"}}, "condition: 'all' takes a non-empty list of conditions"),
    ({"not": {"kynd": "x"}}, "condition.not: unknown fact 'kynd'; did you mean 'kind'?"),
    ({"any": [{"kind": "x"}, {"wrods": "x"}]}, "condition.any: unknown fact 'wrods'; did you mean 'words'?"),
    ({"positional_count": {"gt": 1}}, "condition.positional_count: unknown operator 'gt' (use regex, gte, lte, not)"),
    ({"callee": {"regex": "("}}, "condition.callee: bad regex (missing ), unterminated subpattern at position 0)"),
    (["kind"], "condition must be a mapping of fact: expected value"),
])
def test_validate_names_the_problem(condition, message):
    with pytest.raises(ConditionError) as caught:
        validate(condition)
    assert str(caught.value) == message


def test_validate_accepts_every_documented_form():
    validate({"kind": ["collection"], "words": {"regex": "^a", "not": "b"}, "positional_count": {"gte": 1, "lte": 3},
              "all": [{"rebound": True}], "any": [{"scope": "module"}], "not": {"frozen": False}})


# Partial knowledge: `known` holds only the facts the join cannot change (join.settled); the others are unknown.
UNKNOWN_ALL = {"scope": "instance", "frozen": False}


@pytest.mark.parametrize("condition, may, surely", [
    ({"scope": "instance"}, True, True),
    ({"scope": "module"}, False, False),
    ({"owner_singleton": True}, True, False),  # unknown: may hold, not surely
    ({"scope": "instance", "owner_singleton": True}, True, False),
    ({"scope": "module", "owner_singleton": True}, False, False),
    # any: fails only when every branch fails on what is known
    ({"any": [{"scope": "static"}, {"scope": "module"}]}, False, False),
    ({"any": [{"scope": "static"}, {"owner_singleton": True}]}, True, False),
    ({"any": [{"scope": "instance"}, {"owner_singleton": True}]}, True, True),
    # not: fails only when what it negates surely holds
    ({"not": {"frozen": False}}, False, False),
    ({"not": {"owner_singleton": True}}, True, False),
    ({"not": {"any": [{"scope": "instance"}, {"owner_singleton": True}]}}, False, False),
    ({"not": {"all": [{"scope": "instance"}, {"owner_singleton": True}]}}, True, False),
    ({"not": {"not": {"frozen": False}}}, True, True),
    ({"all": [{"scope": "instance"}, {"frozen": True}]}, False, False),
    ({}, True, True),
])
def test_may_hold_and_surely_holds_on_partial_knowledge(condition, may, surely):
    assert may_hold(condition, UNKNOWN_ALL) is may
    assert surely_holds(condition, UNKNOWN_ALL) is surely
    # Whatever the unknown fact turns out to be, the answers bound what holds() says.
    for owner_singleton in (True, False, None):
        facts = {**UNKNOWN_ALL, "owner_singleton": owner_singleton}
        assert not holds(condition, facts) or may
        assert holds(condition, facts) or not surely
