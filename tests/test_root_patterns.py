"""Rule patterns rooted at the file's root run apart, over the top level only: each rule must still get
exactly the matches its own query gives, in the same order, and anything that could span statements stays
in the joined query."""

from __future__ import annotations

import pytest

from stateaudit.root_patterns import split_roots
from stateaudit.syntax import _joined

from .joined_queries import alone_and_joined

PYTHON_SOURCE = b'''import functools
cache = functools.lru_cache(maxsize=100)(load)
settings = {"a": 1}
def handler():
    local = make(dict(a=1))
    return build(local)
client = make(); other = build(make())
if True:
    hidden = make()
class Store:
    items = make()
registry = []
'''

TS_SOURCE = b'''import { RateLimiterMemory } from "rate-limiter-flexible";
export const limiter = new RateLimiterMemory({ points: build(5) });
const cache = new Map<string, number>();
let count = make(); const other = build(make());
function handler() { const local = new Map(); return build(local); }
export class Store { items = new Map(); }
if (ready) { var hidden = make(); }
'''

PYTHON_QUERIES = [
    # A root pattern and others of one rule, in the same statements and apart.
    '(module (expression_statement (assignment left: (identifier) @name right: (call) @value) @target))\n'
    '(call function: (identifier) @fn (#match? @fn "^(make|build|dict)$")) @target\n'
    '(call function: (attribute attribute: (identifier) @fn) (#eq? @fn "lru_cache")) @target\n',
    # Root patterns only.
    '(module (expression_statement (assignment left: (identifier) @name right: [(dictionary) (list)] @value) @target))\n'
    '(module (import_statement) @target)\n',
    # The root captured: kept whole.
    '(module (expression_statement) @target) @file\n',
]

TS_QUERIES = [
    '(program (export_statement declaration: (lexical_declaration (variable_declarator value: '
    '(new_expression constructor: (identifier)) @target))))\n'
    '(new_expression constructor: (identifier) @ctor (#eq? @ctor "RateLimiterMemory")) @target\n'
    '(call_expression function: (identifier) @fn (#match? @fn "^(make|build)$")) @target\n',
    '(program (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @value) @target))\n'
    '(program (function_declaration name: (identifier) @name) @target)\n',
]


@pytest.mark.parametrize(("grammar", "source", "texts"), [
    ("python", PYTHON_SOURCE, PYTHON_QUERIES),
    ("typescript", TS_SOURCE, TS_QUERIES),
    ("tsx", TS_SOURCE, TS_QUERIES),
])
def test_each_query_gets_its_own_matches_in_order(grammar, source, texts):
    alone, joined, queries = alone_and_joined(grammar, source, texts)
    assert _joined(tuple((q.language, q.text) for q in queries)).roots is not None  # the patterns run apart
    assert sum(map(len, alone)) >= 12
    assert joined == alone


def test_a_rule_with_matches_of_both_kinds_in_one_statement_is_ordered_by_its_own_query():
    """`cache = functools.lru_cache(...)(load)`: the root pattern's match finishes at the call on the right,
    before the lru_cache call's inside it."""
    (alone,), joined, _ = alone_and_joined("python", PYTHON_SOURCE, PYTHON_QUERIES[:1])
    first_statement = [m["target"][0].type for m in alone if m["target"][0].start_point[0] == 1]
    assert first_statement == ["assignment", "call"]  # the root pattern's match comes first
    assert joined == [alone]


def test_only_root_patterns_whose_matches_lie_in_one_statement_are_taken_out():
    kept, roots = split_roots("python", PYTHON_QUERIES[0])
    assert len(roots) == 1 and roots[0].startswith("(module") and kept.count("@target") == 2
    assert [r.strip() for r in split_roots("python", PYTHON_QUERIES[1])[1]] == PYTHON_QUERIES[1].strip().split("\n")
    for text in (
        PYTHON_QUERIES[2],  # the root captured: the match is the whole file
        '(module (import_statement) (expression_statement) @target)\n',  # two children: two statements
        '(module (expression_statement) @target (#eq? @target "x"))\n',  # a predicate beside the child
        '(module (expression_statement)* @target)\n',  # quantified: several statements
        '(module (expression_statement)+ @target)\n',
        '(module . (expression_statement) @target)\n',  # anchored
        # Another pattern of the rule may match at the root and span statements: the rule is left whole.
        '(module (import_statement) @target)\n(_ (import_statement) (expression_statement) @target)\n',
        '(module (import_statement) @target)\n[(module) (call)] @target\n',
    ):
        assert split_roots("python", text) == (text, ()), text
    assert split_roots("typescript", TS_QUERIES[1])[0] == ""
    assert split_roots("python", "(call) @target\n") == ("(call) @target\n", ())
