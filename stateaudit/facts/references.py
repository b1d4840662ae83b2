"""The per-file analysis both languages share: the parsed file, and where each piece of state is written."""

from __future__ import annotations

from functools import cached_property

from ..syntax import ParsedFile, SyntaxNode, ancestors, descendants, enclosing, index_tree, line_of

Event = tuple[int, str, "SyntaxNode | None"]  # (line, op, enclosing function); op "read" for non-writes


class FileAnalysis:
    """Computed once per file and shared by its candidates; subclasses say what a reference is and does."""

    function_types: frozenset[str]
    reference_types: frozenset[str]  # the node types that can name a piece of state

    def __init__(self, parsed: ParsedFile):
        self.parsed = parsed
        self.root: SyntaxNode = parsed.root
        index_tree(parsed)  # the fact helpers' lookups of nodes by type answer from it

    def _base_key(self, node: SyntaxNode) -> tuple | None:
        """The state a node names (`("name", x)`, `("this", class_id, x)`...), or None."""
        raise NotImplementedError

    def _operation(self, node: SyntaxNode) -> tuple[str, str | None]:
        """What the expression rooted at the node does to it (write op, 'rebind' or 'read'), and any alias made."""
        raise NotImplementedError

    @cached_property
    def events(self) -> dict[tuple, list[Event]]:
        """Reference key -> events, with writes through simple aliases (`const s = this.sessions`) credited."""
        table: dict[tuple, list[Event]] = {}
        aliases: list[tuple[SyntaxNode | None, str, tuple]] = []
        for node in descendants(self.root, self.reference_types):
            key = self._base_key(node)
            if key is None:
                continue
            op, alias = self._operation(node)
            fn = enclosing(node, self.function_types)
            if alias is not None:
                aliases.append((fn, alias, key))
            table.setdefault(key, []).append((line_of(node), op, fn))
        for fn, alias, key in aliases:
            if key == ("name", alias):
                continue  # `tb = tb.tb_next` rebinds the name; it is not an alias of itself
            for line, op, event_fn in list(table.get(("name", alias), [])):
                # An alias made at module level holds everywhere; one made in a function, inside it.
                if op not in ("read", "rebind") and event_fn is not None and (
                        fn is None or event_fn == fn or fn in ancestors(event_fn)):
                    table.setdefault(key, []).append((line, op, event_fn))
        return table
