"""The events table is worked out per name on first ask: whatever the order of the asks, each key's events
must be those of the table built in one pass, aliases (and aliases of aliases) credited alike."""

from __future__ import annotations

import pytest

from stateaudit.facts import facts_module
from stateaudit.syntax import QUERY_LANGUAGE, parse_source, release_index

from .conftest import FIXTURES

ALIASES_TS = b"""export class Sessions {
  private sessions = new Map<string, number>();
  private counts: Record<string, number> = {};
  touch(id: string) {
    const s = this.sessions;
    const t = s;
    t.set(id, Date.now());
    this.counts[id] = (this.counts[id] ?? 0) + 1;
  }
}
const registry = new Map();
const alias = registry;
export function add(k: string) { alias.set(k, 1); delete alias[k]; }
export function other() { const registry = []; registry.push(1); }
"""

ALIASES_PY = b"""registry = {}
alias = registry

class Store:
    def __init__(self):
        self.items = []

    def add(self, item):
        items = self.items
        again = items
        again.append(item)
        alias[item] = True

def reset():
    global registry
    registry = {}
"""


def _tables(source: bytes, grammar: str):
    """Two tables of one tree (class ids are node ids, the same in both), each from its own analysis, and
    the analyses, which must outlive their tables (a table refers back to its analysis weakly)."""
    release_index()
    parsed = parse_source(source, grammar)
    module = facts_module(QUERY_LANGUAGE[grammar])
    analyses = module.analyse(parsed), module.analyse(parsed)
    return analyses[0].events, analyses[1].events, analyses


def _plain(events):
    return [(line, op, fn.start_byte if fn is not None else None) for line, op, fn in events]


def _sources():
    yield ALIASES_TS, "typescript"
    yield ALIASES_PY, "python"
    for path in sorted(FIXTURES.rglob("*.ts"))[:60]:
        yield path.read_bytes(), "typescript"
    for path in sorted(FIXTURES.rglob("*.py"))[:60]:
        yield path.read_bytes(), "python"


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_each_key_asked_alone_gets_what_the_one_pass_table_holds(order):
    checked = 0
    for source, grammar in _sources():
        one_pass, lazy, _analyses = _tables(source, grammar)
        whole = [(key, _plain(events)) for key, events in one_pass.items()]
        keys = lazy.keys()
        assert keys == [key for key, _ in whole]  # the same keys, in the order they first appear
        assert [key for key in lazy.keys(members_only=True) if len(key) == 3] == [k for k in keys if len(k) == 3]
        asked = keys if order == "forward" else list(reversed(keys))
        answers = {key: _plain(lazy.get(key, [])) for key in asked}
        assert [(key, answers[key]) for key in keys] == whole
        checked += len(keys)
    assert checked > 3000


def test_aliases_are_credited_as_the_one_pass_table_credits_them():
    """What a74c742's one-pass table gave for these sources, asked here one name at a time: a write through
    an alias is credited to what it aliases, in reference order, one alias deep (`t`, made from `s` after
    `s` was made from `this.sessions`, credits `s`, not `this.sessions`)."""
    def ops(table, kind, name):
        keys = [key for key in reversed(table.keys()) if key[0] == kind and key[-1] == name]
        return [[op for _line, op, _fn in table.get(key)] for key in keys]

    table, _, _analyses = _tables(ALIASES_TS, "typescript")
    assert ops(table, "this", "sessions") == [["read"]]
    assert ops(table, "name", "t") == [["set"]]
    assert ops(table, "name", "s") == [["read", "set"]]
    assert ops(table, "name", "registry") == [["read", "push", "set", "delete"]]
    table, _, _analyses = _tables(ALIASES_PY, "python")
    assert ops(table, "name", "again") == [["rebind", "append"]]
    assert ops(table, "name", "items") == [["rebind", "read", "append"]]
    assert ops(table, "self", "items") == [["rebind", "read"]]
    assert ops(table, "name", "registry") == [["rebind", "read", "rebind", "assign"]]


def _keyed(analysis, nodes):
    return sorted((node.start_byte, -node.end_byte) for node in nodes if analysis._base_key(node) is not None)


def test_python_finds_a_names_references_through_its_identifiers_as_reading_every_reference_would():
    """PyFile.references_named looks a name up among the identifiers (an attribute through its last part)
    instead of reading every reference's name: the references that can name state must be the same."""
    from stateaudit.facts.references import FileAnalysis

    checked = 0
    for source, grammar in _sources():
        if grammar != "python":
            continue
        _one, _two, (py, _other) = _tables(source, grammar)
        every = FileAnalysis.reference_names(py)
        assert sorted(py.reference_names()) == sorted(name for name in every if name)
        for name in every:
            found = _keyed(py, py.references_named(name))
            assert found == _keyed(py, FileAnalysis.references_named(py, name)), name
            checked += len(found)
    assert checked > 2000


def test_an_invalid_byte_never_ends_up_in_a_python_identifier():
    """What PyFile.references_named relies on to look a decoded name up by its UTF-8: the lexer splits an
    identifier at a byte that is not UTF-8, so no identifier's text decodes with a replacement."""
    for byte in (b"\xff", b"\xe9", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f"):
        source = b"x" + byte + b"y = {}\nx" + byte + b"y[1] = 2\nself.a" + byte + b"b.append(1)\n"
        release_index()
        py = facts_module("python").analyse(parse_source(source, "python", recover=False))  # lines kept as written
        texts = py.identifiers[1]
        assert texts and all(text.decode("utf-8", "strict") for text in texts)
        assert b"x" in texts and b"y" in texts
