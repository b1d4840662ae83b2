"""The one door to tree-sitter: languages, parsing, queries, node helpers and coordinates.

Every other module sees nodes only through the helpers here, so a change in
py-tree-sitter's API (it changed at 0.25) touches this file alone.
"""

from __future__ import annotations

import hashlib
import signal
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING

import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query, QueryCursor, QueryError

from .model import Location

if TYPE_CHECKING:
    from .callee_patterns import CalleeDispatch

LANGUAGES: dict[str, Language] = {
    "typescript": Language(tree_sitter_typescript.language_typescript()),
    "tsx": Language(tree_sitter_typescript.language_tsx()),
    "javascript": Language(tree_sitter_javascript.language()),
    "python": Language(tree_sitter_python.language()),
}

EXTENSIONS: dict[str, str] = {
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".py": "python",
}

# Rules are written per grammar family; the TSX grammar shares TypeScript's node names.
QUERY_LANGUAGE = {"typescript": "typescript", "tsx": "typescript", "javascript": "javascript", "python": "python"}

_PARSERS = {name: Parser(lang) for name, lang in LANGUAGES.items()}

QueryCompileError = QueryError
SyntaxNode = Node

FUNCTION_TYPES = frozenset({
    # TypeScript / JavaScript
    "function_declaration", "function_expression", "arrow_function", "method_definition",
    "generator_function_declaration", "generator_function", "function",
    # Python
    "function_definition", "lambda",
})


@dataclass
class ParsedFile:
    """A parsed source file; holds the tree only while its matches are computed."""

    rel: str
    language: str
    source: bytes
    root: Node
    lines: list[bytes] = dc_field(default_factory=list)
    has_errors: bool = False
    ignored_lines: tuple[int, ...] = ()  # 1-based lines blanked so the rest of a broken file parses

    def text(self, node: Node | None) -> str:
        return node_text(node)

    def location(self, node: Node) -> Location:
        return to_location(node, self.rel, self.lines)

    def line_text(self, line: int) -> str:
        """The source line (1-based), decoded and stripped."""
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1].decode("utf-8", "replace").strip()
        return ""


MAX_RECOVERY_PASSES = 8


def parse_source(source: bytes, language: str, rel: str = "<memory>", recover: bool = True) -> ParsedFile:
    """Parse bytes; with `recover`, a file with syntax errors gets its broken lines blanked (see recover_tree).

    `lines` always holds the file as written, so snippets and columns describe the real code; byte offsets
    are the same in both texts because blanking replaces bytes with spaces one for one.
    """
    parser = _PARSERS[language]
    tree = parser.parse(source)
    has_errors = tree.root_node.has_error
    text, ignored = source, ()
    if has_errors and recover:
        tree, text, ignored = recover_tree(parser, source, tree)
    return ParsedFile(rel, language, text, tree.root_node, source.split(b"\n"), has_errors, ignored)


def recover_tree(parser: Parser, source: bytes, tree) -> tuple[object, bytes, tuple[int, ...]]:
    """Blank the lines where parsing first goes wrong, one at a time, while that shrinks the broken part.

    tree-sitter recovers around errors, but one bad line at the top of a file (`class {{{ broken ( =>`)
    can swallow every statement after it into an ERROR node, hiding the state below it. Blanking that line
    (spaces, so offsets, lines and columns stay put) lets the rest parse as written. A blanked line is kept
    only when it lowers the error cost, so recovery never makes a tree worse; passes are capped.
    """
    starts = [0]
    newline = source.find(b"\n")
    while newline != -1:
        starts.append(newline + 1)
        newline = source.find(b"\n", newline + 1)
    text = bytearray(source)
    best, cost = tree, error_cost(tree.root_node)
    ignored: list[int] = []
    for _ in range(MAX_RECOVERY_PASSES):
        if cost == 0:
            break
        for row in _error_rows(best.root_node):
            candidate = _blank_row(text, starts, row)
            if candidate is None:
                continue
            reparsed = parser.parse(bytes(candidate))
            new_cost = error_cost(reparsed.root_node)
            if new_cost < cost:
                best, cost, text = reparsed, new_cost, candidate
                ignored.append(row + 1)
                break
        else:
            break
    return best, bytes(text), tuple(sorted(ignored))


def error_cost(root: Node) -> int:
    """Bytes inside outermost ERROR nodes plus one per MISSING node: how much of the file did not parse."""
    cost = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR":
            cost += max(1, node.end_byte - node.start_byte)
        elif node.is_missing:
            cost += 1
        else:
            stack.extend(c for c in node.children if c.has_error or c.is_missing)
    return cost


