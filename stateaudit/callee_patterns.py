"""Rule patterns that only name a callee, answered from one shared pattern per grammar.

Most rules find a call by its callee's name: `(call function: (identifier) @fn (#eq? @fn "open")) @target`.
Each such pattern is a state tree-sitter's query cursor carries through every call of every file, and its
predicate is a Python call per call node: on saleor, 15 call patterns cost 2.2 s over 1,500 files where
one pattern listing every call costs 0.7 to 1.0 s, and they are a third of the Python query's compile time.

So the joined query (syntax.run_queries) leaves those patterns out and lists every call whose callee is a
plain name or a member's name once, with one shared pattern; each call is then given to the rules whose
patterns accept its callee's name, by a dictionary look-up for literal names and a regex for the others.
Each rule gets the same matches, in the same order, as its own query gives (tests/test_one_pass.py).

Only patterns whose meaning is certain are taken: `@target` on the call, its callee a name or a member's
name, and `#eq?` or `#match?` predicates, at least one of them on the callee's capture. Besides the callee,
such a pattern may constrain the member's object (`object: (identifier) @obj`) and the call's arguments
(`arguments: (arguments) @args`), by node type and by predicates on their captures: patterns like
`queue.add(..., { repeat })` or `sqlite3.connect()` would otherwise evaluate their predicates in Python at
every member call of every file (on medusa, six such patterns cost the query more than the shared pattern
listing every call). Anything else stays in the query as written.
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
    member_object: str  # the member expression's field holding its object
    arguments: str  # the call's field holding its arguments...
    arguments_type: str  # ...of this node type


_SHAPES = {
    "python": CallShape("call", "identifier", "attribute", "attribute", "identifier", "object", "arguments",
                        "argument_list"),
    "typescript": CallShape("call_expression", "identifier", "member_expression", "property", "property_identifier",
                            "object", "arguments", "arguments"),
    "javascript": CallShape("call_expression", "identifier", "member_expression", "property", "property_identifier",
                            "object", "arguments", "arguments"),
}
_SHAPES["tsx"] = _SHAPES["typescript"]


@dataclass(frozen=True)
class BesideCallee:
    """A node a callee pattern also constrains: the member's object, or the call's arguments. It must be of
    `type` (`_`: any named node) and hold `tests`; `capture` names it in the match, when the pattern does."""

    type: str
    capture: str | None
    tests: tuple[tuple[str, object], ...]

    def add(self, node, captures: dict) -> bool:
        """Does `node` fit? If so, put it in the match's `captures` under the pattern's name for it."""
        if node is None or not (node.is_named if self.type == "_" else node.type == self.type):
            return False
        if self.tests and not _holds(self.tests, node.text or b""):
            return False
        if self.capture is not None:
            captures[self.capture] = [node]
        return True


@dataclass(frozen=True)
class CalleePattern:
    """One rule pattern answered from the shared pattern: which query it belongs to, the callee forms it
    accepts ("name", "member"), the capture it puts the callee in, and the callee names it accepts: a set
    of literal names, or a list of (kind, value) tests, all of which must hold. `receiver` constrains the
    member's object (in the member form only: a plain name has none, and py-tree-sitter holds a predicate on
    a capture a match lacks to be true), `arguments` the call's arguments."""

    owner: int
    forms: frozenset[str]
    capture: str
    names: frozenset[bytes] | None
    tests: tuple[tuple[str, object], ...]
    receiver: BesideCallee | None = None
    arguments: BesideCallee | None = None


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
    items = top_level_items(text) if shape is not None else None
    if items is None:
        return SplitQuery(text, ())
    from .syntax import node_types  # the grammar's own types: a supertype in a pattern stands for several

    kept, callees = [], []
    for start, end in items:
        found = _callee_pattern(shape, owner, text[start:end], node_types(grammar))
        if found is None:
            kept.append(text[start:end])
        else:
            callees.append(found)
    return SplitQuery("\n".join(kept), tuple(callees)) if callees else SplitQuery(text, ())


