"""The Facts record: one typed, frozen field per fact, built from the extractor's dict at the match boundary."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from stateaudit.conditions import FACT_NAMES, holds
from stateaudit.match import match_file
from stateaudit.model import Facts, SourceFile

from .conftest import FIXTURES


def test_fact_names_are_the_records_fields():
    assert FACT_NAMES == {f.name for f in dataclasses.fields(Facts)}
    assert {"scope", "class_known", "sibling_max_risk", "words"} <= FACT_NAMES


def test_an_unknown_fact_from_an_extractor_is_our_bug():
    with pytest.raises(ValueError, match=r"unknown facts \['scop'\]: declare them as fields"):
        Facts.from_extractor({"scope": "module", "scop": "module"})


def test_the_record_reads_as_a_mapping_of_the_facts_present():
    facts = Facts.from_extractor({"rule": "ts.module-collection", "class_name": None, "words": frozenset({"session"})})
    assert dict(facts) == {"rule": "ts.module-collection", "class_name": None, "words": frozenset({"session"})}
    assert len(facts) == 3 and "scope" not in facts and "class_name" in facts
    assert facts.get("class_in_file", True) is True  # absent, not None: defaults still apply
    assert facts.get("class_name", "x") is None
    with pytest.raises(KeyError):
        facts["scope"]
    with pytest.raises(KeyError):
        facts["not_a_fact"]
    assert {**facts, "service": "api"}["service"] == "api"
    assert holds({"words": "session", "rebound": False}, facts) and not holds({"scope": "module"}, facts)


def test_the_record_is_frozen_and_survives_a_process_boundary():
    facts = Facts.from_extractor({"scope": "module", "writes": frozenset({"set"})})
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.scope = "class"  # type: ignore[misc]
    copy = pickle.loads(pickle.dumps(facts))
    assert copy == facts and dict(copy) == {"scope": "module", "writes": frozenset({"set"})}
    assert copy.get("rebound") is None
    assert list(vars(copy)) == ["scope", "writes"]  # only what is present crosses the process boundary


def test_matches_carry_the_record(ruleset):
    path = FIXTURES / "rules" / "py.instance-collection.py"
    result = match_file(SourceFile(path, path.name, "python"), ruleset)
    assert result.matches and not result.internal_errors
    for match in result.matches:
        assert isinstance(match.facts, Facts)
        assert (match.facts["rule"], match.facts["kind"], match.facts["path"]) == (match.rule_id, match.kind, path.name)
