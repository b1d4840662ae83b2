"""A state candidate's first test, on its shape, is remembered per file for each rule and shape: the answer
must be the one worked out for that candidate alone, for every candidate of the fixtures."""

from __future__ import annotations

import os

from stateaudit import match as match_module
from stateaudit.conditions import may_hold
from stateaudit.join import settled_early
from stateaudit.match import match_file
from stateaudit.model import SourceFile
from stateaudit.resources import rules_dir
from stateaudit.ruleset import load_rules
from stateaudit.syntax import EXTENSIONS

from .conftest import FIXTURES


def test_remembered_shape_verdicts_are_each_candidates_own(monkeypatch):
    ruleset = load_rules([rules_dir()])
    remembered = match_module._shape_may_hold
    asked = {"candidates": 0, "repeated": 0, "kept": 0}

    def checked(analysis, rule, shape, classes):
        known_before = dict(analysis.__dict__.get("_shape_verdicts", {}))
        verdict = remembered(analysis, rule, shape, classes)
        assert verdict == may_hold(rule.where, settled_early(shape, classes)), (rule.id, shape)
        asked["candidates"] += 1
        asked["repeated"] += (rule.id, *shape.items()) in known_before
        asked["kept"] += verdict
        return verdict

    monkeypatch.setattr(match_module, "_shape_may_hold", checked)
    for path in sorted(FIXTURES.rglob("*")):
        language = EXTENSIONS.get(path.suffix.lower())
        if language is None or not path.is_file():
            continue
        result = match_file(SourceFile(str(path), os.path.relpath(path, FIXTURES), language), ruleset)
        assert not result.internal_errors, result.internal_errors
    # Both answers occur, and most candidates reuse a verdict an earlier candidate of their file worked out.
    assert asked["candidates"] > 3000 and asked["repeated"] > asked["candidates"] // 2, asked
    assert 0 < asked["kept"] < asked["candidates"], asked