class CalleeDispatch:
    """Hands each match of the shared pattern to the rule patterns that accept its callee."""

    def __init__(self, grammar: str, patterns: list[CalleePattern]) -> None:
        shape = _SHAPES[grammar]
        self.member_type = shape.member
        self.object_field, self.arguments_field = shape.member_object, shape.arguments
        self.patterns = patterns
        self.by_name: dict[bytes, list[int]] = {}  # literal name -> the patterns naming it, in order
        self.tested: list[int] = []  # the patterns with a regex, in order
        self.known: dict[bytes, tuple[int, ...]] = {}  # callee text -> the patterns accepting it, in order
        self.late = any(pattern.arguments is not None for pattern in patterns)
        for order, pattern in enumerate(patterns):
            if pattern.names is None:
                self.tested.append(order)
            else:
                for name in pattern.names:
                    self.by_name.setdefault(name, []).append(order)

    def accepting(self, text: bytes) -> tuple[int, ...]:
        """The patterns that accept a callee text, in the order their matches finish; remembered per text,
        for callee names recur in file after file (`get`, `filter`, `push`) and each regex test decodes and
        searches.

        A pattern's match finishes at its last node: the callee, or the call's arguments for a pattern that
        tests them. Nothing lies between the two but a call's type arguments, so those patterns come after
        the others, and each group in pattern order, as tree-sitter gives matches finishing together."""
        orders = self.known.get(text)
        if orders is None:
            found = self.by_name.get(text, [])
            tested = [o for o in self.tested if _holds(self.patterns[o].tests, text)]
            orders = tuple(sorted([*found, *tested], key=self._finishing) if tested or self.late else found)
            if len(self.known) >= KNOWN_CALLEES:
                self.known.clear()  # a bound on memory: the names of one huge generated file need not stay
            self.known[text] = orders
        return orders

    def _finishing(self, order: int) -> tuple[bool, int]:
        return self.patterns[order].arguments is not None, order

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
            if form not in pattern.forms:
                continue
            match = {"target": [call], pattern.capture: [callee]}
            if pattern.receiver is not None and form == "member" and \
                    not pattern.receiver.add(parent.child_by_field_name(self.object_field), match):
                continue
            if pattern.arguments is not None and \
                    not pattern.arguments.add(call.child_by_field_name(self.arguments_field), match):
                continue
            results[pattern.owner].append(match)


KNOWN_CALLEES = 50_000  # callee texts whose accepting patterns a process remembers at most


def _holds(tests: tuple[tuple[str, object], ...], text: bytes) -> bool:
    """Do the predicates hold, as py-tree-sitter evaluates them: `#eq?` on the bytes, `#match?` with
    Python's re.search on the text up to its first NUL byte (it passes the text on as a C string) decoded as
    UTF-8 (a text that does not decode does not match)."""
    for kind, value in tests:
        if kind == "eq":
            if text != value:
                return False
        else:
            try:
                decoded = text.split(b"\x00", 1)[0].decode("utf-8")
            except UnicodeDecodeError:
                return False
            if value.search(decoded) is None:
                return False
    return True


QUERY_CAPTURE = r"@([A-Za-z_][\w.-]*)"  # a capture in a query's text; group 1 its name
QUERY_STRING = r'"((?:[^"\\]|\\.)*)"'  # a string in a query's text; group 1 its escaped value
_PREDICATE = re.compile(r"\(\s*#(eq|match)\?\s+" + QUERY_CAPTURE + r"\s+" + QUERY_STRING + r"\s*\)")
_ANY_PREDICATE = re.compile(r"\(\s*#")
_LITERALS = re.compile(r"\^(?:\(([\w|]+)\)|(\w+))\$")  # ^name$ or ^(a|b|c)$: a set of names
_NAME = r"[A-Za-z_][\w.-]*"  # a capture's name (QUERY_CAPTURE's group)


