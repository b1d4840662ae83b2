"""The condition language shared by detection `where:` clauses and classification tables.

A condition is a mapping; every entry must hold. Keys are fact names or the
combinators `all`, `any`, `not`. A value is matched against the fact by type:
a scalar is equality (or membership, for set-valued facts), a list is "any of",
`{regex: ...}` searches, `{gte: n}`/`{lte: n}` compare numbers, and `true`/`false`
test a fact's truthiness.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .model import FACT_FIELDS

# Every fact the scanner computes: the fields of the Facts record, documented in docs/writing-rules.md.
FACT_NAMES = FACT_FIELDS
# Names classify.py derives from the facts for message/action templates (not usable in conditions).
DERIVED_NAMES = frozenset({"Name", "Class", "container_label", "a_container", "category_label", "category_text",
                           "lifetime_reason", "write_count", "risk"})
COMBINATORS = frozenset({"all", "any", "not"})
OPERATORS = frozenset({"regex", "gte", "lte", "not"})


class ConditionError(ValueError):
    """A malformed condition; the message says which key and why, `trail` where it is (keys and list
    indexes from the condition's top), so that a rule file can name its line."""

    def __init__(self, message: str, trail: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.trail = trail


def validate(condition: Any, where: str = "condition", trail: tuple[str | int, ...] = ()) -> None:
    """Raise ConditionError for unknown facts, operators or shapes."""
    import difflib

    if not isinstance(condition, Mapping):
        raise ConditionError(f"{where} must be a mapping of fact: expected value", trail)
    for key, value in condition.items():
        here = (*trail, key)
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionError(f"{where}: '{key}' takes a non-empty list of conditions", here)
            for i, item in enumerate(value):
                validate(item, f"{where}.{key}", (*here, i))
        elif key == "not":
            validate(value, f"{where}.not", here)
        elif key not in FACT_NAMES:
            hint = difflib.get_close_matches(str(key), sorted(FACT_NAMES), n=1)
            raise ConditionError(f"{where}: unknown fact '{key}'" + (f"; did you mean '{hint[0]}'?" if hint else ""),
                                 here)
        elif isinstance(value, Mapping):
            unknown = set(value) - OPERATORS
            if unknown:
                raise ConditionError(f"{where}.{key}: unknown operator {sorted(unknown)[0]!r} (use regex, gte, lte, not)",
                                     here)
            if "regex" in value:
                try:
                    re.compile(str(value["regex"]))
                except re.error as err:
                    raise ConditionError(f"{where}.{key}: bad regex ({err})", here) from None


def holds(condition: Mapping[str, Any] | None, facts: Mapping[str, Any]) -> bool:
    if not condition:
        return True
    for key, expected in condition.items():
        if key == "all":
            if not all(holds(c, facts) for c in expected):
                return False
        elif key == "any":
            if not any(holds(c, facts) for c in expected):
                return False
        elif key == "not":
            if holds(expected, facts):
                return False
        elif not _matches(facts.get(key), expected):
            return False
    return True


def may_hold(condition: Mapping[str, Any] | None, known: Mapping[str, Any]) -> bool:
    """Can `condition` still hold, given only the `known` facts? False only when it fails whatever the
    facts missing from `known` turn out to be (`any` fails when every branch does, `not` when what it
    negates surely holds).

    Stage 1 uses it to drop a candidate before the join; `known` must hold only facts with the values the
    join will give them (join.settled).
    """
    return _bound(condition, known, surely=False)


def surely_holds(condition: Mapping[str, Any] | None, known: Mapping[str, Any]) -> bool:
    """Does `condition` hold whatever the facts missing from `known` turn out to be?"""
    return _bound(condition, known, surely=True)


def _bound(condition: Mapping[str, Any] | None, known: Mapping[str, Any], surely: bool) -> bool:
    """may_hold (`surely` false) and surely_holds (true) are one walk: a test of a fact missing from `known`
    passes for the first and fails for the second, and `not` asks the other question of what it negates."""
    if not condition:
        return True
    for key, expected in condition.items():
        if key == "all":
            if not all(_bound(c, known, surely) for c in expected):
                return False
        elif key == "any":
            if not any(_bound(c, known, surely) for c in expected):
                return False
        elif key == "not":
            if _bound(expected, known, not surely):
                return False
        elif key in known:
            if not _matches(known[key], expected):
                return False
        elif surely:
            return False
    return True


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


_MANY = (set, frozenset, tuple, list)
_PLAIN = frozenset({str, int, float, type(None)})  # values a test compares as they are


def _matches(actual: Any, expected: Any) -> bool:
    many = isinstance(actual, _MANY)
    kind = type(expected)
    if kind is bool:
        return bool(actual) == expected
    if kind in _PLAIN:  # most tests: asked first, as isinstance(expected, Mapping) is an ABC look-up
        return expected in actual if many else actual == expected
    if isinstance(expected, Mapping):
        if "not" in expected and _matches(actual, expected["not"]):
            return False
        if "regex" in expected:
            values = actual if many else [actual]
            if not any(v is not None and _regex(str(expected["regex"])).search(str(v)) for v in values):
                return False
        if "gte" in expected and not (isinstance(actual, (int, float)) and actual >= expected["gte"]):
            return False
        if "lte" in expected and not (isinstance(actual, (int, float)) and actual <= expected["lte"]):
            return False
        return True
    if isinstance(expected, list):
        if many:
            return bool(set(actual) & set(expected))
        return actual in expected
    if many:
        return expected in actual
    return actual == expected
