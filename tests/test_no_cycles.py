"""Matching a file leaves no reference cycles behind.

Workers collect young objects only every pool.YOUNG_COLLECTION_EVERY allocations, because matching a file
makes none that need the cycle collector: every object of a file's analysis (its tree, its tables, the
caches and events tables that refer back to it) is freed by reference counting when the file is done. A
cycle would keep the whole tree alive until a collection came round, and make those collections slower.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from stateaudit.match import match_file
from stateaudit.model import SourceFile
from stateaudit.resources import rules_dir
from stateaudit.ruleset import load_rules
from stateaudit.syntax import EXTENSIONS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _sources(folder: Path, language_family: tuple[str, ...]) -> list[SourceFile]:
    found = []
    for path in sorted(folder.rglob("*")):
        language = EXTENSIONS.get(path.suffix.lower())
        if language in language_family and path.is_file():
            found.append(SourceFile(str(path), os.path.relpath(path, folder), language))
    return found


@pytest.mark.parametrize("family", [("python",), ("typescript", "tsx", "javascript")])
def test_matching_the_corpus_makes_no_cycle_garbage(family):
    ruleset = load_rules([rules_dir()])
    files = _sources(FIXTURES, family)  # the rules' own fixtures, the corpora and the traps
    assert len(files) > 50
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        findings = 0
        for file in files:
            result = match_file(file, ruleset)
            assert not result.internal_errors, result.internal_errors
            findings += len(result.matches)
            del result
        gc.collect()
        left = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert findings > 20  # the facts (caches, events tables, client sites) were asked for, not skipped
    kinds = sorted({type(o).__name__ for o in left if not isinstance(o, (tuple, list, dict, set, frozenset))})
    assert len(left) == 0, f"{len(left)} objects left in reference cycles, among them: {kinds}"
