"""Facts about Python state: scope, writes after import, owners, globals, singletons, caches."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..model import WriteSite
from ..syntax import (
    SyntaxNode,
    ancestors,
    descendants,
    enclosing,
    field,
    named_children,
    node_bytes,
    node_text,
    parent_of,
)
from ..vocabulary import current as vocabulary
from .common import split_words, write_tags
from .index import ClassInfo, FileIndex
from .py_cache import module_path, resolve_module
from .py_connections import connection_kind, has_client_manager
from .py_file import (
    FUNCTIONS,
    PyFile,
    container_of,
    instantiation_context,
    is_default_factory,
    long_lived_shape,
    module_instances,
    owner_of,
)


def file_index(py: PyFile) -> FileIndex:
    index = FileIndex()
    words = vocabulary()
    one_instance = words.matcher("contexts.python.singleton_decorators")
    plain = words.names("contexts.python.plain_decorators")
    for cls in py.classes():
        name = py.class_name(cls) or ""
        decorators = tuple(py.decorators(cls))
        index.classes.append(ClassInfo(
            name=name, file=py.parsed.rel, decorators=decorators,
            long_lived_decorator=any(one_instance.match(d.split("(")[0].rsplit(".", 1)[-1]) for d in decorators)
            or long_lived_shape(cls),
            has_static_instance=py.has_singleton_instance(cls) or py.has_singleton_base(cls),
            stateful_fields=py.stateful_fields(cls), clients=py.clients_in(cls),
        ))
    for node in descendants(py.root, "call"):
        callee = field(node, "function")
        if callee is not None and callee.type == "identifier" and node_text(callee)[:1].isupper():
            index.instantiations.append((node_text(callee), instantiation_context(py, node)))
    index.name_refs, index.calls = _uses(py)
    index.dispatched = frozenset(node_text(field(fn, "name")) for fn in descendants(py.root, "function_definition")
                                 if any(d.split("(")[0] not in plain for d in py.decorators(fn)))
    index.module = module_path(py.parsed.rel)
    index.cache_objects = dict(py.caches.objects)
    index.cache_wrappers = frozenset(py.caches.lru_wrappers)
    return index




def _outer_function(fn: SyntaxNode) -> SyntaxNode:
    """The outermost function around a node's function: the one the rest of the code can name."""
    outer = fn
    for parent in ancestors(fn):
        if parent.type == "function_definition":
            outer = parent
    return outer


_IMPORTS = frozenset({"import_statement", "import_from_statement"})
_DEFINITIONS = frozenset({"function_definition", "class_definition"})
_CALLS = frozenset({"call", "decorator"})


def _uses(py: PyFile) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    """How often each name is used (definitions aside), and every call and decorator: (callee, context, caller)."""
    return _name_refs(py), _calls(py)


def _name_refs(py: PyFile) -> dict[str, int]:
    """How often each identifier is used: every identifier, less the names a `def` or `class` defines and
    those an import statement lists (an import names a function; it does not use it). Counted by text
    first and corrected by the few definitions and imports, rather than asking every identifier's parent."""
    counts = Counter(node_bytes(node) for node in descendants(py.root, "identifier"))
    for definition in descendants(py.root, _DEFINITIONS):
        name = field(definition, "name")
        if name is not None and name.type == "identifier":
            counts[node_bytes(name)] -= 1
    for statement in descendants(py.root, _IMPORTS):
        for identifier in descendants(statement, "identifier"):
            parent = parent_of(identifier)
            if parent is not None and parent.type in ("dotted_name", "aliased_import"):
                counts[node_bytes(identifier)] -= 1
    refs: dict[str, int] = {}
    for text, count in counts.items():
        if count > 0:
            name = text.decode("utf-8", "replace")
            refs[name] = refs.get(name, 0) + count
    return refs


