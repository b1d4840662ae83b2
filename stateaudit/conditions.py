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

# Every fact the scanner computes, documented in docs/writing-rules.md.
FACT_NAMES = frozenset({
    # identity
    "rule", "kind", "language", "path", "service", "name", "symbol", "words", "class_name", "class_words",
    # state facts
    "scope", "container", "frozen", "declared_with", "writes", "written_after_init", "rebound", "exported",
    "owner_kind", "lifetime", "lifetime_local", "clients", "stateful", "stateful_fields", "own_class",
    "class_in_file", "class_known", "has_instance_pattern", "client_writes", "in_startup", "in_handler",
    # calls and decorators
    "callee", "callee_name", "callee_object", "callee_module", "receiver", "fs_call", "method", "callback",
    "rearmed", "in_function", "path_purpose", "deleted_in_same_function", "writes_in_same_function", "multer_memory", "has_store_option",
    "has_dest_option", "daemon", "target_loops", "coroutine_loops", "joined", "awaited", "write_mode", "mode",
    "first_arg", "positional_count", "receiver_path", "target_path", "memory_db", "sqlite_url", "decorator", "decorator_args", "decorates_class", "is_method",
    # context
    "duplicate", "value_text", "type_words", "callback_io", "client_refs", "increments", "stored", "depends_on", "in_test_file", "category", "storage", "shared", "sibling_max_risk",
})
# Names classify.py derives from the facts for message/action templates (not usable in conditions).
DERIVED_NAMES = frozenset({"Name", "Class", "container_label", "a_container", "category_label", "category_text",
                           "lifetime_reason", "write_count", "risk"})
COMBINATORS = frozenset({"all", "any", "not"})
OPERATORS = frozenset({"regex", "gte", "lte", "not"})


class ConditionError(ValueError):
    """A malformed condition; the message says which key and why."""


def validate(condition: Any, where: str = "condition") -> None:
    """Raise ConditionError for unknown facts, operators or shapes."""
    import difflib

    if not isinstance(condition, Mapping):
        raise ConditionError(f"{where} must be a mapping of fact: expected value")
    for key, value in condition.items():
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionError(f"{where}: '{key}' takes a non-empty list of conditions")
            for item in value:
                validate(item, f"{where}.{key}")
        elif key == "not":
            validate(value, f"{where}.not")
        elif key not in FACT_NAMES:
            hint = difflib.get_close_matches(str(key), sorted(FACT_NAMES), n=1)
            raise ConditionError(f"{where}: unknown fact '{key}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        elif isinstance(value, Mapping):
            unknown = set(value) - OPERATORS
            if unknown:
                raise ConditionError(f"{where}.{key}: unknown operator {sorted(unknown)[0]!r} (use regex, gte, lte, not)")
            if "regex" in value:
                try:
                    re.compile(str(value["regex"]))
                except re.error as err:
                    raise ConditionError(f"{where}.{key}: bad regex ({err})") from None


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


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _matches(actual: Any, expected: Any) -> bool:
    many = isinstance(actual, (set, frozenset, tuple, list))
    if isinstance(expected, bool):
        return bool(actual) == expected
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
