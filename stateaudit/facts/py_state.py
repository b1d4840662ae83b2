"""Facts about Python state: scope, writes after import, owners, globals, singletons, caches."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..model import WriteSite
from ..syntax import (
    SyntaxNode,
    ancestors,
    descendants,
    enclosing,
    field,
    has_error,
    innermost_containers,
    named_children,
    node_bytes,
    node_text,
    parent_of,
    texts_of,
)
from ..vocabulary import current as vocabulary
from .common import naming_facts, write_tags
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
    made_for_app,
    module_instances,
    owner_of,
)
from .references import singleton_class_facts
from .state import Candidate, StateLanguage, StateShapes


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
    index.calls, index.instantiations = _calls_and_instantiations(py)
    index.name_refs = _name_refs(py)
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


def _name_refs(py: PyFile) -> dict[str, int]:
    """How often each identifier is used: every identifier, less the names a `def` or `class` defines and
    those an import statement lists (an import names a function; it does not use it). Counted by text
    first and corrected by the few definitions and imports, rather than asking every identifier's parent."""
    counts = Counter(py.identifiers[1])
    for definition in descendants(py.root, _DEFINITIONS):
        name = field(definition, "name")
        if name is not None and name.type == "identifier":
            counts[node_bytes(name)] -= 1
    for statement in descendants(py.root, _IMPORTS):
        if not has_error(statement):  # the grammar puts a well-formed import's every name in a dotted name or alias
            listed = _import_names(statement)
            counts.subtract(listed if listed is not None else texts_of(descendants(statement, "identifier")))
            continue
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


_IMPORT_WORDS = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_IMPORT_KEYWORDS = frozenset({b"from", b"import", b"as"})


def _import_names(statement: SyntaxNode) -> list[bytes] | None:
    """The names a well-formed import statement lists, read off its text: its words less the keywords.

    Every file counts its imports' names out of its name counts, and asking the node index for each
    statement's identifiers cost more than the statement's text does. None where the text may hold words
    that are not names (a comment) or names the pattern does not spell (non-ASCII): the tree answers there.
    """
    text = node_bytes(statement)
    if b"#" in text or not text.isascii():
        return None
    return [word for word in _IMPORT_WORDS.findall(text) if word not in _IMPORT_KEYWORDS]