def _error_rows(root: Node) -> list[int]:
    """Candidate lines to blank: where the first innermost and the first outermost error start."""
    node, outermost = root, None
    while True:
        child = next((c for c in node.children if c.has_error or c.is_missing or c.type == "ERROR"), None)
        if child is None:
            break
        node = child
        if outermost is None and (node.type == "ERROR" or node.is_missing):
            outermost = node
    rows = [node.start_point[0]]
    if outermost is not None and outermost.start_point[0] not in rows:
        rows.append(outermost.start_point[0])
    return rows


def _blank_row(text: bytearray, starts: list[int], row: int) -> bytearray | None:
    """A copy of `text` with line `row` (0-based) turned into spaces; None when it is blank already."""
    if row >= len(starts):
        return None
    begin = starts[row]
    end = starts[row + 1] - 1 if row + 1 < len(starts) else len(text)
    if not text[begin:end].strip():
        return None
    copy = bytearray(text)
    copy[begin:end] = b" " * (end - begin) if not text[begin:end].endswith(b"\r") else b" " * (end - begin - 1) + b"\r"
    return copy


@cache
def _compiled(language: str, text: str) -> Query:
    """One compiled Query per (grammar, text) per process: compiling costs milliseconds per query."""
    return new_query(LANGUAGES[language], text)


def new_query(grammar: Language, text: str) -> Query:
    """The one place a tree_sitter.Query is built.

    py-tree-sitter compiles `#match?` regexes by calling Python's re from C and reports any exception
    there as "regular expression error": a Ctrl-C landing meanwhile became an invalid-rule error (exit 2)
    instead of an interrupt. SIGINT and SIGTERM are held back while compiling and delivered right after.
    """
    with _signals_deferred():
        return Query(grammar, text)


