"""The one door to tree-sitter: languages, parsing, queries, node helpers and coordinates.

Every other module sees nodes only through the helpers here, so a change in
py-tree-sitter's API (it changed at 0.25) touches this file alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cache

import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query, QueryCursor, QueryError

from .model import Location

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

    def text(self, node: Node | None) -> str:
        return node_text(node)

    def location(self, node: Node) -> Location:
        return to_location(node, self.rel, self.lines)

    def line_text(self, line: int) -> str:
        """The source line (1-based), decoded and stripped."""
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1].decode("utf-8", "replace").strip()
        return ""


def parse_source(source: bytes, language: str, rel: str = "<memory>") -> ParsedFile:
    tree = _PARSERS[language].parse(source)
    root = tree.root_node
    return ParsedFile(rel, language, source, root, source.split(b"\n"), root.has_error)


def compile_query(language: str, text: str) -> Query:
    """Compile a query for a grammar family; raises QueryError with tree-sitter's message."""
    return Query(LANGUAGES[language], text)


def run_query(query: Query, root: Node) -> list[dict[str, list[Node]]]:
    return [captures for _, captures in QueryCursor(query).matches(root)]


def pattern_at(query: Query, node: Node) -> bool:
    """Does one of the query's patterns match with `node` as its outermost node?"""
    cursor = QueryCursor(query)
    cursor.set_max_start_depth(0)
    return bool(cursor.matches(node))


def pattern_below(query: Query, node: Node) -> bool:
    """Does one of the query's patterns match somewhere strictly inside `node`?"""
    return any(QueryCursor(query).matches(child) for child in node.children)


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
            Query(grammar, pattern)
        except QueryError:
            continue  # e.g. required_parameter exists only in TypeScript
        bindings.append(pattern)
    return Query(grammar, _BROWSER_USES), Query(grammar, "\n".join(bindings))


def browser_global_uses(parsed: ParsedFile, globals_: frozenset[str], document_members: frozenset[str]) -> int:
    """How many times a script uses browser globals (`window.x`, `document.querySelector`).

    Zero when the script asks `typeof window` (or another of the globals): isomorphic code that
    checks where it runs is not browser-only. A global the file binds itself (`(window) => ...`,
    `const document = ...`) is its own name, not the browser's. Only for JavaScript-family grammars.
    """
    if parsed.language not in ("typescript", "tsx", "javascript"):
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
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def to_location(node: Node, path: str, lines: list[bytes]) -> Location:
    """1-based line/column in characters; tree-sitter gives 0-based rows and byte columns."""

    def col(row: int, byte_col: int) -> int:
        if row >= len(lines):
            return byte_col + 1
        return len(lines[row][:byte_col].decode("utf-8", "replace")) + 1

    (r0, c0), (r1, c1) = node.start_point, node.end_point
    return Location(path, r0 + 1, col(r0, c0), r1 + 1, col(r1, c1))


def line_of(node: Node) -> int:
    return node.start_point[0] + 1


def walk(node: Node) -> Iterator[Node]:
    """Pre-order traversal with an explicit stack: generated files nest thousands deep."""
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


def is_error_node(node: Node) -> bool:
    return node.type == "ERROR" or node.is_missing