def _calls(py: PyFile) -> list[tuple[str, str, str]]:
    """Every call and decorator of a plain or dotted name: (callee, context, outermost caller)."""
    calls: list[tuple[str, str, str]] = []
    contexts: dict[int, str] = {}
    for node in descendants(py.root, _CALLS):
        target = field(node, "function") if node.type == "call" else (named_children(node) or [None])[0]
        if target is not None and target.type == "call" and node.type == "decorator":
            continue  # `@register(...)`: the inner call is counted as a call
        if target is not None and target.type == "attribute":
            target = field(target, "attribute")
        if target is None or target.type != "identifier":
            continue
        fn = enclosing(node, FUNCTIONS)
        caller = node_text(field(_outer_function(fn), "name")) if fn is not None and fn.type == "function_definition" else ""
        if node.type == "decorator" or fn is None:
            context = "module"
        else:  # the same for every call in a function: computed once per function
            if fn.id not in contexts:
                contexts[fn.id] = instantiation_context(py, field(fn, "body") or node)
            context = contexts[fn.id]
        calls.append((node_text(target), context, caller))
    return calls


def _writer_functions(py: PyFile, keys: list[tuple], writes: list[WriteSite]) -> tuple[tuple[str, bool], ...]:
    """(name, decorated) of the outermost functions holding the writes: what the service index can look up.
    Decorated: a decorator other than the vocabulary's `contexts.python.plain_decorators` (`@app.get`,
    `@celery.task`) may hand the function to a framework, which runs it at any time."""
    lines = {w.line for w in writes}
    plain = vocabulary().names("contexts.python.plain_decorators")
    found = set()
    for key in keys:
        for line, op, fn in py.events.get(key, []):
            if line in lines and op != "read" and fn is not None:
                outer = _outer_function(fn)
                decorators = [d.split("(")[0] for d in py.decorators(outer)]
                decorated = any(d not in plain for d in decorators)
                found.add((node_text(field(outer, "name")) if outer.type == "function_definition" else "", decorated))
    return tuple(sorted(found))


def state_scope(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None, value: SyntaxNode | None) -> str:
    """Where a named value lives (module, class, instance, app-state, closure or function): the first fact of
    a state candidate, and the cheapest, so candidates whose rule wants another scope stop here."""
    return _scope_and_name(py, target, name_node, value)[0]


def _scope_and_name(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                    value: SyntaxNode | None) -> tuple[str, str]:
    known = py.__dict__.setdefault("_scopes", {})
    if target.id not in known:
        known[target.id] = _find_scope_and_name(py, target, name_node, value)
    return known[target.id]


def _find_scope_and_name(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                         value: SyntaxNode | None) -> tuple[str, str]:
    left = field(target, "left")
    left_text = node_text(left)
    fn = enclosing(target, FUNCTIONS)
    cls = owner_of(py, target)[0]
    owner_var = node_text(field(left, "object")) if left is not None and left.type == "attribute" else ""
    fname = node_text(field(fn, "name")) if fn is not None else ""
    if left_text.startswith(("app.state.", "application.state.")) or ".extensions[" in left_text:
        scope, name = "app-state", left_text.split(".")[-1] if ".state." in left_text else left_text
    elif owner_var in ("app", "application") and (fn is None or instantiation_context(py, target) == "startup"):
        scope, name = "app-state", node_text(field(left, "attribute"))
    elif owner_var and (owner_var == "self" and fname in ("__init__", "__post_init__")
                        or fname == "__new__" and owner_var not in ("cls", "self")):
        scope, name = "instance", node_text(field(left, "attribute"))
    elif owner_var:
        scope, name = "function", node_text(field(left, "attribute"))
    elif fn is None and cls is not None and is_default_factory(value):
        scope, name = "instance", node_text(name_node)  # a dataclass field: one per instance
    elif fn is not None:
        name = node_text(name_node)
        scope = "closure" if py.closure_lives_long(fn, name) else "function"
    elif cls is not None:
        scope, name = "class", node_text(name_node)
    else:
        scope, name = "module", node_text(name_node)
    return scope, name


def shape_facts(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                value: SyntaxNode | None) -> dict[str, Any]:
    """What a state candidate's own value says, whatever its scope: the container it holds. Asked before
    the scope (a function local's scope needs its closures' writes): most candidates stop here."""
    return {"container": container_of(value)}


