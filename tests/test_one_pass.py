"""One pass per file: the node index and the joined queries give exactly what separate walks and queries give."""

from __future__ import annotations

import pytest

from stateaudit.syntax import (
    FUNCTION_TYPES,
    INDEXED_TYPES,
    NodeIndex,
    _preorder,
    compile_query,
    descendants,
    enclosing,
    index_tree,
    innermost_containers,
    parse_source,
    query_and_index,
    run_queries,
    run_query,
)

from .conftest import FIXTURES

BROKEN = b"""export class Orders {
  private pending = new Map<string, number>(;
  add(id: string) { this.pending.set(id, 1) }
}
function half( { return [1, 2
"""


def _sources():
    yield from ((p, "typescript") for p in sorted(FIXTURES.rglob("*.ts"))[:40])
    yield from ((p, "python") for p in sorted(FIXTURES.rglob("*.py"))[:40])


def _filtered_walk(node, types):
    return [n for n in _preorder(node) if n.type in types and n.is_named]


TYPE_SETS = (
    frozenset({"identifier"}),
    frozenset({"call_expression", "assignment_expression", "call", "assignment"}),
    frozenset({"identifier", "member_expression", "attribute"}),
    frozenset({"variable_declarator", "identifier", "class", "class_declaration", "class_definition"}),
)


def test_nodes_looked_up_by_type_are_those_a_filtered_preorder_walk_meets():
    """One query run per file lists the indexed nodes; any subtree's nodes of some types are then a lookup."""
    checked = 0
    for path, language in [*_sources(), (None, "typescript")]:
        parsed = parse_source(BROKEN if path is None else path.read_bytes(), language)
        index = index_tree(parsed)
        assert index.nodes == _filtered_walk(parsed.root, INDEXED_TYPES)
        everything = list(_preorder(parsed.root))
        for node in everything[:: max(1, len(everything) // 50)]:
            for types in TYPE_SETS:
                assert descendants(node, types) == _filtered_walk(node, types), (path, node.type)
                checked += 1
    assert checked > 4000


def test_same_span_nodes_come_ancestor_first():
    """`let x` declares `x` over the very same bytes: the declarator comes first, as in a walk."""
    parsed = parse_source(b"let x;\nfunction f() { let y; return y }\n", "typescript")
    index_tree(parsed)
    found = descendants(parsed.root, frozenset({"variable_declarator", "identifier"}))
    assert [(n.type, n.text) for n in found] == [
        ("variable_declarator", b"x"), ("identifier", b"x"), ("identifier", b"f"),
        ("variable_declarator", b"y"), ("identifier", b"y"), ("identifier", b"y")]


def test_broken_files_with_missing_nodes_are_looked_up_exactly():
    parsed = parse_source(BROKEN, "typescript", recover=False)  # keep the ERROR and MISSING nodes
    index_tree(parsed)
    nodes = list(_preorder(parsed.root))
    assert any(n.is_missing for n in nodes) and any(n.type == "ERROR" for n in nodes)
    for node in nodes:
        for types in TYPE_SETS:
            assert descendants(node, types) == _filtered_walk(node, types)


def test_nodes_of_a_tree_not_indexed_are_walked():
    first = parse_source(b"const a = new Map(); a.set(1, 2);\n", "typescript")
    declaration = first.root.named_children[0]
    index_tree(parse_source(b"let b = 1;\n", "typescript"))  # another file is now the indexed one
    assert descendants(declaration, "identifier") == _filtered_walk(declaration, {"identifier"})
    assert [n.text for n in descendants(first.root, "identifier")] == [b"a", b"Map", b"a"]


def test_asking_for_a_type_that_is_not_indexed_is_our_bug():
    parsed = parse_source(b"x = 1\n", "python")
    index_tree(parsed)
    with pytest.raises(ValueError, match="not indexed"):
        descendants(parsed.root, "expression_statement")


def test_queries_run_together_give_each_query_its_own_matches_in_order(ruleset):
    for path, language in _sources():
        grammar = language
        parsed = parse_source(path.read_bytes(), grammar)
        queries = [rule.queries[grammar] for rule in ruleset.for_grammar(grammar)]
        together = run_queries(queries, parsed.root)
        alone = [run_query(q, parsed.root) for q in queries]
        assert together == alone, path
    assert run_queries([], parsed.root) == []
    extra = compile_query("python", "(identifier) @target")
    assert run_queries([extra], parsed.root) == [run_query(extra, parsed.root)]


def test_the_index_riding_in_the_rules_query_is_the_index_of_its_own_query(ruleset):
    """query_and_index walks the tree once for the rules and the index: both must come out as when each
    query runs alone, the index in pre-order though rule patterns finish in between."""
    compared = 0
    for path, language in [*_sources(), (None, "typescript")]:
        parsed = parse_source(BROKEN if path is None else path.read_bytes(), language)
        queries = [rule.queries[language] for rule in ruleset.for_grammar(language)]
        hits, index = query_and_index(queries, parsed.root, language)
        alone = NodeIndex(parsed.root, language)
        assert (index.nodes, index.starts, index.positions) == (alone.nodes, alone.starts, alone.positions), path
        assert hits == [run_query(q, parsed.root) for q in queries], path
        compared += len(index.nodes)
    assert compared > 20000
    hits, index = query_and_index([], parsed.root, "typescript")
    assert hits == [] and index.nodes == NodeIndex(parsed.root, "typescript").nodes


def test_innermost_containers_are_the_nearest_enclosing_ancestors():
    """The events table takes each reference's function from one sweep; it must be `enclosing` exactly."""
    checked = 0
    for path, language in [*_sources(), (None, "typescript")]:
        parsed = parse_source(BROKEN if path is None else path.read_bytes(), language, recover=path is not None)
        index_tree(parsed)
        references = descendants(parsed.root, frozenset({"identifier", "member_expression", "attribute"}))
        for containers in (FUNCTION_TYPES, frozenset({"class_declaration", "class", "class_definition"})):
            found = innermost_containers(references, descendants(parsed.root, containers))
            assert found == [enclosing(node, containers) for node in references], path
            checked += len(references)
    assert checked > 5000
