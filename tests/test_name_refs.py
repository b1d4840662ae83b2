"""How often a Python file uses each name (the service index's name_refs): definitions and the names an
import lists are not uses; everything else is, in well-formed and broken import statements alike."""

from __future__ import annotations

from stateaudit.facts import facts_module
from stateaudit.facts.py_state import _name_refs
from stateaudit.syntax import descendants, has_error, index_tree, node_bytes, parse_source, release_index

TASKS = b"""from celery import shared_task
from .registry import register_handler as register, handlers
import app.settings

@shared_task
def refresh_rates():
    register("rates", refresh_rates)
    return handlers

class RateCache:
    def get(self, key):
        return app.settings.RATES.get(key)
"""

BROKEN_IMPORT = b"""from .registry import (register_handler, handlers
def flush():
    return handlers.clear()
"""


def _refs(source: bytes) -> dict[str, int]:
    release_index()
    parsed = parse_source(source, "python", recover=False)
    index_tree(parsed)
    return _name_refs(facts_module("python").analyse(parsed))


def test_definitions_and_imported_names_are_not_uses():
    refs = _refs(TASKS)
    assert refs["refresh_rates"] == 1  # handed to register(); the def itself is not a use
    assert refs["handlers"] == 1 and refs["register"] == 1 and refs["shared_task"] == 1
    assert refs["app"] == 1 and refs["settings"] == 1  # the import lists them; the attribute chain uses them
    assert "register_handler" not in refs and "celery" not in refs and "registry" not in refs
    assert "RateCache" not in refs and refs["self"] == 1 and refs["key"] == 2


def test_a_broken_import_statement_still_lists_its_names_and_nothing_else():
    """The unclosed parenthesis makes tree-sitter put `def flush` inside the import's ERROR node: those names
    are not listed by the import, so they still count."""
    refs = _refs(BROKEN_IMPORT)
    parsed = parse_source(BROKEN_IMPORT, "python", recover=False)
    index_tree(parsed)
    (statement,) = descendants(parsed.root, "import_from_statement")
    assert has_error(statement) and b"flush" in node_bytes(statement)
    assert "register_handler" not in refs and "registry" not in refs
    assert refs["flush"] == 1 and refs["handlers"] == 1