def early_state_facts(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None, value: SyntaxNode | None,
                      scope: str, shape: dict[str, Any] | None = None) -> dict[str, Any]:
    """The facts of a state candidate read off its own nodes, before any use of it is looked up (`shape`:
    what shape_facts gave). state_facts keeps them."""
    scope, name = _scope_and_name(py, target, name_node, value)
    class_name = owner_of(py, target)[1]
    return {**(shape or shape_facts(py, target, name_node, value)), "scope": scope, "name": name,
            "class_name": class_name if scope in ("class", "instance") else None}


def state_facts(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                value: SyntaxNode | None, scope: str | None = None,
                early: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a module variable, class attribute, `self.x` set in __init__, or `app.state.x`
    (`scope`, when given, is what state_scope said: it is worked out once per candidate either way;
    `early`, what early_state_facts gave)."""
    left_text = node_text(field(target, "left"))
    fn = enclosing(target, FUNCTIONS)
    cls, class_name = owner_of(py, target)
    scope, name = _scope_and_name(py, target, name_node, value)
    early = early or early_state_facts(py, target, name_node, value, scope)
    if scope == "module":
        class_name, keys = None, [("name", name)]
    elif scope == "class":
        shadowed = any(n == name for n, _ in py.instance_collections(cls)) or _assigned_in_init(cls, name)
        keys = [("cls", cls.id, name), ("attr", class_name or "", name)] + ([] if shadowed else [("self", cls.id, name)])
    elif scope == "instance":
        keys = [("self", cls.id if cls else 0, name)] + [("attr", var, name) for var in module_instances(py, class_name)]
    elif scope == "app-state":
        keys = [("attr", holder, name) for holder in ("app", "application", "current_app")]
    elif scope == "closure":
        keys = []
    else:
        keys = []
    writes = py.writes(keys, scope if scope != "class" else "class", name) if keys else []
    if scope == "closure":
        writes = py.closure_writes(fn, name)
    refs = py.clients_beside(keys)
    facts: dict[str, Any] = {
        **early,
        "words": split_words(name) | (split_words(class_name) if class_name else set()),
        "symbol": f"{class_name}.{name}" if class_name and scope in ("class", "instance") else name,
        "callee_name": node_text(field(value, "function")).rsplit(".", 1)[-1] if value is not None and value.type == "call" else "",
        "value_text": node_text(value)[:300],
        "frozen": False,
        "writes": frozenset(w.op for w in writes),
        "written_after_init": any(w.op != "rebind" for w in writes) or (scope == "app-state" and (".state." in left_text or ".extensions[" in left_text)),
        "rebound": any(w.op == "rebind" for w in writes),
        "owner_kind": "class" if scope in ("class", "instance") else "module",
        "client_refs": refs,
        "clients": frozenset(kind for kind, _name, _verify in refs),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "lifetime_local": "process" if scope in ("module", "class", "app-state") else "unknown",
        "in_startup": fn is not None and instantiation_context(py, target) == "startup",
        "stored": write_tags(py.parsed, [w.line for w in writes]),
        "increments": "increment" in write_tags(py.parsed, [w.line for w in writes]),
        "own_class": _own_instance(py, value),
        "has_instance_pattern": scope == "class" and name in ("_instance", "__instance", "_instances")
                                and cls is not None and py.has_singleton_instance(cls),
        "in_handler": fn is not None and instantiation_context(py, target) == "handler",
        "cache_backend": py.caches.objects.get(name, "") if scope == "module" else "",
        "writer_functions": _writer_functions(py, keys, writes),
    }
    return facts, writes


def _own_instance(py: PyFile, value: SyntaxNode | None) -> bool:
    """Is `value` an instance of one of the project's own classes (not a library client)?"""
    if value is None or value.type != "call":
        return False
    callee = field(value, "function")
    if callee is None or callee.type != "identifier" or not node_text(callee)[:1].isupper():
        return False
    name = node_text(callee)
    module = py.imports.get(name)
    if module is None:
        return any(py.class_name(c) == name for c in py.classes())
    words = vocabulary()
    return module.startswith(".") or (
        module.split(".")[0] not in words.names("clients.python.libraries") and name not in py.client_names
        and not any(module.startswith(m) for ms in words.groups("clients.python.modules").values() for m in ms))




def _assigned_in_init(cls: SyntaxNode, name: str) -> bool:
    for fn in descendants(field(cls, "body"), "function_definition"):
        if node_text(field(fn, "name")) == "__init__":
            for node in descendants(field(fn, "body"), "assignment"):
                if node_text(field(node, "left")) == f"self.{name}":
                    return True
    return False


def global_facts(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a module variable: does any function rebind it through `global`?"""
    name = node_text(name_node)
    # A function rebinds a module name only through `global` (otherwise the name is its own local): a file
    # without a global statement has no such write, and needs no events table to say so.
    rebinds = bool(descendants(py.root, "global_statement"))
    writes = [w for w in py.writes([("name", name)], "module", name) if w.op == "rebind"] if rebinds else []
    value = field(target, "right")
    duplicate = False
    if target.type == "global_statement":
        # Reported at the module assignment when there is one, else at the first `global` naming it.
        duplicate = name in py.module_assigned or py.first_global.get(name) != target
    return {
        "scope": "module", "name": name, "symbol": name, "words": split_words(name),
        "class_name": None, "container": container_of(value),
        "rebound": bool(writes), "writes": frozenset(w.op for w in writes), "written_after_init": False,
        "owner_kind": "module", "clients": py.clients_in(py.root), "class_words": frozenset(),
        "lifetime_local": "process", "duplicate": duplicate,
        "rebound_at_startup": bool(writes) and _rebound_only_at_startup(py, name),
        "stored": write_tags(py.parsed, [w.line for w in writes]),
        "increments": "increment" in write_tags(py.parsed, [w.line for w in writes]),
    }, writes


def _rebound_only_at_startup(py: PyFile, name: str) -> bool:
    """Every function that rebinds the global through `global` is start-up code (a hook, or handed the app)."""
    rebinders = [fn for _line, op, fn in py.events.get(("name", name), [])
                 if op == "rebind" and fn is not None and name in py.locals_of(fn)[1]]
    return bool(rebinders) and all(instantiation_context(py, field(fn, "body") or fn) == "startup" for fn in rebinders)


def decorator_facts(py: PyFile, decorator: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a decorated function (caches, scheduled jobs, singleton decorators)."""
    definition = parent_of(decorator)
    inner = next((c for c in named_children(definition) if c.type in ("function_definition", "class_definition")), None)
    name = node_text(field(inner, "name"))
    cls, class_name = owner_of(py, definition)
    text = node_text(decorator)[1:]
    return {
        **_decorator_cache_facts(py, text.split("(")[0].strip(), inner),
        "decorator": text.split("(")[0].strip(),
        "decorator_args": text[len(text.split("(")[0]):][:200],
        "name": name,
        "class_name": class_name,
        "symbol": f"{class_name}.{name}" if class_name else name,
        "words": split_words(name) | (split_words(class_name) if class_name else set()),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "decorates_class": inner is not None and inner.type == "class_definition",
        "is_method": cls is not None,
        "owner_kind": "class" if cls is not None else "module",
        "clients": py.clients_in(inner) if inner is not None else frozenset(),
        "lifetime_local": "process",
        "stateful_fields": py.stateful_fields(inner) if inner is not None and inner.type == "class_definition" else (),
    }, []


_MEMO_METHODS = frozenset({"memoize", "cached"})


def _decorator_cache_facts(py: PyFile, decorator: str, inner: SyntaxNode | None) -> dict[str, Any]:
    """Does the decorator memoise into a cache object, or apply a project wrapper around lru_cache?

    What this file cannot see (an object or wrapper imported from another module) is left as a reference
    (`cache_ref`, `wrapper_ref`: module and name) that the scan resolves with the service index.
    """
    facts: dict[str, Any] = {"cache_backend": "", "wraps_cache": False, "cache_ref": None, "wrapper_ref": None,
                             "constant_memo": py.caches.process_constant(inner, decorator)}
    current = module_path(py.parsed.rel)
    package = py.parsed.rel.endswith("__init__.py")
    receiver, _, method = decorator.rpartition(".")
    if receiver and "." not in receiver and method in _MEMO_METHODS:
        if receiver in py.caches.objects:
            facts["cache_backend"] = py.caches.objects[receiver]
        elif receiver in py.imports:
            facts["cache_ref"] = (resolve_module(current, py.imports[receiver], package), receiver)
    elif not receiver:
        if decorator in py.caches.lru_wrappers:
            facts["wraps_cache"] = True
        elif decorator in py.imports and py.imports[decorator] != "functools":
            facts["wrapper_ref"] = (resolve_module(current, py.imports[decorator], package), decorator)
    return facts


def _contextvar_shared_default(py: PyFile, target: SyntaxNode, value: SyntaxNode | None) -> bool:
    """`x = ContextVar("x", default=Buffer())` whose `.set()` is never called: every request and task reads the
    one default object, so a mutable default is a process-wide singleton, not per-request state."""
    if value is None or value.type != "call" or not node_text(field(value, "function")).endswith("ContextVar"):
        return False
    default = next((field(a, "value") for a in named_children(field(value, "arguments"))
                    if a.type == "keyword_argument" and node_text(field(a, "name")) == "default"), None)
    if default is None or not (container_of(default) or (default.type == "call" and _own_instance(py, default))):
        return False
    name = node_text(field(target, "left"))
    return not any(node_text(node) == f"{name}.set" for node in descendants(py.root, "attribute"))


def singleton_facts(py: PyFile, target: SyntaxNode, class_name: str | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for `_instance` singletons and module-level instances of the project's own classes."""
    cls = enclosing(target, frozenset({"class_definition"}))
    if cls is None and class_name:
        cls = next((c for c in py.classes() if py.class_name(c) == class_name), None)
    name = class_name or py.class_name(cls) or ""
    module = py.imports.get(name, "")
    libraries = vocabulary().names("clients.python.libraries")
    own_class = cls is not None or module.startswith(".") or (module != "" and module.split(".")[0] not in libraries and "." in module)
    stateful = py.stateful_fields(cls) if cls is not None else ()
    left = field(target, "left")
    if target.type == "decorator":
        decorated = next((c for c in named_children(parent_of(target)) if c.type == "class_definition"), None)
        name = py.class_name(decorated) or ""
        return {
            "scope": "module", "name": name, "class_name": name, "symbol": name, "decorator": "singleton",
            "words": split_words(name), "class_words": frozenset(split_words(name)), "own_class": True,
            "class_in_file": True, "has_instance_pattern": False,
            "stateful_fields": py.stateful_fields(decorated) if decorated is not None else (),
            "stateful": bool(py.stateful_fields(decorated)) if decorated is not None else False,
            "clients": py.clients_in(decorated) if decorated is not None else frozenset(),
            "owner_kind": "class", "lifetime_local": "process",
        }, []
    value = field(target, "right")
    owns = connection_kind(py, value)
    return {
        "contextvar_shared_default": _contextvar_shared_default(py, target, value),
        "owns_connection": owns,
        "value_text": node_text(value)[:300],
        "client_manager": has_client_manager(value) if owns == "socketio" else False,
        "scope": "module" if enclosing(target, frozenset({"class_definition"})) is None else "class",
        "name": name,
        "class_name": name,
        "symbol": node_text(left) if left is not None and enclosing(target, frozenset({"class_definition"})) is None else f"{name}._instance",
        "words": split_words(name),
        "class_words": frozenset(split_words(name)),
        "own_class": own_class,
        "class_in_file": cls is not None,
        "has_instance_pattern": cls is not None and py.has_singleton_instance(cls),
        "stateful_fields": stateful,
        "stateful": bool(stateful),
        "clients": py.clients_in(cls) if cls is not None else frozenset(),
        "owner_kind": "class",
        "lifetime_local": "process",
    }, []
