"""Run rule queries one by one and joined, on one source: what the tests of the joined query compare."""

from __future__ import annotations

from stateaudit.syntax import CompiledQuery, compile_query, parse_source, run_queries, run_query


def alone_and_joined(grammar: str, source: bytes, texts: list[str]) -> tuple[list, list, list[CompiledQuery]]:
    """Each query's matches run alone, the matches run_queries gives each when joined, and the queries."""
    parsed = parse_source(source, grammar)
    queries = [compile_query(grammar, text) for text in texts]
    return [run_query(query, parsed.root) for query in queries], run_queries(queries, parsed.root), queries
