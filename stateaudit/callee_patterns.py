"""Rule patterns that only name a callee, answered from one shared pattern per grammar.

Most rules find a call by its callee's name: `(call function: (identifier) @fn (#eq? @fn "open")) @target`.
Each such pattern is a state tree-sitter's query cursor carries through every call of every file, and its
predicate is a Python call per call node: on saleor, 15 call patterns cost 2.2 s over 1,500 files where
one pattern listing every call costs 0.7 to 1.0 s, and they are a third of the Python query's compile time.

So the joined query (syntax.run_queries) leaves those patterns out and lists every call whose callee is a
plain name or a member's name once, with one shared pattern; each call is then given to the rules whose
patterns accept its callee's name, by a dictionary look-up for literal names and a regex for the others.
Each rule gets the same matches, in the same order, as its own query gives (tests/test_one_pass.py).

Only patterns whose meaning is certain are taken: the call with its callee as the pattern's only
structure, `@target` on the call, and `#eq?` or `#match?` predicates on the callee's capture alone.
Anything else stays in the query as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

SHARED_CALL = "stateaudit.call"  # the shared pattern's captures; no rule may use them
SHARED_CALLEE = "stateaudit.callee"


@dataclass(frozen=True)
class CallShape:
    """How a grammar spells a call of a name (`f()`) or of a member (`x.f()`)."""

    call: str
    name: str  # the callee as a plain name
    member: str  # the callee as a member expression...
    member_field: str  # ...whose field holding the member's name is this,
    member_name: str  # of this node type


_SHAPES = {
    "python": CallShape("call", "identifier", "attribute", "attribute", "identifier"),
    "typescript": CallShape("call_expression", "identifier", "member_expression", "property", "property_identifier"),
    "javascript": CallShape("call_expression", "identifier", "member_expression", "property", "property_identifier"),
}
_SHAPES["tsx"] = _SHAPES["typescript"]


@dataclass(frozen=True)
class CalleePattern:
    """One rule pattern answered from the shared pattern: which query it belongs to, the callee forms it
    accepts ("name", "member"), the capture it puts the callee in, and the callee names it accepts: a set
    of literal names, or a list of (kind, value) tests, all of which must hold."""

    owner: int
    forms: frozenset[str]
    capture: str
    names: frozenset[bytes] | None
    tests: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class SplitQuery:
    """A rule query's text with its callee patterns taken out, and those patterns."""

    text: str
    callees: tuple[CalleePattern, ...]


def shared_pattern(grammar: str) -> str:
    """The one pattern listing every call whose callee is a name or a member's name."""
    shape = _SHAPES[grammar]
    return (f"({shape.call} function: [({shape.name}) @{SHARED_CALLEE} "
            f"({shape.member} {shape.member_field}: ({shape.member_name}) @{SHARED_CALLEE})]) @{SHARED_CALL}")


def split_query(grammar: str, owner: int, text: str) -> SplitQuery:
    """Take the callee patterns out of one rule query; a text this cannot read is left whole."""
    shape = _SHAPES.get(grammar)
    items = _top_level_items(text) if shape is not None else None
    if items is None:
        return SplitQuery(text, ())
    kept, callees = [], []
    for start, end in items:
        found = _callee_pattern(shape, owner, text[start:end])
        if found is None:
            kept.append(text[start:end])
        else:
            callees.append(found)
    return SplitQuery("\n".join(kept), tuple(callees)) if callees else SplitQuery(text, ())


class CalleeDispatch:
    """Hands each match of the shared pattern to the rule patterns that accept its callee."""

    def __init__(self, grammar: str, patterns: list[CalleePattern]) -> None:
        self.member_type = _SHAPES[grammar].member
        self.patterns = patterns
        self.by_name: dict[bytes, list[int]] = {}  # literal name -> the patterns naming it, in order
        self.tested: list[int] = []  # the patterns with a regex, in order
        self.known: dict[bytes, tuple[int, ...]] = {}  # callee text -> the patterns accepting it, in order
        for order, pattern in enumerate(patterns):
            if pattern.names is None:
                self.tested.append(order)
            else:
                for name in pattern.names:
                    self.by_name.setdefault(name, []).append(order)

    def accepting(self, text: bytes) -> tuple[int, ...]:
        """The patterns that accept a callee text, in order; remembered per text, for callee names recur in
        file after file (`get`, `filter`, `push`) and each regex test decodes and searches."""
        orders = self.known.get(text)
        if orders is None:
            found = self.by_name.get(text, [])
            tested = [o for o in self.tested if _holds(self.patterns[o].tests, text)]
            orders = tuple(sorted([*found, *tested]) if tested else found)
            if len(self.known) >= KNOWN_CALLEES:
                self.known.clear()  # a bound on memory: the names of one huge generated file need not stay
            self.known[text] = orders
        return orders

    def dispatch(self, captures: dict, results: list[list[dict]]) -> None:
        callee = captures[SHARED_CALLEE][0]
        orders = self.accepting(callee.text or b"")
        if not orders:
            return
        parent = callee.parent
        form = "member" if parent is not None and parent.type == self.member_type else "name"
        call = captures[SHARED_CALL][0]
        for order in orders:
            pattern = self.patterns[order]
            if form in pattern.forms:
                results[pattern.owner].append({"target": [call], pattern.capture: [callee]})