def _calls_and_instantiations(py: PyFile) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Every call and decorator of a plain or dotted name: (callee, context, outermost caller); and every
    call of a capitalised plain name, which may make an instance: (class, where it is made)."""
    calls: list[tuple[str, str, str]] = []
    instantiations: list[tuple[str, str]] = []
    per_function: dict[int, tuple[str, str]] = {}  # a function node's id() -> (outermost caller, context)
    targets = py.call_targets  # `@register(...)` is not among them: its inner call is counted as a call
    nodes = [node for node, _name, _plain in targets]
    # Each call's function, found in one sweep over the file's functions rather than by climbing its parents;
    # what a call takes from its function is the same for every call in it, so it is worked out once.
    for (node, name, plain), fn in zip(targets, innermost_containers(nodes, descendants(py.root, FUNCTIONS)),
                                       strict=True):
        if fn is None:
            caller, context = "", "module"
        else:
            known = per_function.get(id(fn))  # the sweep hands out the listed function objects themselves
            if known is None:
                caller = node_text(field(_outer_function(fn), "name")) if fn.type == "function_definition" else ""
                known = per_function[id(fn)] = (caller, py.context_in(fn))
            caller, context = known
        if node.type == "decorator":
            context = "module"
        calls.append((name, context, caller))
        if plain and name[:1].isupper():
            instantiations.append((name, "app-state" if made_for_app(node) else context))
    return calls, instantiations


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


class PyState(StateLanguage):
    """Python's answers for the one state-facts mechanism (state.py).

    What differs from TypeScript, and why: every candidate is an assignment, so the scope and the name are read
    off its left side and the function around it (`self.x` in `__init__`, `app.state.x`, a dataclass field's
    default factory); a class attribute is written through `cls.x`, `ClassName.x` and, unless an instance
    shadows it, `self.x`, and an instance field through the module-level instances of its class as well; a
    class attribute lives as long as the process (there are no request-scoped classes), a field as long as its
    instance; and the language-only facts are those of its idioms: start-up and handler context, `_instance`
    singletons, module-level cache objects and the functions (and their decorators) that write the state.
    """

    shapes = StateShapes(class_types=frozenset({"class_definition"}), class_scopes=frozenset({"class", "instance"}))

    def shape_facts(self, py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                    value: SyntaxNode | None) -> dict[str, Any]:
        """The container a candidate holds."""
        return {"container": container_of(value)}

    def scope_and_name(self, py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                       value: SyntaxNode | None) -> tuple[str, str]:
        """App state (`app.state.x`, `app.extensions["x"]`, `app.x =` at start-up: the `app_state_*` lists of
        the `contexts.python` vocabulary), `self.x` in `__init__`, a dataclass field, a closure's local, a class
        attribute or a module variable; an attribute set anywhere else is a function's doing."""
        left = field(target, "left")
        left_text = node_text(left)
        fn = enclosing(target, FUNCTIONS)
        cls = owner_of(py, target)[0]
        owner_var = node_text(field(left, "object")) if left is not None and left.type == "attribute" else ""
        fname = node_text(field(fn, "name")) if fn is not None else ""
        words = vocabulary()
        if _app_state_prefix(left_text) or _in_app_registry(left_text):
            scope, name = "app-state", left_text.split(".")[-1] if _in_app_namespace(left_text) else left_text
        elif owner_var in words.names("contexts.python.app_state_objects") and (
                fn is None or instantiation_context(py, target) == "startup"):
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

    def keys(self, py: PyFile, candidate: Candidate) -> list[tuple]:
        """A module variable by name; a class attribute through `cls`, its class's name and (unless shadowed)
        `self`; an instance field through `self` and its class's module-level instances; app state through each
        of `contexts.python.app_state_holders`. A closure's local and a function's attribute have no key:
        closure writes are found from the closures themselves."""
        scope, name, cls, class_name = candidate.scope, candidate.name, candidate.owner, candidate.owner_name
        if scope == "module":
            return [("name", name)]
        if scope == "class":
            shadowed = any(n == name for n, _ in py.instance_collections(cls)) or _assigned_in_init(cls, name)
            return [("cls", cls.id, name), ("attr", class_name or "", name)] + ([] if shadowed else [("self", cls.id, name)])
        if scope == "instance":
            return [("self", cls.id if cls else 0, name)] + [("attr", var, name) for var in module_instances(py, class_name)]
        if scope == "app-state":
            return [("attr", holder, name) for holder in _app_state_holders()]
        return []

    def owner_facts(self, py: PyFile, candidate: Candidate) -> dict[str, Any]:
        """Class attributes and instance fields are the class's; module variables, class attributes and app
        state live as long as the process."""
        scope = candidate.scope
        return {"owner_kind": "class" if scope in ("class", "instance") else "module",
                "lifetime_local": "process" if scope in ("module", "class", "app-state") else "unknown"}

    def extra_facts(self, py: PyFile, candidate: Candidate, keys: list[tuple], writes: list[WriteSite],
                    facts: dict[str, Any]) -> dict[str, Any]:
        """The value's callee and text, the context the assignment runs in, whether it holds one of the
        project's own objects or a class's one instance, its cache backend and the functions that write it.
        App state in a namespace or registry (`app.state.x`, `app.extensions["x"]`) is written after start-up
        wherever its assignment is."""
        target, value, name, scope, fn = candidate.target, candidate.value, candidate.name, candidate.scope, candidate.fn
        left_text = node_text(field(target, "left"))
        context = instantiation_context(py, target) if fn is not None else ""
        return {
            "callee_name": node_text(field(value, "function")).rsplit(".", 1)[-1] if value is not None and value.type == "call" else "",
            "value_text": node_text(value)[:300],
            "frozen": False,
            "written_after_init": facts["written_after_init"] or (scope == "app-state" and (
                _in_app_namespace(left_text) or _in_app_registry(left_text))),
            "in_startup": context == "startup",
            "in_handler": context == "handler",
            "own_class": _own_instance(py, value),
            "has_instance_pattern": scope == "class" and name in ("_instance", "__instance", "_instances")
                                    and candidate.owner is not None and py.has_singleton_instance(candidate.owner),
            "cache_backend": py.caches.objects.get(name, "") if scope == "module" else "",
            "writer_functions": _writer_functions(py, keys, writes),
        }


