"""Facts about TypeScript/JavaScript calls: timers, scheduled jobs and writes to disk."""

from __future__ import annotations

from typing import Any

from ..model import WriteSite
from ..syntax import (
    FUNCTION_TYPES,
    SyntaxNode,
    children_of,
    descendants,
    enclosing,
    field,
    named_children,
    next_named_sibling_of,
    node_text,
    parent_of,
)
from ..vocabulary import current as vocabulary
from .common import called_names, purpose_of_path, split_words
from .ts_file import TsFile, instantiation_context
from .ts_syntax import (
    WRAPPERS,
    function_name,
)


def call_shape_facts(ts: TsFile, call: SyntaxNode) -> dict[str, Any]:
    """What a call says by itself: its callee and where the callee comes from. The cheapest facts of a
    call candidate, asked before the rest (the code around it, its callback, its path)."""
    callee = node_text(field(call, "function") or field(call, "constructor"))
    return {
        "callee": callee,
        "callee_name": callee.rsplit(".", 1)[-1],
        "callee_object": callee.rsplit(".", 1)[0] if "." in callee else "",
        "fs_call": is_fs_call(ts, callee),
        "callee_module": ts.imports.get(callee.split(".")[0], ""),
    }


def call_facts(ts: TsFile, call: SyntaxNode,
               shape: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a call that starts a timer or writes to disk (`shape`: what call_shape_facts gave, when
    the caller has it)."""
    shape = shape or call_shape_facts(ts, call)
    callee = shape["callee"]
    fn = enclosing(call, FUNCTION_TYPES)
    cls = ts.class_of(call)
    method = function_name(fn) if fn is not None else _decorated_method(call)
    holder = _assigned_to(call)
    args = named_children(field(call, "arguments"))
    first = args[0] if args else None
    callback_text = node_text(first) if first is not None else ""
    path_text = ts.path_text(first)
    class_name = ts.class_name(cls)
    options = option_keys(field(call, "arguments"))
    facts: dict[str, Any] = {
        **shape,
        "method": method,
        "class_name": class_name,
        "symbol": _call_symbol(class_name, method, holder, callee),
        "name": holder or method,
        "words": split_words(method) | split_words(callback_text) | split_words(holder) | (split_words(class_name) if class_name else set()),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "callback": callback_text[:200],
        "rearmed": _rearms(ts, call, fn, first),
        "held_by": held_by(ts, call, fn),
        "in_promise_executor": _in_promise_executor(call),
        "clears_itself": _clears_itself(call, first, holder),
        "stopped_at_once": _stopped_at_once(fn, holder, call),
        "schedule_store": _schedule_store(callee, options),
        "callback_io": _does_io(ts, first, cls),
        "in_function": fn is not None,
        "memory_limiter": memory_limiter(ts, callee),
        "in_startup": fn is not None and instantiation_context(ts, call) == "startup",
        "target_path": path_text,
        # The path says what a file is for; failing that, the class and method that write it.
        "path_purpose": _purpose(path_text + " " + node_text(field(call, "arguments")), f"{class_name or ''} {method}"),
        "deleted_in_same_function": _deletes_in(ts, fn),
        "writes_in_same_function": _writes_in(fn),
        "multer_memory": _names_in(field(call, "arguments"), "memoryStorage"),
        "has_store_option": "store" in options,
        "has_dest_option": "dest" in options,
        "owner_kind": "class" if cls is not None else "module",
        "clients": ts.clients_in(cls) if cls is not None else ts.clients_in(ts.root),
        "lifetime_local": "unknown" if cls is not None else "process",
    }
    return facts, []


def _decorated_method(node: SyntaxNode) -> str:
    """For a call inside a method decorator, the decorated method's name."""
    decorator = enclosing(node, frozenset({"decorator"}))
    sibling = next_named_sibling_of(decorator) if decorator is not None else None
    while sibling is not None and sibling.type == "decorator":
        sibling = next_named_sibling_of(sibling)
    if sibling is not None and sibling.type == "method_definition":
        return node_text(field(sibling, "name"))
    return ""


def _assigned_to(node: SyntaxNode) -> str:
    """The variable or field a call's result is stored in, if any."""
    parent = parent_of(node)
    while parent is not None and parent.type in WRAPPERS | {"await_expression"}:
        parent = parent_of(parent)
    if parent is None:
        return ""
    if parent.type == "variable_declarator":
        return node_text(field(parent, "name"))
    if parent.type in ("public_field_definition", "field_definition"):
        return node_text(field(parent, "name") or field(parent, "property"))
    if parent.type == "assignment_expression":
        left = field(parent, "left")
        return node_text(field(left, "property")) if left is not None and left.type == "member_expression" else node_text(left)
    return ""


def _call_symbol(class_name: str | None, method: str, holder: str, callee: str) -> str:
    if holder:
        return f"{class_name}.{holder}" if class_name else holder
    if class_name and method:
        return f"{class_name}.{method}"
    return method or callee


def decorator_facts(ts: TsFile, decorator: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """A method decorator such as @Cron(...): facts of its call, named after the decorated method."""
    call = next(iter(descendants(decorator, "call_expression")), decorator)
    return call_facts(ts, call)


def is_fs_call(ts: TsFile, callee: str) -> bool:
    parts = callee.split(".")
    if len(parts) == 1:
        return ts.imports.get(parts[0], "") in vocabulary().names("libraries.typescript.fs_modules")
    return parts[0] in ts.fs_names or parts[0] == "fs" or callee.startswith("fs.promises.")


_STORES = frozenset({"assignment_expression", "call_expression"})
_IO_SIGNS = frozenset({"await_expression", "call_expression"})


def _rearms(ts: TsFile, call: SyntaxNode, fn: SyntaxNode | None, callback: SyntaxNode | None) -> bool:
    """A setTimeout re-arms itself when its callback calls a function that (transitively) scheduled it."""
    if fn is None or callback is None:
        return False
    names = set()
    current: SyntaxNode | None = fn
    while current is not None and len(names) < 4:
        name = function_name(current)
        if name:
            names.add(name)
        current = enclosing(current, FUNCTION_TYPES)
    for name in names:
        if node_text(callback) in (name, f"this.{name}", f"this.{name}.bind(this)"):
            return True
        for node in descendants(callback, "call_expression"):
            if node_text(field(node, "function")) in (name, f"this.{name}"):
                return True
    return False


_LOCAL_DECLARATIONS = frozenset({"variable_declarator"})


def held_by(ts: TsFile, call: SyntaxNode, fn: SyntaxNode | None) -> str:
    """Where a call's result (a timer handle, a job) is kept, which says how long it lives.

    'field' (`this.timer = ...`, `job.handle = ...`), 'collection' (`timers[key] = ...`, `.set(k, ...)`),
    'entry' (an object literal stored into a field or collection), 'module' (a module variable),
    'local' (a function local: it ends with the call unless handed on) or '' (not kept).
    """
    parent = parent_of(call)
    child = call
    while parent is not None and parent.type in WRAPPERS | {"await_expression"}:
        child, parent = parent, parent_of(parent)
    if parent is None:
        return ""
    if parent.type == "variable_declarator":
        return "module" if fn is None else "local"
    if parent.type == "assignment_expression" and field(parent, "right") == child:
        left = field(parent, "left")
        if left is None:
            return ""
        if left.type == "identifier":
            return "local" if fn is not None and ts._shadowed(fn, node_text(left)) else "module"
        if left.type == "member_expression":
            return "field"
        if left.type == "subscript_expression":
            base = _base_identifier(left)
            return "local" if fn is not None and base and ts.declared_locally(fn, base) else "collection"
        return ""
    if parent.type == "arguments":
        outer = parent_of(parent)
        method = node_text(field(field(outer, "function"), "property")) if outer is not None else ""
        return "collection" if method in ("set", "push", "add", "unshift") else ""
    if parent.type == "pair" and parent_of(parent) is not None and parent_of(parent).type == "object":
        holder = parent_of(parent_of(parent))
        if holder is not None and holder.type == "variable_declarator" and fn is not None:
            return "entry" if stored_later(ts, fn, node_text(field(holder, "name"))) else ""
        if holder is not None and holder.type == "assignment_expression":
            return "entry" if field(field(holder, "left"), "object") is not None else ""
    return ""


def _base_identifier(node: SyntaxNode) -> str:
    while node is not None and node.type in ("subscript_expression", "member_expression"):
        node = field(node, "object")
    return node_text(node) if node is not None and node.type == "identifier" else ""


def stored_later(ts: TsFile, fn: SyntaxNode, name: str) -> bool:
    """Is the local `name` put into a field or a collection that outlives `fn` (`this.cache[k] = name`,
    `registry.set(k, name)`), rather than into another local?"""
    for node in descendants(field(fn, "body"), _STORES):
        target = None
        if node.type == "assignment_expression" and node_text(field(node, "right")) == name:
            left = field(node, "left")
            if left is not None and left.type in ("member_expression", "subscript_expression"):
                target = left
        elif node.type == "call_expression" and node_text(field(field(node, "function"), "property")) in ("set", "push", "add"):
            if any(node_text(a) == name for a in named_children(field(node, "arguments"))):
                target = field(field(node, "function"), "object")
        if target is not None:
            base = _base_identifier(target)
            if not (base and ts.declared_locally(fn, base)):
                return True
    return False


def _in_promise_executor(call: SyntaxNode) -> bool:
    """Is the call inside a `new Promise((resolve, reject) => ...)` executor: work that ends when one call settles?"""
    current = enclosing(call, FUNCTION_TYPES)
    while current is not None:
        parent = parent_of(current)
        if parent is not None and parent.type == "arguments" and parent_of(parent) is not None \
                and parent_of(parent).type == "new_expression" and node_text(field(parent_of(parent), "constructor")) == "Promise":
            return True
        current = enclosing(current, FUNCTION_TYPES)
    return False


def _clears_itself(call: SyntaxNode, callback: SyntaxNode | None, holder: str) -> bool:
    """A poll whose own callback clears its handle (`const t = setInterval(() => { if (ready) clearInterval(t) })`)."""
    if callback is None or not holder:
        return False
    for node in descendants(callback, "call_expression"):
        if node_text(field(node, "function")) in ("clearInterval", "clearTimeout"):
            if any(node_text(a) == holder for a in named_children(field(node, "arguments"))):
                return True
    return False


def _stopped_at_once(fn: SyntaxNode | None, holder: str, call: SyntaxNode) -> bool:
    """A job made only to be stopped in the same function body (`const job = new Cron(expr); job.stop()`): a check."""
    if fn is None or not holder:
        return False
    for node in descendants(field(fn, "body"), "call_expression"):
        if enclosing(node, FUNCTION_TYPES) == fn \
                and node_text(field(node, "function")) in (f"{holder}.stop", f"{holder}.cancel", f"{holder}.destroy"):
            return True
    return False


def memory_limiter(ts: TsFile, name: str) -> bool:
    """Is `new name(...)` a library's in-memory rate limiter (`new RateLimiterMemory()`, limiter's `new RateLimiter()`)?

    The libraries and their classes are `libraries.typescript.memory_limiters` of the vocabulary."""
    limiters = vocabulary().groups("libraries.typescript.memory_limiters")
    return name in limiters.get(ts.imports.get(name, ""), ())


def _schedule_store(callee: str, options: frozenset[str]) -> str:
    """Where a scheduler keeps its schedule: Agenda in its database, BullMQ repeatable jobs in Redis."""
    name = callee.rsplit(".", 1)[-1]
    if name == "every" and "agenda" in callee.lower():
        return "database"
    if name in ("add", "upsertJobScheduler") and "repeat" in options or name == "upsertJobScheduler":
        return "redis"
    return ""


def _does_io(ts: TsFile, callback: SyntaxNode | None, cls: SyntaxNode | None) -> bool:
    """Does a timer's callback wait on I/O (await, a network call, or an async method of its class)? The network
    calls are the vocabulary's `libraries.typescript.remote_io`, searched in each callee's text (`axios.get`)."""
    if callback is None:
        return False
    remote = vocabulary().matcher("libraries.typescript.remote_io")
    async_methods = set()
    for member in named_children(field(cls, "body")) if cls is not None else []:
        if member.type == "method_definition" and any(c.type == "async" for c in children_of(member)):
            async_methods.add(node_text(field(member, "name")))
    for node in descendants(callback, _IO_SIGNS):
        if node.type == "await_expression":
            return True
        if node.type == "call_expression":
            callee = node_text(field(node, "function"))
            if remote.search(callee):
                return True
            if callee.startswith("this.") and callee[5:] in async_methods:
                return True
    return False


def _deletes_in(ts: TsFile, fn: SyntaxNode | None) -> bool:
    """Does the function also remove files (`fs.unlink(...)`, `rm(...)`)? Its calls say so, not its comments;
    the names are the vocabulary's `libraries.typescript.file_removers`."""
    return fn is not None and bool(called_names(field(fn, "body"))
                                   & vocabulary().names("libraries.typescript.file_removers"))


def _writes_in(fn: SyntaxNode | None) -> bool:
    """Does the function also write file contents (`writeFile(...)`, `copyFile(...)`)? Its calls say so, not its
    comments; the names are the vocabulary's `libraries.typescript.file_writers`."""
    return fn is not None and bool(called_names(field(fn, "body"))
                                   & vocabulary().names("libraries.typescript.file_writers"))


def option_keys(arguments: SyntaxNode | None) -> frozenset[str]:
    """Keys of the object literals among a call's arguments, at any depth: `({ store, ttl: 60 })` -> ttl.

    Only `key: value` pairs count, as in the options a library reads; a string that says `store:` does not."""
    if arguments is None:
        return frozenset()
    return frozenset(node_text(field(pair, "key")) for pair in descendants(arguments, "pair")
                     if getattr(field(pair, "key"), "type", "") == "property_identifier")


def _names_in(node: SyntaxNode | None, name: str) -> bool:
    """Is `name` used as an identifier or property in the subtree (`multer.memoryStorage()`), not in a string?"""
    if node is None:
        return False
    return any(node_text(n) == name for n in descendants(node, "identifier")) or any(
        node_text(field(n, "property")) == name for n in descendants(node, "member_expression"))


def _purpose(path_text: str, owner_text: str) -> str:
    purpose = purpose_of_path(path_text)
    return purpose if purpose != "other" else purpose_of_path(owner_text)
