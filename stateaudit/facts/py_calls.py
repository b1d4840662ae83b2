"""Facts about Python calls: threads, tasks, scheduled jobs and writes to disk."""

from __future__ import annotations

import re
from typing import Any

from ..model import WriteSite
from ..syntax import (
    SyntaxNode,
    enclosing,
    field,
    named_children,
    node_text,
    walk,
)
from .common import purpose_of_path, split_words
from .py_file import (
    FUNCTIONS,
    PyFile,
    instantiation_context,
    owner_of,
)


def _loops(node: SyntaxNode | None) -> bool:
    return node is not None and any(n.type == "while_statement" for n in walk(node))


def _function_named(py: PyFile, name: str) -> SyntaxNode | None:
    """The first function of that name in the file (a thread target, a task's coroutine)."""
    return py.functions_by_name.get(name.rsplit(".", 1)[-1])


def call_facts(py: PyFile, call: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a call that starts a thread/task/job or writes to disk."""
    callee = node_text(field(call, "function"))
    args = field(call, "arguments")
    positional = [a for a in named_children(args) if a.type != "keyword_argument"]
    keywords = {node_text(field(a, "name")): field(a, "value") for a in named_children(args) if a.type == "keyword_argument"}
    fn = enclosing(call, FUNCTIONS)
    cls, class_name = owner_of(py, call)
    method = node_text(field(fn, "name")) if fn is not None and fn.type == "function_definition" else ""
    target = keywords.get("target")
    target_fn = _function_named(py, node_text(target)) if target is not None else None
    coroutine = positional[0] if positional else None
    coroutine_fn = None
    if coroutine is not None and coroutine.type == "call":
        coroutine_fn = _function_named(py, node_text(field(coroutine, "function")))
    mode_node = keywords.get("mode") or (positional[1] if len(positional) > 1 else None)
    mode = node_text(mode_node).strip("'\"rbRBfu") if mode_node is not None else ""
    raw_mode = node_text(mode_node).strip("'\"") if mode_node is not None else ""
    first_text = node_text(positional[0]) if positional else ""
    receiver = node_text(field(field(call, "function"), "object")) if field(call, "function") is not None and field(call, "function").type == "attribute" else ""
    path_text = _resolve_path_text(py, (positional[0] if positional else None)) + " " + receiver
    context = instantiation_context(py, call)
    fn_text = node_text(fn) if fn is not None else ""
    inner = field(call, "function")
    facts: dict[str, Any] = {
        # `lru_cache(maxsize=n)(func)`: a decorator applied by hand, inside a wrapper or at module level.
        "applied_decorator": node_text(field(inner, "function")) if inner is not None and inner.type == "call"
        and py.caches.is_lru(inner) else "",
        "callee": callee,
        "callee_name": callee.rsplit(".", 1)[-1],
        "callee_module": py.imports.get(callee.split(".")[0], ""),
        "receiver": receiver,
        "method": method,
        "class_name": class_name,
        "symbol": f"{class_name}.{method}" if class_name and method else (method or callee),
        "words": split_words(method) | split_words(node_text(target) or node_text(coroutine)) | (split_words(class_name) if class_name else set()),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "daemon": node_text(keywords.get("daemon")) == "True",
        "target_loops": _loops(target_fn),
        "coroutine_loops": _loops(coroutine_fn),
        "in_startup": context in ("startup", "module") or "lifespan" in " ".join(py.decorators(fn) if fn is not None else []),
        "in_handler": context == "handler",
        "joined": bool(re.search(r"\.join\(\)", fn_text)),
        "awaited": bool(re.search(r"await\s+(asyncio\.)?(gather|wait|wait_for)\(|await\s+\w+\s*$", fn_text, re.M)),
        "write_mode": bool(re.search(r"[wax+]", raw_mode)) and not raw_mode.startswith(("r", "rb")) or "+" in raw_mode,
        "mode": mode,
        "first_arg": first_text[:200],
        "positional_count": len(positional),
        "receiver_path": _looks_like_path(py, receiver, fn),
        "memory_db": ":memory:" in first_text,
        "sqlite_url": first_text.strip("'\"f").startswith("sqlite:"),
        "target_path": path_text,
        # The path says what a file is for; failing that, the class and function that write it.
        "path_purpose": purpose_of_path(path_text) if purpose_of_path(path_text) != "other"
        else purpose_of_path(f"{class_name or ''} {method}"),
        "writes_in_same_function": bool(re.search(
            r"open\([^)]*['\"][wax]b?\+?['\"]|\.write_(text|bytes)\(|\.save\(|shutil\.(copy|move)", fn_text)),
        "deleted_in_same_function": bool(re.search(r"\b(os\.remove|os\.unlink|\.unlink\(|shutil\.rmtree|TemporaryDirectory|NamedTemporaryFile)", fn_text)),
        "owner_kind": "class" if cls is not None else "module",
        "clients": py.clients_in(cls) if cls is not None else py.clients_in(py.root),
        "lifetime_local": "unknown" if cls is not None else "process",
    }
    return facts, []


def _resolve_path_text(py: PyFile, arg: SyntaxNode | None) -> str:
    """The path argument's text, with the names it uses expanded (locals, then module constants, two levels)."""
    if arg is None:
        return ""
    names = {node_text(n) for n in walk(arg) if n.type == "identifier"}
    extra = [py.module_values[name] for name in names if name in py.module_values]
    fn = enclosing(arg, FUNCTIONS)
    if fn is not None:
        for node in walk(fn):
            if node.type == "assignment" and node_text(field(node, "left")) in names:
                extra.append(node_text(field(node, "right")))
    # One more level: `out = join(ROOT, x)` names ROOT.
    second = [py.module_values[word] for text in extra for word in set(re.findall(r"\w+", text))
              if word in py.module_values]
    return " ".join([node_text(arg), *extra, *second])[:600]


_PATHISH = re.compile(r"Path\(|pathlib|\s/\s|path|file|dir|folder|dest|target|output|root|location", re.I)


def _looks_like_path(py: PyFile, receiver: str, fn: SyntaxNode | None) -> bool:
    """Is the receiver of `.write_text()` a filesystem path rather than, say, a help formatter?"""
    if not receiver:
        return False
    if _PATHISH.search(receiver):
        return True
    scopes = [fn] if fn is not None else []
    for scope in [*scopes, py.root]:
        for node in walk(scope):
            if node.type == "assignment" and node_text(field(node, "left")) == receiver:
                if _PATHISH.search(node_text(field(node, "right"))):
                    return True
    return False