_DEFERRED = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _signals_deferred() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # Windows: nothing to defer with
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class CompiledQuery:
    """A validated query that pickles as its source text.

    tree_sitter.Query objects cannot be pickled, yet a RuleSet must reach worker processes; this handle
    crosses as (grammar, text) and is compiled again at most once per process, on first use.
    """

    __slots__ = ("language", "text")

    def __init__(self, language: str, text: str) -> None:
        self.language = language
        self.text = text

    @property
    def query(self) -> Query:
        return _compiled(self.language, self.text)

    def __reduce__(self):
        return (CompiledQuery, (self.language, self.text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompiledQuery) and (self.language, self.text) == (other.language, other.text)

    def __hash__(self) -> int:
        return hash((self.language, self.text))


_KNOWN_GOOD: set[str] = set()  # digests of queries known to compile with the installed grammars


def query_digest(language: str, text: str) -> str:
    """Names one query under one set of grammar versions (the caller keys by those versions)."""
    return hashlib.blake2b(f"{language}\0{text}".encode(), digest_size=16).hexdigest()


def trust_queries(digests: Iterable[str]) -> None:
    """Queries that compiled before with the same grammars: validated without compiling them again."""
    _KNOWN_GOOD.update(digests)


def known_good_queries() -> frozenset[str]:
    return frozenset(_KNOWN_GOOD)


def compile_query(language: str, text: str, *, check: bool = True) -> CompiledQuery:
    """Check that a query compiles for a grammar family (raises QueryError with tree-sitter's message).

    A query that compiled before (trust_queries) is compiled only when first used, so a scan that
    parses nothing, such as a rescan of an unchanged tree, does not pay for compiling every rule.
    With `check=False` the caller checks it later, with others, through check_together.
    """
    digest = query_digest(language, text)
    if check and digest not in _KNOWN_GOOD:
        _compiled(language, text)
        _KNOWN_GOOD.add(digest)
    return CompiledQuery(language, text)


_FEW_UNKNOWN = 3  # up to this many new queries are cheaper to compile alone than the whole joined query


def check_together(queries: list[CompiledQuery]) -> None:
    """Check that the queries of one grammar compile, as the joined query run_queries will run.

    Compiling costs about the same per pattern alone or joined, and a scan compiles the joined query
    anyway: checking each rule alone first doubled the cost of a cold start (TypeScript's 20 rule
    queries: 0.5 s alone, then 0.4 s joined, for each of the four grammars that run them). Raises
    QueryError when they do not compile; the caller compiles them one by one to name the culprit.
    """
    unknown = [q for q in queries if query_digest(q.language, q.text) not in _KNOWN_GOOD]
    if len(unknown) <= _FEW_UNKNOWN:
        for query in unknown:
            compile_query(query.language, query.text)
        return
    prepare_queries(queries)
    _KNOWN_GOOD.update(query_digest(q.language, q.text) for q in unknown)


def run_query(query: CompiledQuery, root: Node) -> list[dict[str, list[Node]]]:
    return [captures for _, captures in QueryCursor(query.query).matches(root)]


def run_queries(queries: list[CompiledQuery], root: Node) -> list[list[dict[str, list[Node]]]]:
    """Run several queries of one grammar in one pass over the tree; the matches of each, in its own order.

    Each query alone would walk the whole tree again; joined into one query, the tree is walked once.
    """
    return query_and_index(queries, root, queries[0].language)[0] if queries else []


def query_and_index(queries: list[CompiledQuery], root: Node, grammar: str,
                    source: bytes | None = None) -> tuple[list[list[dict[str, list[Node]]]], NodeIndex]:
    """The matches of each of several queries of one grammar, and the tree's NodeIndex, from one pass.

    Walking a tree costs a query run about as much as its matches do, so the index's single-node patterns
    ride along in the rules' joined query rather than walking the tree a second time; the rules' patterns
    that only name a callee are answered from one shared pattern (callee_patterns.py). With `source`, the
    text `root` was parsed from, a file that holds none of the words the rules' predicates test for is
    matched without the patterns that test them (literal_gates.py), which cannot match there. The rules'
    patterns rooted at the root node run apart, over the top level only (root_patterns.py).
    """
    if not queries:
        return [], NodeIndex(root, grammar)
    parts = tuple((q.language, q.text) for q in queries)
    joined = _joined(parts)
    if source is not None and joined.words and not any(word in source for word in joined.words):
        joined = _lean(parts)  # no pattern with a word can match here: the query without them
    results: list[list[dict[str, list[Node]]]] = [[] for _ in queries]
    owner, rules_end, callees = joined.owner, joined.rules_end, joined.callees

    def route(pattern: int, captures: dict[str, list[Node]]) -> None:
        if pattern < rules_end:
            results[owner[pattern]].append(captures)
        else:
            callees.dispatch(captures, results)

    index = NodeIndex(root, None)
    index.fill(QueryCursor(joined.query).matches(root), joined.kinds, joined.index_from, route)
    if joined.roots is not None:
        from .root_patterns import run_roots

        run_roots(joined.roots, joined.root_owner, root, results, queries)
    return results, index


def prepare_queries(queries: list[CompiledQuery], lean: bool = False) -> None:
    """Compile now the joined query run_queries will use for these queries; with `lean`, also the one
    query_and_index uses for files without the words of the rules' predicates, where it has one."""
    if queries:
        parts = tuple((q.language, q.text) for q in queries)
        joined = _joined(parts)
        if lean and joined.words:
            _lean(parts)


@dataclass(frozen=True)
class _JoinedQuery:
    query: Query
    owner: tuple[int, ...]  # pattern index -> index of the query it came from (rule patterns only)
    rules_end: int  # the rules' own patterns come first; then the shared callee pattern, if any
    callees: CalleeDispatch | None
    index_from: int  # the first of the index's patterns, which come last
    kinds: tuple[str, ...]  # the node type each index pattern lists, in pattern order
    text: str = ""  # the query's text
    gated: tuple[int, ...] = ()  # the rules' patterns that test a capture against words (literal_gates)
    words: tuple[bytes, ...] = ()  # a file with none of these can match none of the gated patterns
    roots: Query | None = None  # the rules' patterns rooted at the root node, run apart (root_patterns.py)
    root_owner: tuple[int, ...] = ()  # their pattern index -> index of the query each came from


@cache
def _joined(parts: tuple[tuple[str, str], ...]) -> _JoinedQuery:
    from .callee_patterns import CalleeDispatch, shared_pattern, split_query  # a scan that parses nothing needs none

    language = parts[0][0]
    kinds, index_text = _index_patterns(language)
    splits = [split_query(language, owner, text) for owner, (_, text) in enumerate(parts)]
    splits, roots, root_owner = _roots_apart(language, splits)
    callees = [pattern for split in splits for pattern in split.callees]
    shared = [shared_pattern(language)] if callees else []
    starts, offset = [], 0
    for split in splits:
        starts.append(offset)
        offset += len(split.text.encode()) + 1
    text = "\n".join([*(split.text for split in splits), *shared, index_text])
    query = new_query(LANGUAGES[language], text)
    index_from = query.pattern_count - len(kinds)
    rules_end = index_from - len(shared)
    owner = tuple(bisect_right(starts, query.start_byte_for_pattern(i)) - 1 for i in range(rules_end))
    gated, words = _gated_patterns(query, text, rules_end) if language in LEAN_QUERY_GRAMMARS else ((), ())
    return _JoinedQuery(query, owner, rules_end, CalleeDispatch(language, callees) if callees else None,
                        index_from, kinds, text, gated, words, roots, root_owner)


def _roots_apart(language: str, splits: list) -> tuple[list, Query | None, tuple[int, ...]]:
    """The rule queries' texts without their patterns rooted at the root node, the query of those, and the
    rule each of its patterns came from (root_patterns.py); all left in place when they do not compile
    one pattern per item."""
    from .root_patterns import split_roots

    kept, items, owners = [], [], []
    for owner, split in enumerate(splits):
        text, roots = split_roots(language, split.text)
        kept.append(replace(split, text=text))
        items.extend(roots)
        owners.extend([owner] * len(roots))
    if not items:
        return splits, None, ()
    query = new_query(LANGUAGES[language], "\n".join(items))
    if query.pattern_count != len(items):
        return splits, None, ()
    return kept, query, tuple(owners)


# The grammars whose files without the rules' words run a second, lean joined query. It costs a second
# compile per process (0.1 s for Python) and a search of each file for the words; on saleor the lean query
# ran 23 % fewer instructions over the 88 % of Python files it serves, and matching 2 to 3 % fewer (run R).
# For TypeScript the query would save as much (23 %, on 87 % of medusa's files), but the query and index are
# about 28 % of a TypeScript file's matching time, and compiling the family's three joined queries again
# costs 0.42 s per process and the search 0.2 s on medusa: more than a quarter of the query gives back there.
LEAN_QUERY_GRAMMARS = frozenset({"python"})


def _gated_patterns(query: Query, text: str, rules_end: int) -> tuple[tuple[int, ...], tuple[bytes, ...]]:
    """The rules' patterns with words (literal_gates.pattern_words), and the fewest words to search for."""
    from .literal_gates import fewest_words, pattern_words

    encoded = text.encode()
    captures = {query.capture_name(i): i for i in range(query.capture_count)}
    gated: list[int] = []
    words: set[bytes] = set()
    for pattern in range(rules_end):
        body = encoded[query.start_byte_for_pattern(pattern):query.end_byte_for_pattern(pattern)].decode()
        found = pattern_words(body, lambda name, p=pattern: _always_captured(query, p, captures.get(name)))
        if found:
            gated.append(pattern)
            words |= found
    return tuple(gated), fewest_words(words)


def _always_captured(query: Query, pattern: int, capture: int | None) -> bool:
    """Does every match of the pattern have the capture (tree-sitter's quantifier: one, or one or more)?"""
    if capture is None:
        return False
    try:
        return query.capture_quantifier(pattern, capture) in ("", "+")
    except SystemError:  # py-tree-sitter raises on a capture the pattern does not have
        return False


@cache
def _lean(parts: tuple[tuple[str, str], ...]) -> _JoinedQuery:
    """The joined query with its gated patterns disabled: compiled apart (disabling cannot be undone), its
    patterns keep their numbers, so the joined query's routing serves it unchanged."""
    joined = _joined(parts)
    query = new_query(LANGUAGES[parts[0][0]], joined.text)
    for pattern in joined.gated:
        query.disable_pattern(pattern)
    return replace(joined, query=query)


def top_level_matches(query: Query, root: Node):
    """The matches of patterns starting at `root` itself: the cursor goes down only as far as the states in
    progress need it, where patterns started at every node would take it through the whole tree."""
    cursor = QueryCursor(query)
    cursor.set_max_start_depth(0)
    return cursor.matches(root)


def matches_between(query: Query, root: Node, start: int, end: int):
    """The matches of a query in `root`'s tree that lie in the bytes from `start` to `end`, and maybe a few
    touching them."""
    cursor = QueryCursor(query)
    cursor.set_byte_range(start, end)
    return cursor.matches(root)


def pattern_at(query: CompiledQuery, node: Node) -> bool:
    """Does one of the query's patterns match with `node` as its outermost node?"""
    return bool(top_level_matches(query.query, node))


def pattern_below(query: CompiledQuery, node: Node) -> bool:
    """Does one of the query's patterns match somewhere strictly inside `node`?"""
    compiled = query.query
    return any(QueryCursor(compiled).matches(child) for child in node.children)


_BROWSER_USES = """
(member_expression object: (identifier) @object property: (property_identifier) @member)
(unary_expression argument: (identifier) @typeof_argument) @unary
"""
# Places that bind a name: a file that binds `window` itself (a parameter, a variable) is not using the global.
_BINDINGS = (
    "(variable_declarator name: (identifier) @bound)",
    "(formal_parameters (identifier) @bound)",
    "(required_parameter pattern: (identifier) @bound)",
    "(optional_parameter pattern: (identifier) @bound)",
    "(arrow_function parameter: (identifier) @bound)",
    "(catch_clause parameter: (identifier) @bound)",
    "(shorthand_property_identifier_pattern) @bound",
    "(function_declaration name: (identifier) @bound)",
    "(import_specifier name: (identifier) @bound)",
)


@cache
def _browser_queries(language: str) -> tuple[Query, Query]:
    """The uses query and a bindings query made of the binding patterns this grammar has."""
    grammar = LANGUAGES[language]
    bindings = []
    for pattern in _BINDINGS:
        try:
            new_query(grammar, pattern)
        except QueryError:
            continue  # e.g. required_parameter exists only in TypeScript
        bindings.append(pattern)
    return new_query(grammar, _BROWSER_USES), new_query(grammar, "\n".join(bindings))


def browser_global_uses(parsed: ParsedFile, globals_: frozenset[str], document_members: frozenset[str]) -> int:
    """How many times a script uses browser globals (`window.x`, `document.querySelector`).

    Zero when the script asks `typeof window` (or another of the globals): isomorphic code that
    checks where it runs is not browser-only. A global the file binds itself (`(window) => ...`,
    `const document = ...`) is its own name, not the browser's. Only for JavaScript-family grammars.
    """
    if parsed.language not in ("typescript", "tsx", "javascript") or \
            not _may_use_globals(parsed.source, globals_, document_members):
        return 0
    uses_query, bindings_query = _browser_queries(parsed.language)
    bound = {node_text(n) for _, c in QueryCursor(bindings_query).matches(parsed.root) for n in c.get("bound", ())}
    uses = 0
    for _, captures in QueryCursor(uses_query).matches(parsed.root):
        if "unary" in captures:
            if node_text(captures["unary"][0]).startswith("typeof") and \
                    node_text(captures["typeof_argument"][0]) in globals_:
                return 0
            continue
        name = node_text(captures["object"][0])
        if name in bound:
            continue
        if name in globals_ or (name == "document" and node_text(captures["member"][0]) in document_members):
            uses += 1
    return uses


def _may_use_globals(source: bytes, globals_: frozenset[str], document_members: frozenset[str]) -> bool:
    """Can the file use a browser global at all? Every use names one of them (or `document` and a DOM
    member) in the source text; most server files name none, and skip both queries."""
    if any(name.encode() in source for name in globals_):
        return True
    return b"document" in source and any(member.encode() in source for member in document_members)


@cache
def node_types(language: str) -> frozenset[str]:
    """The named node types a grammar produces (what `Node.type` can be; supertypes excluded)."""
    lang = LANGUAGES[language]
    # node_kind_is_supertype() answers True for every kind of an ABI-14 grammar; the tuple is reliable.
    supertypes = set(lang.supertypes)
    return frozenset(
        lang.node_kind_for_id(i) for i in range(lang.node_kind_count)
        if lang.node_kind_is_named(i) and lang.node_kind_is_visible(i) and i not in supertypes
    )


def sexp(root: Node) -> str:
    """An indented S-expression of the named nodes, with field names, as a query would spell them.

    Each line ends with a `;` comment (query syntax) giving the 1-based line and, for leaves, the text,
    so a rule author can copy lines straight into a query.
    """
    rows: list[list[str]] = []  # [code, comment]
    open_depths: list[int] = []  # depths of nodes whose ")" is still to be written
    stack: list[tuple[Node, int, str | None]] = [(root, 0, None)]  # explicit stack: trees nest deep
    while stack:
        node, depth, field_name = stack.pop()
        while open_depths and open_depths[-1] >= depth:  # the previous row ends every node at this depth or deeper
            open_depths.pop()
            rows[-1][0] += ")"
        comment = f"line {node.start_point[0] + 1}"
        if node.named_child_count == 0:
            text = node_text(node).replace("\n", " ")
            comment += f": {text[:60]}" + ("..." if len(text) > 60 else "")
        label = f"{field_name}: " if field_name else ""
        rows.append(["  " * depth + f"{label}({'MISSING ' if node.is_missing else ''}{node.type}", comment])
        open_depths.append(depth)
        children = [(c, depth + 1, node.field_name_for_child(i)) for i, c in enumerate(node.children) if c.is_named]
        stack.extend(reversed(children))
    rows[-1][0] += ")" * len(open_depths)
    width = min(max(len(code) for code, _ in rows), 48)  # deep trees would push comments off-screen
    return "\n".join(f"{code.ljust(width)}  ; {comment}" for code, comment in rows) + "\n"


def node_text(node: Node | None) -> str:
    if node is None:
        return ""
    text = node.text  # each read slices the source again: the hottest helper of fact extraction reads it once
    return "" if text is None else text.decode("utf-8", "replace")


def node_bytes(node: Node) -> bytes:
    """The node's source bytes, undecoded: for counting or grouping many nodes by their text, decoding
    only the distinct ones."""
    return node.text or b""


def texts_of(nodes: list[Node]) -> list[bytes]:
    """node_bytes of each node, in one loop: for counting the many nodes of a file by their text."""
    return [node.text or b"" for node in nodes]


def has_error(node: Node) -> bool:
    """Is there a syntax error (or a missing node) anywhere in the node's subtree?"""
    return node.has_error


def to_location(node: Node, path: str, lines: list[bytes]) -> Location:
    """1-based line/column in characters; tree-sitter gives 0-based rows and byte columns."""

    def col(row: int, byte_col: int) -> int:
        if row >= len(lines):
            return byte_col + 1
        return len(lines[row][:byte_col].decode("utf-8", "replace")) + 1

    (r0, c0), (r1, c1) = node.start_point, node.end_point
    return Location(path, r0 + 1, col(r0, c0), r1 + 1, col(r1, c1))


def points_of(node: Node) -> tuple[tuple[int, int], tuple[int, int]]:
    """(row, byte column) of the node's start and end, 0-based as tree-sitter gives them."""
    return tuple(node.start_point), tuple(node.end_point)


def bytes_of(node: Node) -> tuple[int, int]:
    """The node's start and end byte offsets: where it lies in the source, for looking nodes up by position."""
    return node.start_byte, node.end_byte


def line_of(node: Node) -> int:
    return node.start_point[0] + 1




# The node types fact extractors look up, for both grammar families; each grammar indexes those it has.
INDEXED_TYPES = frozenset({
    # TypeScript / JavaScript
    "identifier", "type_identifier", "shorthand_property_identifier_pattern", "member_expression",
    "import_specifier", "decorator", "variable_declarator", "assignment_expression",
    "augmented_assignment_expression", "public_field_definition", "call_expression", "new_expression", "pair",
    "return_statement", "arrow_function", "function_expression", "method_definition", "await_expression",
    "class_declaration", "class", "abstract_class_declaration", "subscript_expression",
    # Python
    "attribute", "call", "assignment", "class_definition", "function_definition", "global_statement",
    "import_statement", "import_from_statement", "while_statement", "augmented_assignment", "for_statement",
}) | FUNCTION_TYPES


class NodeIndex:
    """The nodes of the indexed types in one tree, found by one query run, in pre-order, by type.

    Fact extractors ask for "the calls in this function" or "the classes of this file" per candidate.
    Answering from this table costs a binary search per type instead of a Python walk of the subtree,
    and building it costs one query run in C instead of listing every node in Python.
    """

    __slots__ = ("root", "nodes", "starts", "positions", "of_type")

    def __init__(self, root: Node, grammar: str | None) -> None:
        """Index `root`'s tree by running the grammar's index query; with no grammar, empty until `fill`."""
        self.root = root  # keeps the tree alive while its nodes are looked up
        self.nodes: list[Node] = []
        self.positions: dict[str, list[int]] = {}  # per type: positions in `nodes`
        self.starts: dict[str, list[int]] = {}  # per type, once a subtree asks for it: start bytes, ascending
        self.of_type: dict[str, list[Node]] = {}  # per type, once the whole file is asked for it: its nodes
        if grammar is not None:
            query, kinds = _index_query(grammar)
            self.fill(QueryCursor(query).matches(root), kinds, 0, None)

    def fill(self, matches, kinds: tuple[str, ...], index_from: int, others) -> None:
        """Take the index's nodes from a query run's matches; a match of another pattern (below `index_from`)
        goes to `others(pattern, captures)`.

        One single-node pattern per type: a match is complete on the node it starts at, so the cursor
        hands them out in the order its depth-first walk enters the nodes (pre-order, ancestor first on a
        shared span), and the pattern's number names the type without asking the node.
        """
        nodes = self.nodes
        by_pattern: list[list[int]] = [[] for _ in kinds]
        for pattern, captures in matches:
            if pattern < index_from:
                others(pattern, captures)
                continue
            by_pattern[pattern - index_from].append(len(nodes))
            nodes.append(captures[INDEX_CAPTURE][0])
        self.positions.update((kind, found) for kind, found in zip(kinds, by_pattern, strict=True) if found)

    def _starts(self, kind: str) -> list[int]:
        starts = self.starts.get(kind)
        if starts is None:
            nodes = self.nodes
            starts = self.starts[kind] = [nodes[p].start_byte for p in self.positions[kind]]
        return starts

    def within(self, node: Node, types: frozenset[str]) -> list[Node]:
        """`node` and its descendants whose type is in `types`, in pre-order.

        A node starting strictly inside `node`'s bytes is a descendant (trees nest, so nothing else can
        start there): those come as one slice per type, and only the nodes starting on an edge are looked at.
        """
        if node == self.root:  # the whole file: every indexed node of those types, no bounds to check
            if len(types) == 1:  # asked again and again (every name of the file): listed once, copied
                (kind,) = types
                if kind not in self.of_type:
                    self.of_type[kind] = [self.nodes[p] for p in self.positions.get(kind, ())]
                return list(self.of_type[kind])
            found = [p for kind in types for p in self.positions.get(kind, ())]
            if len(types) > 1:
                found.sort()
            return [self.nodes[p] for p in found]
        start, end = node.start_byte, node.end_byte
        found = []
        for kind in types:
            positions = self.positions.get(kind)
            if not positions:
                continue
            starts = self._starts(kind)
            first, last = bisect_left(starts, start), bisect_right(starts, end)
            if start < end:
                inner_first = bisect_right(starts, start, first, last)
                inner_last = bisect_left(starts, end, inner_first, last)
            else:  # a node of no width: whatever starts there is on its edge
                inner_first = inner_last = last
            self._on_edge(node, start, end, positions[first:inner_first], found)
            found.extend(positions[inner_first:inner_last])
            self._on_edge(node, start, end, positions[inner_last:last], found)
        if len(types) > 1:
            found.sort()
        return [self.nodes[p] for p in found]

    def _on_edge(self, node: Node, start: int, end: int, positions: list[int], found: list[int]) -> None:
        """Keep those of the nodes starting where `node` (`start` to `end`) starts or ends that lie inside it."""
        for position in positions:
            candidate = self.nodes[position]
            if candidate.end_byte <= end and _inside(candidate, node, start, end):
                found.append(position)


def _inside(candidate: Node, node: Node, start: int, end: int) -> bool:
    """Is a node lying within `node`'s bytes its descendant (or itself)? Only ties at the edges need a look up."""
    if candidate.start_byte > start and candidate.end_byte < end:
        return True  # strictly inside: siblings never overlap, so only a descendant lies there
    return candidate == node or any(a == node for a in ancestors(candidate))


INDEX_CAPTURE = "stateaudit.indexed"  # the capture of the index's patterns; no rule may use it


@cache
def _index_patterns(grammar: str) -> tuple[tuple[str, ...], str]:
    """The indexed types a grammar has, sorted, and the query text listing them: one pattern per type."""
    kinds = tuple(sorted(INDEXED_TYPES & node_types(grammar)))
    if not kinds:
        raise ValueError(f"the {grammar} grammar has none of the indexed node types")
    return kinds, " ".join(f"({kind}) @{INDEX_CAPTURE}" for kind in kinds)


@cache
def _index_query(grammar: str) -> tuple[Query, tuple[str, ...]]:
    """The query listing the indexed nodes of a grammar's trees alone (for a file no rule query runs on)."""
    kinds, text = _index_patterns(grammar)
    return new_query(LANGUAGES[grammar], text), kinds


def prepare_index(grammar: str) -> None:
    """Compile now the query that indexes this grammar's trees (before workers fork, so they share it)."""
    _index_query(grammar)


_INDEX: list[NodeIndex | None] = [None]  # the index of the file being analysed


def index_tree(parsed: ParsedFile) -> NodeIndex:
    """Index the tree of the file about to be analysed; `descendants` answers from it until the next file.

    A tree already indexed (`use_index`, after query_and_index) keeps its index."""
    current = _INDEX[0]
    if current is not None and current.root == parsed.root:
        return current
    index = _INDEX[0] = NodeIndex(parsed.root, parsed.language)
    return index


def use_index(index: NodeIndex) -> None:
    """Make an index built elsewhere (query_and_index) the current file's."""
    _INDEX[0] = index


def release_index() -> None:
    """Drop the current file's index (and with it, its tree)."""
    _INDEX[0] = None


def descendants(node: Node, types: frozenset[str] | str) -> list[Node]:
    """`node` and the nodes below it whose type is one of `types`, in pre-order: `walk` filtered by type.

    Every type must be indexed (INDEXED_TYPES): asking for another is our bug, and raises.
    """
    kinds = frozenset((types,)) if isinstance(types, str) else frozenset(types)
    unknown = kinds - INDEXED_TYPES
    if unknown:
        raise ValueError(f"node types not indexed: {sorted(unknown)}")
    index = _INDEX[0]
    if index is not None and (node == index.root or _root_of(node) == index.root):
        return index.within(node, kinds)
    return [n for n in _preorder(node) if n.type in kinds]


def innermost_containers(nodes: list[Node], containers: list[Node]) -> list[Node | None]:
    """For each node, the innermost of `containers` that lies around it (its nearest ancestor among them).

    Both lists are in pre-order (as `descendants` gives them): one sweep with a stack of open containers,
    instead of climbing each node's ancestors (each step up is itself a walk down from the root in C). Each
    container's bytes are read once, when the sweep reaches it, not once per node it is tested against.
    """
    found: list[Node | None] = []
    stack: list[tuple[int, int, Node]] = []  # the open containers, outermost first: (start, end, container)
    following, total = 0, len(containers)
    # Containers are read only as far as the last node: a caller asking about a few nodes near the top of
    # a file with thousands of functions reads a few of them.
    next_start = containers[0].start_byte if containers else None
    for node in nodes:
        start, end = node.start_byte, node.end_byte
        while next_start is not None and next_start <= start:
            container = containers[following]
            while stack and stack[-1][1] < next_start:
                stack.pop()
            stack.append((next_start, container.end_byte, container))
            following += 1
            next_start = containers[following].start_byte if following < total else None
        while stack and stack[-1][1] < start:
            stack.pop()
        inner = None
        for container_start, container_end, container in reversed(stack):
            if container_start <= start and end <= container_end and (
                    container_start != start or container_end != end or container != node):
                inner = container
                break
        found.append(inner)
    return found


def _root_of(node: Node) -> Node:
    while True:
        parent = node.parent
        if parent is None:
            return node
        node = parent


def walk(node: Node) -> Iterator[Node]:
    """Pre-order traversal with an explicit stack: generated files nest thousands deep."""
    return _preorder(node)


def _preorder(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def ancestors(node: Node) -> Iterator[Node]:
    current = node.parent
    while current is not None:
        yield current
        current = current.parent


def enclosing(node: Node, types: frozenset[str] | set[str]) -> Node | None:
    for parent in ancestors(node):
        if parent.type in types:
            return parent
    return None


def enclosing_function(node: Node) -> Node | None:
    return enclosing(node, FUNCTION_TYPES)


def field(node: Node | None, name: str) -> Node | None:
    return None if node is None else node.child_by_field_name(name)


def named_children(node: Node | None) -> list[Node]:
    return [] if node is None else list(node.named_children)


def children_of(node: Node) -> list[Node]:
    """Every child, anonymous tokens (`static`, `async`, `=`) included."""
    return node.children


def parent_of(node: Node) -> Node | None:
    return node.parent


def prev_sibling_of(node: Node) -> Node | None:
    return node.prev_sibling


def next_named_sibling_of(node: Node) -> Node | None:
    return node.next_named_sibling


def is_named(node: Node) -> bool:
    """A named node (`identifier`), not an anonymous token (`static`, `(`)."""
    return node.is_named


def is_error_node(node: Node) -> bool:
    return node.type == "ERROR" or node.is_missing


@cache
def _types_query(grammar: str, types: frozenset[str]) -> Query | None:
    """One query capturing, as @node, every node of those types the grammar has (None if it has none)."""
    present = sorted(types & node_types(grammar))
    return new_query(LANGUAGES[grammar], "[" + " ".join(f"({kind})" for kind in present) + "] @node") if present else None


def nodes_of_types(node: Node | None, grammar: str, types: frozenset[str]) -> list[Node]:
    """The nodes of `types` in `node`'s subtree (itself included), found by one query run in C, by position.

    For types the per-file index does not hold (comments, strings), asked for a few subtrees per file."""
    query = _types_query(grammar, types) if node is not None else None
    if query is None:
        return []
    return sorted(QueryCursor(query).captures(node).get("node", []), key=lambda n: (n.start_byte, -n.end_byte))
