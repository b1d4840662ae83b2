"""How often a Python file uses each name (the service index's name_refs): definitions and the names an
import lists are not uses; everything else is, in well-formed and broken import statements alike."""

from __future__ import annotations

from collections import Counter

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


IMPORTS_EVERY_WAY = """from __future__ import annotations

import os, sys as system
import email.mime.text as mime_text
from . import signals
from ..core.tasks import (  # enqueue and plan the jobs: words of a comment are no names
    enqueue,
    schedule as plan,  # renamed for the scheduler
)
from .utils import *
from re import match
from typing import TYPE_CHECKING, cast as cast_to
from .café import crème

if TYPE_CHECKING:
    from .models import Order


def dispatch(order: "Order", text):
    if match(r"^x", text) and match(r"y$", text):
        enqueue(signals.sent, plan(order), system.argv, os.sep, crème)
    return cast_to(str, mime_text)
""".encode()


def _tree_oracle(source: bytes) -> dict[str, int]:
    """Every identifier of the tree, less the names definitions and import statements hold: the same
    definition as _name_refs, counted node by node."""
    release_index()
    parsed = parse_source(source, "python", recover=False)
    index_tree(parsed)
    listed = {n.id for st in descendants(parsed.root, frozenset({"import_statement", "import_from_statement"}))
              for n in descendants(st, "identifier")}
    counts = Counter(node_bytes(n).decode() for n in descendants(parsed.root, "identifier") if n.id not in listed)
    counts.subtract(node_bytes(d.child_by_field_name("name")).decode()
                    for d in descendants(parsed.root, frozenset({"function_definition", "class_definition"})))
    return {name: count for name, count in counts.items() if count > 0}


def test_imports_written_every_way_list_exactly_their_names():
    """Aliases, relative and star imports, parentheses with comments in them, a soft keyword's name and a
    non-ASCII one: what the imports list is left out, every use counts, whichever way the names are read."""
    refs = _refs(IMPORTS_EVERY_WAY)
    assert refs == _tree_oracle(IMPORTS_EVERY_WAY)
    assert refs["match"] == 2 and refs["enqueue"] == 1 and refs["plan"] == 1 and refs["crème"] == 1
    assert refs["system"] == 1 and refs["mime_text"] == 1 and refs["cast_to"] == 1 and refs["TYPE_CHECKING"] == 1
    for listed_only in ("email", "mime", "schedule", "utils", "core", "tasks", "typing", "cast",
                        "café", "models", "sys", "re"):
        assert listed_only not in refs
