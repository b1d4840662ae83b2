"""Language-neutral fact helpers: words in names, what a file path is for, what writes store."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..syntax import ParsedFile, SyntaxNode, ancestors, descendants, field, node_text, nodes_of_types, points_of
from ..vocabulary import current as vocabulary

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_words(name: str | None) -> set[str]:
    """Lower-case words of an identifier, singular and plural: `breakerStates` -> {breaker, breakers, state, states}."""
    if not name:
        return set()
    words = set()
    for part in re.split(r"[_\W]+", name):
        for word in _CAMEL.findall(part):
            word = word.lower()
            words.add(word)
            if word.endswith("ies") and len(word) > 4:
                words.add(word[:-3] + "y")
            elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
                words.add(word[:-1])
            else:
                words.add(word + "s")
    return words


def naming_facts(name: str, class_name: str | None, symbol: str | None = None) -> dict[str, Any]:
    """The facts that name a candidate, the same for every subject that has a name and maybe a class: `name`,
    `class_name`, `symbol` (what a finding shows: `Class.name`, unless the subject says otherwise) and the
    `words` and `class_words` that rules and categories match."""
    return {
        "name": name,
        "class_name": class_name,
        "symbol": symbol if symbol is not None else f"{class_name}.{name}" if class_name else name,
        "words": split_words(name) | split_words(class_name),
        "class_words": frozenset(split_words(class_name)),
    }


def purpose_of_path(text: str) -> str:
    """What a written path is for: upload, log, tmp, data or other (the first purpose of the vocabulary's
    `paths.purposes` with a pattern found in the text)."""
    for purpose, pattern in vocabulary().group_matchers("paths.purposes"):
        if pattern.search(text or ""):
            return purpose
    return "other"


# Text that is not code: a comment or a string's words cannot make a write look like one.
_PROSE = frozenset({"comment", "string_fragment", "string_content", "regex_pattern"})
_STRINGS = frozenset({"string", "template_string"})
_CALL_TYPES = frozenset({"call_expression", "call"})
_MEMBER_TYPES = {"member_expression": "property", "attribute": "attribute"}


def write_tags(parsed: ParsedFile, lines: Iterable[int]) -> frozenset[str]:
    """What the writes on these lines put into the state: counters, live handles, callbacks, timer handles.

    The vocabulary's `writes.stored` patterns are searched in each line's code, with comments and the
    contents of strings and regular expressions blanked, so `// the worker` or `'promise'` tag nothing."""
    code = [code_line(parsed, line) for line in lines]
    return frozenset(tag for tag, pattern in vocabulary().group_matchers("writes.stored")
                     if any(pattern.search(text) for text in code))


def code_line(parsed: ParsedFile, line: int) -> str:
    """Source line `line` (1-based), stripped, with comments and string and regex contents blanked."""
    if not 1 <= line <= len(parsed.lines):
        return ""
    raw = bytearray(parsed.lines[line - 1])
    for start, end in _prose_spans(parsed).get(line - 1, ()):
        raw[start:end] = b" " * (len(raw[start:end]))
    return raw.decode("utf-8", "replace").strip()


_SPANS: list = [None, None]  # (parsed file, row -> byte spans of prose) of the file being analysed


def _prose_spans(parsed: ParsedFile) -> dict[int, list[tuple[int, int]]]:
    if _SPANS[0] is not parsed:
        spans: dict[int, list[tuple[int, int]]] = {}
        for node in nodes_of_types(parsed.root, parsed.language, _PROSE):
            (first, start), (last, end) = points_of(node)
            for row in range(first, min(last, len(parsed.lines) - 1) + 1):
                spans.setdefault(row, []).append((start if row == first else 0,
                                                  end if row == last else len(parsed.lines[row])))
        _SPANS[:] = [parsed, spans]
    return _SPANS[1]


def called_names(node: SyntaxNode | None, members_only: bool = False) -> set[str]:
    """The last names of the callees of the calls in a subtree: `this.redis.hset(...)` -> hset, `unlink(p)` ->
    unlink. With `members_only`, only methods called on an object count (not `unlink(p)`)."""
    names = set()
    for call in descendants(node, _CALL_TYPES) if node is not None else ():
        callee = field(call, "function")
        if callee is not None and callee.type in _MEMBER_TYPES:
            names.add(node_text(field(callee, _MEMBER_TYPES[callee.type])))
        elif callee is not None and callee.type == "identifier" and not members_only:
            names.add(node_text(callee))
    return names


def writes_through_client(body: SyntaxNode | None, grammar: str) -> bool:
    """Does a class body write through a store client (Redis commands, SQL writes, ORM saves)?

    Judged from its calls (`clients.call_methods`, `clients.write_methods` of the vocabulary) and its
    string literals (`clients.write_strings`), never from comments or docstrings."""
    words = vocabulary()
    called = called_names(body, members_only=True)
    if not called & words.names("clients.call_methods"):
        return False
    if called & words.names("clients.write_methods"):
        return True
    sql = words.matcher("clients.write_strings")
    # A string that is a statement of its own is a docstring or a directive: prose, not a query.
    return any(sql.search(node_text(string)) and getattr(next(ancestors(string), None), "type", "") != "expression_statement"
               for string in nodes_of_types(body, grammar, _STRINGS))
