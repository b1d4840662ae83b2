"""One pass per file: the listed tree and the joined queries give exactly what separate walks and queries give."""

from __future__ import annotations

from stateaudit.syntax import _preorder, compile_query, parse_source, run_queries, run_query, walk

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


def test_walking_any_node_of_a_listed_tree_is_a_plain_preorder_walk():
    checked = 0
    for path, language in [*_sources(), (None, "typescript")]:
        parsed = parse_source(BROKEN if path is None else path.read_bytes(), language)
        everything = list(walk(parsed.root))
        assert everything == list(_preorder(parsed.root))
        for node in everything[:: max(1, len(everything) // 50)]:
            assert list(walk(node)) == list(_preorder(node))
            checked += 1
    assert checked > 1000


def test_broken_files_with_missing_nodes_are_walked_exactly():
    parsed = parse_source(BROKEN, "typescript", recover=False)  # keep the ERROR and MISSING nodes
    nodes = list(walk(parsed.root))
    assert any(n.is_missing for n in nodes) and any(n.type == "ERROR" for n in nodes)
    for node in nodes:
        assert list(walk(node)) == list(_preorder(node))


def test_walking_a_node_of_an_older_tree_still_works():
    first = parse_source(b"const a = new Map();\n", "typescript")
    declaration = list(walk(first.root))[1]
    later = parse_source(b"let b = 1;\n", "typescript")
    assert list(walk(later.root))  # the tree listed whole is now another one
    assert [n.type for n in walk(declaration)] == [n.type for n in _preorder(declaration)]


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