@cache
def _structure(shape: CallShape) -> list[tuple[frozenset[str], re.Pattern[str]]]:
    """The structures a callee pattern may have once its predicates are taken out, with the callee forms
    each accepts. Groups: `callee` (and `callee2`, in an alternation of both forms), the member's object's
    type `otype` and capture `ocapture`, the call's `arguments` and their capture `acapture`."""
    name = rf"\(\s*{shape.name}\s*\)\s*@(?P<{{0}}>{_NAME})"
    receiver = rf"(?:{shape.member_object}:\s*\(\s*(?P<otype>_|\w+)\s*\)\s*(?:@(?P<ocapture>{_NAME})\s*)?)?"
    member = (rf"\(\s*{shape.member}\s+{receiver}{shape.member_field}:\s*\(\s*{shape.member_name}\s*\)\s*"
              rf"@(?P<{{0}}>{_NAME})\s*\)")
    arguments = (rf"(?P<arguments>{shape.arguments}:\s*\(\s*{shape.arguments_type}\s*\)\s*"
                 rf"(?:@(?P<acapture>{_NAME})\s*)?)?")
    either = frozenset({"name", "member"})
    functions = [
        (frozenset({"name"}), name.format("callee")),
        (frozenset({"member"}), member.format("callee")),
        (either, rf"\[\s*{name.format('callee')}\s*{member.format('callee2')}\s*\]"),
        (either, rf"\[\s*{member.format('callee')}\s*{name.format('callee2')}\s*\]"),
    ]
    return [(forms, re.compile(rf"\s*{function}\s*{arguments}")) for forms, function in functions]


@cache
def _head(shape: CallShape) -> re.Pattern[str]:
    return re.compile(rf"\(\s*{shape.call}\s+function:\s*")


_TAIL = re.compile(r"\)\s*@target\s*$")


def _callee_pattern(shape: CallShape, owner: int, item: str, node_types: frozenset[str]) -> CalleePattern | None:
    """The pattern `item` as a callee pattern, or None when it is not one. `node_types`: the grammar's node
    types but its supertypes, which a node's own type never is (`(expression)` matches many types)."""
    head = _head(shape).match(item)
    tail = _TAIL.search(item)
    if head is None or tail is None:
        return None
    found = _predicates(item[head.end():tail.start()])
    if found is None:
        return None
    structure, predicates = found
    for forms, regex in _structure(shape):
        matched = regex.fullmatch(structure)
        if matched is not None:
            receiver_type = matched.groupdict().get("otype")
            if receiver_type not in (None, "_") and receiver_type not in node_types:
                return None
            return _taken(shape, owner, forms, matched, predicates)
    return None


def _taken(shape: CallShape, owner: int, forms: frozenset[str], matched: re.Match[str],
           predicates: list[tuple[str, tuple[str, object]]]) -> CalleePattern | None:
    """The callee pattern a structure and its predicates make, or None when its captures are not all
    distinct (`@target` included), or a predicate tests anything but them, or none tests the callee."""
    groups = matched.groupdict()  # the name form has no object's groups
    callee, receiver, arguments = groups["callee"], groups.get("ocapture"), groups["acapture"]
    if groups.get("callee2") not in (None, callee):
        return None
    named = [name for name in (callee, receiver, arguments) if name is not None]
    if len(set(named)) != len(named) or "target" in named or any(capture not in named for capture, _ in predicates):
        return None  # a capture named twice (or `@target` below the call) lists several nodes
    tests = tuple(test for capture, test in predicates if capture == callee)
    if not tests:
        return None  # a pattern that names no callee would be given every call

    def beside(node_type: str | None, capture: str | None) -> BesideCallee | None:
        if node_type is None:
            return None
        return BesideCallee(node_type, capture, tuple(test for name, test in predicates if name == capture))

    return CalleePattern(owner, forms, callee, _literal_names(tests), tests, beside(groups.get("otype"), receiver),
                         beside(shape.arguments_type if groups["arguments"] else None, arguments))


def _predicates(body: str) -> tuple[str, list[tuple[str, tuple[str, object]]]] | None:
    """The body with its predicates blanked out, and each predicate's capture and test; None when a
    predicate is not a plain `#eq?` or `#match?` with one string. Predicates belong to the whole pattern
    wherever they are written, so taking them out of an alternation's branch changes nothing."""
    predicates: list[tuple[str, tuple[str, object]]] = []
    for found in _PREDICATE.finditer(body):
        value = unescape_query_string(found.group(3))
        if value is None:
            return None
        test = ("eq", value.encode()) if found.group(1) == "eq" else ("match", re.compile(value))
        predicates.append((found.group(2), test))
    structure = _PREDICATE.sub(" ", body)
    if _ANY_PREDICATE.search(structure):
        return None  # a negated or other predicate: left to tree-sitter
    return structure, predicates


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


def top_level_items(text: str) -> list[tuple[int, int]] | None:
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
