"""Rule patterns rooted at the file's root node, run apart from the joined query, over the top level only.

`(module (expression_statement (assignment ...) @target))` finds module-level state. In the joined query a
state of such a pattern starts at the root and stays in progress while tree-sitter's cursor walks every
node of the file, so each costs about as much as a pattern tried at every node: counted by callgrind over
290 saleor files, the eight Python ones cost 146 M instructions of the joined query's 1,248 M. Alone in a
query whose cursor may start patterns at the root only (`set_max_start_depth(0)`), they cost 18 M
together: with no state in progress below the top level, the cursor does not go down there.

Each rule must still get its matches in the order its own query gives them (the first match per rule and
line is kept). A root pattern with one child lies within one top-level statement, and so does a match of any
other pattern not rooted at the root. Matches finish in the order the cursor enters nodes, so a rule's
matches are in the order of their statements: the two lists are merged statement by statement. Where both
have matches in one statement, the rule's own query is run over that statement's bytes, which gives them in
its own order.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from .callee_patterns import top_level_items
from .syntax import Node, matches_between, run_query, top_level_matches

ROOT_TYPES = {"python": "module", "typescript": "program", "tsx": "program", "javascript": "program"}


def split_roots(grammar: str, text: str) -> tuple[str, tuple[str, ...]]:
    """One rule query's text without its patterns rooted at the root node with one child, and those
    patterns; a text this cannot read is left whole, and so is one whose other patterns may match at the
    root (their matches could span statements)."""
    root_type = ROOT_TYPES.get(grammar)
    items = top_level_items(text) if root_type is not None else None
    if not items:
        return text, ()
    kept, roots = [], []
    for start, end in items:
        item = text[start:end]
        (roots if _one_child_root(item, root_type) else kept).append(item)
    if not roots or not all(_below_root(item, root_type) for item in kept):
        return text, ()
    return "\n".join(kept), tuple(roots)


def _below_root(item: str, root_type: str) -> bool:
    """Is the pattern rooted at a named node type other than the root's (so its matches lie below it)?"""
    found = re.match(r"[\s(]*([A-Za-z_]\w*)", item)
    return item.lstrip().startswith("(") and found is not None and found.group(1) not in (root_type, "_")


def _one_child_root(item: str, root_type: str) -> bool:
    """`(root (child ...))`, the root uncaptured and without predicates of its own: its matches lie in one
    top-level statement."""
    head = re.match(rf"\(\s*{root_type}\s+", item)
    if head is None or not item.rstrip().endswith(")"):
        return False
    inner = item[head.end():item.rstrip().rfind(")")]
    parts = top_level_items(inner)
    if parts is None or len(parts) != 1 or inner[parts[0][1]:].strip():
        return False
    child = inner[parts[0][0]:parts[0][1]]
    # One node (not a predicate), maybe captured, not quantified: `(x)* @c` could take several statements.
    return child.startswith("(") and not child.startswith("(#") and _CAPTURES_AT_END.sub("", child).endswith(")")


_CAPTURES_AT_END = re.compile(r"(?:\s*@[A-Za-z_][\w.-]*)*\s*$")


def run_roots(query, owners: tuple[int, ...], root: Node, results: list[list[dict]], own_queries) -> None:
    """Add the root patterns' matches to each rule's matches (`results`, from the joined query), in the
    order the rule's own query gives them; `own_queries[i].query` is rule i's own query, compiled when
    first asked for."""
    found: dict[int, list[dict]] = {}
    for pattern, captures in top_level_matches(query, root):
        found.setdefault(owners[pattern], []).append(captures)
    if not found:
        return
    starts = [child.start_byte for child in root.children]
    for owner, extra in found.items():
        main = results[owner]
        results[owner] = _merged(main, extra, starts, root, own_queries[owner]) if main else extra


def _statement(captures: dict, starts: list[int]) -> int | None:
    """The top-level statement a match lies in: where its first captured node starts (None: no capture)."""
    for nodes in captures.values():
        if nodes:
            return bisect_right(starts, nodes[0].start_byte) - 1
    return None


def _merged(main: list[dict], extra: list[dict], starts: list[int], root: Node, own) -> list[dict]:
    """One rule's matches from the joined query (`main`) and the root query (`extra`), in its own order:
    statement by statement, each side's in its order, and the rule's own over a statement both have."""
    main_at = [_statement(m, starts) for m in main]
    extra_at = [_statement(m, starts) for m in extra]
    if None in main_at or None in extra_at:  # a match with nothing to place it by: the rule's own order
        return run_query(own, root)
    shared = set(main_at) & set(extra_at)
    by_statement: dict[int, list[dict]] = {}
    for statement, match in zip([*main_at, *extra_at], [*main, *extra], strict=True):
        by_statement.setdefault(statement, []).append(match)
    merged: list[dict] = []
    for statement in sorted(by_statement):
        merged.extend(_own_matches(own.query, root, starts, statement) if statement in shared
                      else by_statement[statement])
    return merged


def _own_matches(own, root: Node, starts: list[int], statement: int) -> list[dict]:
    """The rule's own query's matches in one top-level statement, in its order."""
    child = root.children[statement]
    return [captures for _, captures in matches_between(own, root, child.start_byte, child.end_byte)
            if _statement(captures, starts) == statement]
