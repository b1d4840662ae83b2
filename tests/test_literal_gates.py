"""Words a file must hold for a pattern to match, and the lean joined query run on files without them."""

from __future__ import annotations

import os

import pytest
from tree_sitter import Query, QueryCursor

from stateaudit import syntax
from stateaudit.literal_gates import fewest_words, pattern_words, regex_words
from stateaudit.syntax import LANGUAGES, parse_source, query_and_index

from .conftest import FIXTURES, REPO


@pytest.mark.parametrize(("regex", "words"), [
    (r"^[fFrRuU]*[\"']sqlite(\+\w+)?:///[^\"']", {'"sqlite', "'sqlite"}),
    (r"^(_instance|__instance|_instances)$", {"_instance", "__instance", "_instances"}),
    (r"^(SQLite|Sqlite|[A-Z]\w*(SQLite|Sqlite))\w*$", {"SQLite", "Sqlite"}),
    (r"[Aa]genda$", {"Agenda", "agenda"}),
    (r"ab?cdef", {"cdef"}),  # an optional letter splits the word
    (r"(?:xyz)+tail", {"tail"}),  # a repeated part needs its words, but is not a fixed text
])
def test_words_a_regular_expression_needs(regex, words):
    assert regex_words(regex) == frozenset(words)


@pytest.mark.parametrize("regex", [
    r"(?i)sqlite",  # any case: no word is certain
    r"^(self|\w+)$",  # one branch needs no word
    r"x*",
    r"[a-z]+",
    r"(abc",  # not a regular expression Python reads
])
def test_no_words_where_a_match_needs_none(regex):
    assert not regex_words(regex)


def _words(grammar: str, pattern: str):
    """pattern_words with tree-sitter's own quantifiers, as syntax._gated_patterns asks them."""
    query = Query(LANGUAGES[grammar], pattern)
    captures = {query.capture_name(i): i for i in range(query.capture_count)}
    return pattern_words(pattern, lambda name: syntax._always_captured(query, 0, captures.get(name)))


def test_a_pattern_is_gated_by_the_words_its_predicates_test_on_a_capture_every_match_has():
    assert _words("python", '((string) @s (#match? @s "^[\\"\']sqlite:///"))') == {b'"sqlite:///', b"'sqlite:///"}
    assert _words("python", '(call function: (attribute object: (identifier) @o attribute: (identifier) @f) '
                            '(#eq? @o "aiosqlite") (#eq? @f "connect")) @t') == {b"aiosqlite"}
    assert _words("python", '((identifier) @x (#any-of? @x "lru_cache" "cachetools"))') == {b"lru_cache", b"cachetools"}


def test_no_gate_from_an_optional_capture_a_negated_predicate_or_a_short_word():
    # py-tree-sitter holds a predicate on a capture the match lacks to be true: these match without the word
    assert _words("python", '([(identifier) @fn (string) @s] (#eq? @fn "zzzz"))') is None
    assert _words("python", '(call arguments: (argument_list (string)? @s) (#eq? @s "zzzz")) @t') is None
    assert _words("python", '(assignment left: (identifier) @a (#not-eq? @a "state")) @t') is None
    assert _words("python", '(assignment left: (identifier) @a (#eq? @a "io")) @t') is None


def test_a_capture_present_in_every_branch_of_an_alternation_gates():
    assert _words("python", '(call function: [(identifier) @d (attribute attribute: (identifier) @d)] '
                            '(#match? @d "^(lru_cache|cache)$")) @t') == {b"lru_cache", b"cache"}


def test_the_words_searched_leave_out_those_that_contain_another():
    assert fewest_words({b"cache", b"lru_cache", b"Cache", b"sqlite3", b"sqlite"}) == (b"Cache", b"cache", b"sqlite")


def _python_files():
    for base in (FIXTURES, REPO / "tests", REPO / "stateaudit"):
        for folder, _dirs, files in os.walk(base):
            yield from (os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))


def _shape(hits, index):
    """The rules' hits and the index, as spans and types (Node objects differ from one run to the next)."""
    spans = [[{name: [(n.start_byte, n.end_byte, n.type) for n in nodes] for name, nodes in c.items()} for c in rule]
             for rule in hits]
    return spans, [(n.start_byte, n.end_byte, n.type) for n in index.nodes], sorted(index.positions.items())


def test_files_without_the_words_get_from_the_lean_query_what_the_whole_one_gives(ruleset):
    queries = [rule.queries["python"] for rule in ruleset.for_grammar("python")]
    joined = syntax._joined(tuple((q.language, q.text) for q in queries))
    assert joined.gated and joined.words  # the shipped Python rules test words (sqlite, lru_cache, state...)
    lean, gated = 0, 0
    for path in _python_files():
        with open(path, "rb") as handle:
            parsed = parse_source(handle.read(), "python", path)
        whole = _shape(*query_and_index(queries, parsed.root, "python"))
        if any(word in parsed.source for word in joined.words):
            gated += 1
            continue
        lean += 1
        assert _shape(*query_and_index(queries, parsed.root, "python", parsed.source)) == whole, path
    assert lean > 20 and gated > 20  # our own code names state and caches: most of it is gated
    lean_query = syntax._lean(tuple((q.language, q.text) for q in queries))
    assert lean_query.query is not joined.query and lean_query.owner == joined.owner


def test_every_match_of_a_gated_pattern_is_in_a_file_with_its_words(ruleset):
    """The words are a necessary condition: checked on every fixture, where these rules do match."""
    queries = [rule.queries["python"] for rule in ruleset.for_grammar("python")]
    joined = syntax._joined(tuple((q.language, q.text) for q in queries))
    captures = {joined.query.capture_name(i): i for i in range(joined.query.capture_count)}
    text = joined.text.encode()
    words = {p: pattern_words(text[joined.query.start_byte_for_pattern(p):joined.query.end_byte_for_pattern(p)].decode(),
                              lambda name, p=p: syntax._always_captured(joined.query, p, captures.get(name)))
             for p in joined.gated}
    matched = 0
    for path in _python_files():
        with open(path, "rb") as handle:
            parsed = parse_source(handle.read(), "python", path)
        for pattern, _captures in QueryCursor(joined.query).matches(parsed.root):
            if pattern in words:
                matched += 1
                assert any(word in parsed.source for word in words[pattern]), (path, pattern)
    assert matched > 50
