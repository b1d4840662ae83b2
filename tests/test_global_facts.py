"""Module variables (Python's `global` subject): the facts the file settles at once come first, and a rule
they already fail stops there; a rule they do not decide gets every fact, as before."""

from __future__ import annotations

from stateaudit.match import match_file
from stateaudit.model import SourceFile
from stateaudit.resources import rules_dir
from stateaudit.ruleset import load_rules

RATES_PY = """import redis

RATES = {}
client = redis.Redis.from_url("redis://cache:6379/0")


def rate(currency):
    return RATES.get(currency) or float(client.get(f"rate:{currency}") or 1)
"""

REBOUND_PY = """import redis

RATES = {}
client = redis.Redis.from_url("redis://cache:6379/0")


def refresh(fetched):
    global RATES
    RATES = dict(fetched)
"""

TEAM_RULE = """id: team.module-dicts
title: Module dictionaries
kind: global
subject: global
languages: [python]
risk: LOW
message: "`{symbol}` is a module dictionary."
queries:
  python: |
    (module (expression_statement (assignment left: (identifier) @name right: (dictionary)) @target))
where:
  container: dict
docs: {what: a module dict, why: per process, fix: keep it in Redis}
"""


def _matches(tmp_path, source: str) -> dict[str, object]:
    team = tmp_path / "team"
    team.mkdir(exist_ok=True)
    (team / "team.module-dicts.yaml").write_text(TEAM_RULE, encoding="utf-8")
    path = tmp_path / "rates.py"
    path.write_text(source, encoding="utf-8")
    result = match_file(SourceFile(str(path), "rates.py", "python"), load_rules([rules_dir(), team]))
    assert not result.internal_errors, result.internal_errors
    return {f"{m.rule_id}:{m.symbol}": m for m in result.matches}


def test_a_rule_the_early_facts_do_not_decide_gets_them_all(tmp_path):
    found = _matches(tmp_path, RATES_PY)
    assert "py.global-rebind:RATES" not in found  # never rebound: stopped before its clients were read
    team = found["team.module-dicts:RATES"].facts
    assert team["rebound"] is False and team["container"] == "dict"
    assert team["clients"] == frozenset({"redis"}) and team["stored"] == frozenset() and team["increments"] is False


def test_a_rebound_global_is_found_with_its_clients(tmp_path):
    found = _matches(tmp_path, REBOUND_PY)
    rebind = found["py.global-rebind:RATES"].facts
    assert rebind["rebound"] is True and rebind["writes"] == frozenset({"rebind"})
    assert rebind["clients"] == frozenset({"redis"}) and rebind["rebound_at_startup"] is False