KNOWN_CALLEES = 50_000  # callee texts whose accepting patterns a process remembers at most


def _holds(tests: tuple[tuple[str, object], ...], text: bytes) -> bool:
    """Do the predicates hold, as py-tree-sitter evaluates them: `#eq?` on the bytes, `#match?` with
    Python's re.search on the text decoded as UTF-8 (a text that does not decode does not match)."""
    for kind, value in tests:
        if kind == "eq":
            if text != value:
                return False
        else:
            try:
                decoded = text.decode("utf-8")
            except UnicodeDecodeError:
                return False
            if value.search(decoded) is None:
                return False
    return True


QUERY_CAPTURE = r"@([A-Za-z_][\w.-]*)"  # a capture in a query's text; group 1 its name
QUERY_STRING = r'"((?:[^"\\]|\\.)*)"'  # a string in a query's text; group 1 its escaped value
_PREDICATE = re.compile(r"\(\s*#(eq|match)\?\s+" + QUERY_CAPTURE + r"\s+" + QUERY_STRING + r"\s*\)\s*")
_LITERALS = re.compile(r"\^(?:\(([\w|]+)\)|(\w+))\$")  # ^name$ or ^(a|b|c)$: a set of names


@cache
def _forms(shape: CallShape) -> list[tuple[frozenset[str], re.Pattern[str]]]:
    name = rf"\(\s*{shape.name}\s*\)\s*{QUERY_CAPTURE}"
    member = rf"\(\s*{shape.member}\s+{shape.member_field}:\s*\(\s*{shape.member_name}\s*\)\s*{QUERY_CAPTURE}\s*\)"
    either = frozenset({"name", "member"})
    return [
        (frozenset({"name"}), re.compile(name)),
        (frozenset({"member"}), re.compile(member)),
        (either, re.compile(rf"\[\s*{name}\s*{member}\s*\]")),
        (either, re.compile(rf"\[\s*{member}\s*{name}\s*\]")),
    ]


@cache
def _head(shape: CallShape) -> re.Pattern[str]:
    return re.compile(rf"\(\s*{shape.call}\s+function:\s*")


_TAIL = re.compile(r"\)\s*@target\s*$")


def _callee_pattern(shape: CallShape, owner: int, item: str) -> CalleePattern | None:
    head = _head(shape).match(item)
    tail = _TAIL.search(item)
    if head is None or tail is None:
        return None
    body = item[head.end():tail.start()]
    for forms, regex in _forms(shape):
        matched = regex.match(body)
        if matched is None:
            continue
        captures = set(matched.groups())
        if len(captures) != 1:
            return None
        capture = captures.pop()
        tests = _predicates(body[matched.end():].strip(), capture)
        if not tests:
            return None
        return CalleePattern(owner, forms, capture, _literal_names(tests), tests)
    return None


def _predicates(text: str, capture: str) -> tuple[tuple[str, object], ...]:
    """The `#eq?`/`#match?` tests of the pattern's remaining text, or () when it holds anything else."""
    tests = []
    position = 0
    while position < len(text):
        found = _PREDICATE.match(text, position)
        if found is None or found.group(2) != capture:
            return ()
        value = unescape_query_string(found.group(3))
        if value is None:
            return ()
        tests.append(("eq", value.encode()) if found.group(1) == "eq" else ("match", re.compile(value)))
        position = found.end()
    return tuple(tests)


def unescape_query_string(text: str) -> str | None:
    """A query string's value; None for escapes other than `\\\\` and `\\"` (left to tree-sitter)."""
    out, escaped = [], False
    for char in text:
        if escaped:
            if char not in '\\"':
                return None
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return None if escaped else "".join(out)


def _literal_names(tests: tuple[tuple[str, object], ...]) -> frozenset[bytes] | None:
    """The names all tests accept when each is a literal (`#eq?`, `#match? "^(a|b)$"`); None otherwise."""
    names: frozenset[bytes] | None = None
    for kind, value in tests:
        if kind == "eq":
            accepted = frozenset({value})
        else:
            literal = _LITERALS.fullmatch(value.pattern)
            words = (literal.group(1) or literal.group(2)).split("|") if literal is not None else [""]
            if "" in words:
                return None
            accepted = frozenset(word.encode() for word in words)
        names = accepted if names is None else names & accepted
    return names


def _top_level_items(text: str) -> list[tuple[int, int]] | None:
    """Where each top-level pattern of a query lies (comments left out), or None when the text is not
    plainly balanced: such a query is left for tree-sitter to read whole."""
    items: list[tuple[int, int]] = []
    depth, start, position, in_string = 0, None, 0, False
    while position < len(text):
        char = text[position]
        if in_string:
            if char == "\\":
                position += 1
            elif char == '"':
                in_string = False
        elif char == ";":
            newline = text.find("\n", position)
            if depth == 0 and start is not None:
                items.append((start, position))
                start = None
            position = len(text) if newline < 0 else newline
            continue
        elif char == '"':
            in_string = True
            if depth == 0 and start is None:
                start = position
        elif char in "([":
            if depth == 0:
                if start is not None:
                    items.append((start, position))
                start = position
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and start is None and not char.isspace():
            start = position  # a top-level token on its own (`_`): kept with what follows
        position += 1
    if depth != 0 or in_string:
        return None
    if start is not None:
        items.append((start, len(text)))
    return items