def _app_state_prefix(left_text: str) -> bool:
    """`app.state.x`: a namespace (`app_state_namespaces`) of an application object (`app_state_objects`)."""
    words = vocabulary()
    return left_text.startswith(tuple(f"{obj}.{space}." for obj in words.names("contexts.python.app_state_objects")
                                      for space in words.names("contexts.python.app_state_namespaces")))


def _in_app_namespace(left_text: str) -> bool:
    """`x.state.y`: an assignment into an application namespace, whatever holds it."""
    return any(f".{space}." in left_text for space in vocabulary().names("contexts.python.app_state_namespaces"))


def _in_app_registry(left_text: str) -> bool:
    """`app.extensions["x"]`: an assignment into an application registry (`app_state_registries`)."""
    return any(f".{registry}[" in left_text for registry in vocabulary().names("contexts.python.app_state_registries"))


def _app_state_holders() -> list[str]:
    """The names code writes app state through, in a fixed order (the keys' order is the events' order)."""
    return sorted(vocabulary().names("contexts.python.app_state_holders"))


PYTHON = PyState()
state_scope = PYTHON.state_scope
shape_facts = PYTHON.shape_facts
early_state_facts = PYTHON.early_state_facts
state_facts = PYTHON.state_facts


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


def global_shape_facts(py: PyFile, target: SyntaxNode,
                       name_node: SyntaxNode | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """The facts of a module variable its file settles before the rest are read: does any function rebind it
    through `global`, its name, its container, and is it reported at another node? Most module variables are
    never rebound, and a rule that wants them rebound stops here (match.py)."""
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
        "scope": "module", **naming_facts(name, None), "container": container_of(value),
        "rebound": bool(writes), "writes": frozenset(w.op for w in writes), "written_after_init": False,
        "owner_kind": "module", "lifetime_local": "process", "duplicate": duplicate,
    }, writes


def global_facts(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                 shape: tuple[dict[str, Any], list[WriteSite]] | None = None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a module variable: does any function rebind it through `global`? (`shape`: what
    global_shape_facts gave, when the caller has it.)"""
    facts, writes = shape or global_shape_facts(py, target, name_node)
    tags = write_tags(py.parsed, [w.line for w in writes])
    return {
        **facts, "clients": py.clients_in(py.root),
        "rebound_at_startup": bool(writes) and _rebound_only_at_startup(py, node_text(name_node)),
        "stored": tags, "increments": "increment" in tags,
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
        **naming_facts(name, class_name),
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
    left = field(target, "left")
    if target.type == "decorator":
        decorated = next((c for c in named_children(parent_of(target)) if c.type == "class_definition"), None)
        name = py.class_name(decorated) or ""
        return {
            "scope": "module", **naming_facts(name, name, symbol=name), "decorator": "singleton",
            "has_instance_pattern": False, **singleton_class_facts(py, decorated, True, class_in_file=True),
        }, []
    value = field(target, "right")
    owns = connection_kind(py, value)
    return {
        "contextvar_shared_default": _contextvar_shared_default(py, target, value),
        "owns_connection": owns,
        "value_text": node_text(value)[:300],
        "client_manager": has_client_manager(value) if owns == "socketio" else False,
        "scope": "module" if enclosing(target, frozenset({"class_definition"})) is None else "class",
        **naming_facts(name, name, symbol=node_text(left) if left is not None
                       and enclosing(target, frozenset({"class_definition"})) is None else f"{name}._instance"),
        "has_instance_pattern": cls is not None and py.has_singleton_instance(cls),
        **singleton_class_facts(py, cls, own_class),
    }, []
