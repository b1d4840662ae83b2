"""scripts/breakages.py must stay applicable: each breakage's text is still in the code it breaks.

Running the breakages takes a minute (the script copies the repository for each); this keeps the list from
going stale silently when the code it names is moved or rewritten.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _breakages():
    spec = importlib.util.spec_from_file_location("breakages", REPO / "scripts" / "breakages.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.BREAKAGES


def test_every_breakage_still_applies_to_the_code():
    breakages = _breakages()
    assert len(breakages) >= 5
    for breakage in breakages:
        text = (REPO / breakage.file).read_text(encoding="utf-8")
        assert text.count(breakage.before) == 1, f"{breakage.name}: {breakage.before!r} is not once in {breakage.file}"
        for test in breakage.tests:
            assert (REPO / test).is_file(), f"{breakage.name}: no test file {test}"
