"""The syntax door: the fact extractors and the matcher see tree-sitter nodes only through stateaudit.syntax.

They may read a node's `type` and `id` (the view every helper hands out); navigation (parent, children,
siblings, fields), positions and text go through syntax.py's helpers, so a change in py-tree-sitter's API
touches one module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import stateaudit

PACKAGE = Path(stateaudit.__file__).parent
NODE_ATTRIBUTES = frozenset({
    "parent", "children", "named_children", "child_by_field_name", "children_by_field_name", "prev_sibling",
    "next_sibling", "prev_named_sibling", "next_named_sibling", "named_child", "child", "child_count",
    "named_child_count", "start_point", "end_point", "start_byte", "end_byte", "byte_range", "is_named",
    "is_missing", "is_error", "has_error", "text", "walk", "field_name_for_child", "kind_id", "grammar_name",
})
GUARDED = sorted([*(PACKAGE / "facts").glob("*.py"), PACKAGE / "match.py"])


def _node_attribute_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in NODE_ATTRIBUTES:
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return sorted(found)


def test_fact_extractors_and_the_matcher_navigate_nodes_only_through_syntax():
    assert len(GUARDED) > 10
    uses = [use for path in GUARDED for use in _node_attribute_uses(path)]
    assert uses == [], "use the helpers of stateaudit.syntax:\n" + "\n".join(uses)


def test_the_guard_sees_a_navigation_when_there_is_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f(node):\n    return node.parent.type, node.child_by_field_name('name')\n", encoding="utf-8")
    assert _node_attribute_uses(sample) == ["sample.py:2: .child_by_field_name", "sample.py:2: .parent"]


def _tree_sitter_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        found += [f"{path.relative_to(PACKAGE)}:{node.lineno}: {name}" for name in names
                  if name.split(".")[0].startswith("tree_sitter")]
    return found


def test_only_the_syntax_module_imports_tree_sitter():
    """Every other module of the package gets trees, nodes and queries from stateaudit.syntax."""
    uses = [use for path in sorted(PACKAGE.rglob("*.py")) if path.name != "syntax.py"
            for use in _tree_sitter_imports(path)]
    assert uses == [], "import from stateaudit.syntax instead:\n" + "\n".join(uses)
    assert _tree_sitter_imports(PACKAGE / "syntax.py")  # the check sees an import when there is one
