"""TypeScript/JavaScript node vocabulary: the names, shapes and small readers the fact modules share."""

from __future__ import annotations

from ..syntax import SyntaxNode, field, named_children, node_text, parent_of

MUTATORS = frozenset({"set", "add", "delete", "clear", "push", "pop", "shift", "unshift", "splice",
                      "sort", "reverse", "fill", "copyWithin"})
CLASS_TYPES = frozenset({"class_declaration", "class", "abstract_class_declaration"})
WRAPPERS = frozenset({"non_null_expression", "parenthesized_expression", "as_expression",
                       "satisfies_expression", "type_assertion"})
COLLECTION_CTORS = {"Map": "Map", "Set": "Set", "WeakMap": "WeakMap", "WeakSet": "WeakSet", "Array": "array"}
MUTATING_HELPERS = frozenset({"Object.assign", "Reflect.set", "Reflect.deleteProperty", "Reflect.defineProperty",
                               "Object.defineProperty"})


def unwrap(node: SyntaxNode | None) -> SyntaxNode | None:
    while node is not None and node.type in WRAPPERS and named_children(node):
        node = named_children(node)[0]
    return node


def decorator_name(decorator: SyntaxNode) -> str:
    inner = named_children(decorator)[0] if named_children(decorator) else None
    if inner is not None and inner.type == "call_expression":
        inner = field(inner, "function")
    text = node_text(inner)
    return text.rsplit(".", 1)[-1]


def declared_name(node: SyntaxNode) -> str:
    """A function's or class's own name, or the variable it is assigned to (`const f = () => ...`)."""
    name = field(node, "name")
    if name is not None:
        return node_text(name)
    parent = parent_of(node)
    if parent is not None and parent.type == "variable_declarator":
        return node_text(field(parent, "name"))
    return ""


def function_name(fn: SyntaxNode) -> str:
    name = declared_name(fn)
    if name:
        return name
    parent = parent_of(fn)
    if parent is not None and parent.type in ("pair", "public_field_definition", "field_definition"):
        return node_text(field(parent, "key") or field(parent, "name") or field(parent, "property"))
    if parent is not None and parent.type == "assignment_expression" and field(parent, "right") == fn:
        left = field(parent, "left")  # exports.start = () => ..., Cache.prototype.add = function () ...
        if left is not None and left.type == "member_expression":
            return node_text(field(left, "property"))
    return ""


def param_names(fn: SyntaxNode) -> list[str]:
    params = field(fn, "parameters") or field(fn, "parameter")
    if params is None:
        return []
    if params.type == "identifier":
        return [node_text(params)]
    names = []
    for param in named_children(params):
        pattern = field(param, "pattern") or param
        names.append(node_text(pattern).split(":")[0].strip())
    return names


def container_of(value: SyntaxNode | None) -> str | None:
    """'Map', 'Set', 'array', 'object'... for collection initialisers; None otherwise."""
    value = unwrap(value)
    if value is None:
        return None
    if value.type == "new_expression":
        ctor = node_text(field(value, "constructor"))
        return COLLECTION_CTORS.get(ctor)
    if value.type == "array":
        return "array"
    if value.type == "object":
        return "object"
    if value.type == "call_expression" and node_text(field(value, "function")) in ("Array.from", "Array.of"):
        return "array"
    if value.type == "call_expression" and node_text(value).replace(" ", "") == "Object.create(null)":
        return "object"
    return None


def is_frozen(value: SyntaxNode | None) -> bool:
    if value is None:
        return False
    text = node_text(value)
    if value.type == "as_expression" and text.rstrip().endswith("as const"):
        return True
    current = value
    while current is not None and current.type in WRAPPERS:
        current = named_children(current)[0] if named_children(current) else None
    return current is not None and current.type == "call_expression" and node_text(field(current, "function")) in (
        "Object.freeze", "deepFreeze", "freeze")
