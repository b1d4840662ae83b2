"""Facts about TypeScript/JavaScript state: scope, writes after start-up, owners, singletons, shared stores."""

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
    node_bytes,
    node_text,
    nodes_of_types,
    parent_of,
)
from ..vocabulary import current as vocabulary
from .common import naming_facts, split_words
from .index import ClassInfo, FileIndex
from .references import singleton_class_facts
from .state import Candidate, StateLanguage, StateShapes
from .ts_calls import held_by, is_fs_call, memory_limiter, stored_later
from .ts_file import TsFile, instantiation_context
from .ts_syntax import (
    CLASS_TYPES,
    container_of,
    decorator_name,
    function_name,
    is_frozen,
    param_names,
    unwrap,
)

_INDEXED_NO_PAIRS = CLASS_TYPES | {"new_expression", "call_expression"}
_INDEXED_HERE = _INDEXED_NO_PAIRS | {"pair"}
_TYPE_NAMES = frozenset({"identifier", "type_identifier"})


def file_index(ts: TsFile) -> FileIndex:
    index = FileIndex()
    long_lived = vocabulary().names("contexts.typescript.long_lived_decorators")
    provider_keys = vocabulary().names("contexts.typescript.provider_keys")
    source = ts.parsed.source
    # A file write's callee and a provider's key are named in the file: most files name none of them.
    file_writers = frozenset(writer for name in vocabulary().names("libraries.typescript.file_writers")
                             if (writer := name.encode()) in source)
    listed = _INDEXED_HERE
    if not any(key.encode() in source for key in provider_keys):
        listed = _INDEXED_NO_PAIRS
    for node in descendants(ts.root, listed):
        if node.type in CLASS_TYPES:
            name = ts.class_name(node)
            if not name:
                continue
            decorators = tuple(decorator_name(d) for d in ts.class_decorators(node))
            index.classes.append(ClassInfo(
                name=name, file=ts.parsed.rel, decorators=decorators,
                request_scoped=ts.request_scoped(node),
                long_lived_decorator=any(d in long_lived for d in decorators),
                has_static_instance=ts.static_instance_field(node) is not None,
                stateful_fields=ts.stateful_fields(node),
                clients=ts.clients_in(node),
            ))
        elif node.type == "new_expression":
            ctor = field(node, "constructor")
            if ctor is not None and ctor.type == "member_expression":
                ctor = field(ctor, "property")  # new geofence.EtaCalculator(...)
            if ctor is not None and ctor.type in ("identifier", "property_identifier"):
                index.instantiations.append((node_text(ctor), _instance_context(ts, node)))
                if memory_limiter(ts, node_text(ctor)) and ts.class_of(node) is not None:
                    fn = enclosing(node, FUNCTION_TYPES)
                    if fn is not None and node_text(field(fn, "name")) == "constructor":
                        index.limiter_classes.add(ts.class_name(ts.class_of(node)) or "")
        elif node.type == "call_expression":
            writer = _file_writer_name(ts, node, file_writers) if file_writers else ""
            if writer:
                index.file_writers.add(writer)
            callee = field(node, "function")
            obj = field(callee, "object") if callee is not None and callee.type == "member_expression" else None
            if obj is not None and obj.type == "identifier" and node_text(obj)[:1].isupper() \
                    and ts.class_name(ts.class_of(node)) != node_text(obj):  # the class's own calls are followed in it
                index.static_calls.append((node_text(obj), node_text(field(callee, "property")), _call_context(ts, node)))
        elif node.type == "pair" and node_text(field(node, "key")) in provider_keys:
            for ident in descendants(field(node, "value"), "identifier"):
                index.instantiations.append((node_text(ident), "provider"))
    # Writes through a singleton ("field" keys) need a file that names one; the others need no events table.
    for key, events in ts.events.items() if ts.names_a_singleton else ():
        if key[0] == "field":
            for _line, op, fn in events:
                if op not in ("read", "rebind") and fn is not None and ts.after_start_up(fn):
                    index.field_writes.append((key[1], key[2], op))
            for node, fn in ts.rebinds.get(key, []):
                if fn is not None and ts.after_start_up(fn) and field(node, "right") is not None:
                    index.field_writes.append((key[1], key[2], "rebind:" + value_kind(field(node, "right"))))
    return index


def _file_writer_name(ts: TsFile, call: SyntaxNode, file_writers: frozenset[bytes]) -> str:
    """The helper a file write belongs to when it writes at a path its caller passes in (`outputFile(uri, path)`).

    Calls of such a helper elsewhere in the service write files too, at a place only the caller knows. The
    write is an fs call whose last name is one of the vocabulary's `libraries.typescript.file_writers`
    (`file_writers`, encoded: every call of the file is asked, and most are not writes).
    """
    function = field(call, "function")
    # The callee's last name, read off its property rather than its whole text: a chained call's callee
    # spans the chain.
    last = field(function, "property") if function is not None \
        and function.type == "member_expression" else function
    if last is None or node_bytes(last) not in file_writers:
        return ""
    callee = node_text(function)
    if not is_fs_call(ts, callee):
        return ""
    args = named_children(field(call, "arguments"))
    fn = enclosing(call, FUNCTION_TYPES)
    while fn is not None and not function_name(fn):
        fn = enclosing(fn, FUNCTION_TYPES)
    if fn is None or not args:
        return ""
    params = {p for p in param_names(fn) if p}
    words = {node_text(n) for n in descendants(args[0], "identifier")}
    return function_name(fn) if params & words else ""




def _call_context(ts: TsFile, call: SyntaxNode) -> str:
    """'load' for a call made while the service boots (module level, start-up functions, load-time helpers)."""
    fn = enclosing(call, FUNCTION_TYPES)
    if fn is None or ts.only_called_at_load(fn):
        return "load"
    context = instantiation_context(ts, call)
    return "load" if context in ("module", "startup") else context


def _members_used(body: SyntaxNode | None, class_name: str) -> set[str]:
    """The members a method body reaches through `this.m` or `ClassName.m` (any `x.m` in an anonymous class),
    read from its member expressions: a comment or a string that names one does not count."""
    used = set()
    for member in descendants(body, "member_expression") if body is not None else ():
        owner = node_text(field(member, "object"))
        if owner in ("this", class_name) or not class_name and (owner[-1:].isalnum() or owner.endswith("_")):
            used.add(node_text(field(member, "property")))
    return used


def writer_methods(ts: TsFile, cls: SyntaxNode | None, writes_fns: list[SyntaxNode]) -> frozenset[str]:
    """The methods of `cls` that write some state, and the methods that reach them through `this.m()`/`Cls.m()`."""
    if cls is None:
        return frozenset()
    methods = {node_text(field(m, "name")): m for m in named_children(field(cls, "body")) if m.type == "method_definition"}
    found: set[str] = set()
    for fn in writes_fns:
        outer = fn
        while outer is not None and outer.type != "method_definition":
            outer = enclosing(outer, FUNCTION_TYPES)
        if outer is None or ts.class_of(outer) != cls:
            return frozenset()  # written from outside the class's methods: callers are not the whole story
        found.add(node_text(field(outer, "name")))
    class_name = ts.class_name(cls) or ""
    used: dict[str, set[str]] = {}  # method -> the members it reaches, read once
    changed = True
    while changed:
        changed = False
        for name, method in methods.items():
            if name in found:
                continue
            if name not in used:
                used[name] = _members_used(field(method, "body"), class_name)
            if used[name] & found:
                found.add(name)
                changed = True
    return frozenset(found)


def _instance_context(ts: TsFile, new: SyntaxNode) -> str:
    """Where an object is made; one made in a handler but kept in a module or static registry is a 'registry' object.

    Objects kept per key in a long-lived collection (`monitors.set(id, new Monitor())`, `Calc.list[id] = c`)
    live as long as that collection, not as long as the request that created them.
    """
    context = instantiation_context(ts, new)
    if context in ("module", "startup"):
        return context
    fn = enclosing(new, FUNCTION_TYPES)
    held = held_by(ts, new, fn)
    if held in ("collection", "module"):
        return "registry"
    if held == "local" and fn is not None:
        parent = parent_of(new)
        while parent is not None and parent.type not in ("variable_declarator", "assignment_expression"):
            parent = parent_of(parent)
        name = node_text(field(parent, "name") or field(parent, "left")) if parent is not None else ""
        if name and stored_later(ts, fn, name):
            return "registry"
    return context


class TsState(StateLanguage):
    """TypeScript/JavaScript's answers for the one state-facts mechanism (state.py).

    What differs from Python, and why: a scope is read off the declaration's node type (a class field, an
    `exports.x =`, an `app.locals.x =`), not off the names around an assignment; a class field is written
    through `this.x` and a static one through `ClassName.x` as well; a field's owner is its class, which a
    framework may make anew per request (NestJS `Scope.REQUEST`), so its lifetime is the class's; and the
    language-only facts are those of its idioms: `const` and `Object.freeze`, `new X()` values, lazy holders
    (`this.client ??= new Redis()`), exported declarations and the static methods that write a field.
    """

    shapes = StateShapes(class_types=CLASS_TYPES,
                         class_scopes=frozenset({"export", "static", "instance", "app-state", "closure", "function"}))

    def shape_facts(self, ts: TsFile, target: SyntaxNode, name_node: SyntaxNode | None,
                    value: SyntaxNode | None) -> dict[str, Any]:
        """The container a candidate holds and the keyword it is declared with."""
        declaration = parent_of(target) if target.type == "variable_declarator" else None
        declared_with = node_text(children_of(declaration)[0]) if declaration is not None and children_of(declaration) else None
        shape = {"container": container_of(value) or _project_collection(ts, value), "declared_with": declared_with}
        if declared_with == "const":  # never rebound, so never a lazy holder: known before its uses are read
            shape.update(_NOT_REBOUND_LAZILY)
        return shape

    def scope_and_name(self, ts: TsFile, target: SyntaxNode, name_node: SyntaxNode | None,
                       value: SyntaxNode | None) -> tuple[str, str]:
        """A class field is static or instance state; `exports.x =` at module level is an export; a member of
        an object's `contexts.typescript.app_state_properties` (`app.locals.x =`) set at module level or in
        start-up code is app state; `this.x =` in a constructor is instance state."""
        name = node_text(name_node)
        fn = enclosing(target, FUNCTION_TYPES)
        if target.type in ("public_field_definition", "field_definition"):
            scope = "static" if ts.is_static(target) else "instance"
        elif target.type == "assignment_expression" and fn is None and node_text(field(field(target, "left"), "object")) in (
                "exports", "module.exports"):
            scope = "export"
        elif target.type == "assignment_expression":
            left = field(target, "left")
            holder = field(left, "object") if left is not None else None
            if holder is not None and node_text(field(holder, "property")) in ts.app_state_properties and (
                    fn is None or instantiation_context(ts, target) in ("startup", "module")):
                scope = "app-state"
            else:
                scope = "instance" if fn is not None and node_text(field(fn, "name")) == "constructor" else "function"
        elif fn is not None:
            scope = "closure" if ts.closure_lives_long(fn, name) else "function"
        else:
            scope = "module"
        return scope, name

    def keys(self, ts: TsFile, candidate: Candidate) -> list[tuple]:
        """A closure's local and a module variable by name, an export through `exports`, app state through `app`,
        a field through `this` (and a static one through its class's name too)."""
        scope, name, cls = candidate.scope, candidate.name, candidate.owner
        if scope == "export":
            return [("exports", name)]
        if scope in ("module", "closure"):
            return [("name", name)]
        if scope == "app-state":
            return [("app", name)]
        if scope == "static":
            return [("this", cls.id if cls else 0, name), ("static", candidate.owner_name or "", name)]
        return [("this", cls.id if cls else 0, name)]

    def owner_facts(self, ts: TsFile, candidate: Candidate) -> dict[str, Any]:
        """State in a class is the class's, and lives as long as an instance: one request for a request-scoped
        class, unknown until the join follows where the class is made. Anything else lives for the process."""
        cls = candidate.owner if candidate.scope != "module" else None
        if cls is None:
            return {"lifetime_local": "process", "owner_kind": "module"}
        return {"lifetime_local": "request" if ts.request_scoped(cls) else "unknown", "owner_kind": "class"}

    def extra_facts(self, ts: TsFile, candidate: Candidate, keys: list[tuple], writes: list[WriteSite],
                    facts: dict[str, Any]) -> dict[str, Any]:
        """The value's class and type words, `frozen`, `exported`, how it is rebound (lazy holders), and for a
        static field the methods that write it."""
        target, value, name, scope = candidate.target, candidate.value, candidate.name, candidate.scope
        declaration = parent_of(target) if target.type == "variable_declarator" else None
        declared = parent_of(target)
        return {
            "value_class": node_text(field(unwrap(value), "constructor")) if unwrap(value) is not None and unwrap(value).type == "new_expression" else "",
            "type_words": frozenset(_type_words(target, value)),
            "frozen": is_frozen(value) or (declaration is not None and node_text(declaration).startswith("const") and name.isupper() and not writes),
            "exported": declared is not None and parent_of(declared) is not None and parent_of(declared).type == "export_statement",
            **_rebind_facts(ts, keys, scope, facts.get("declared_with") == "const"),
            "writer_methods": writer_methods(ts, candidate.owner, ts.write_functions(keys, scope, name)) if scope == "static" else frozenset(),
        }


TYPESCRIPT = TsState()
state_scope = TYPESCRIPT.state_scope
shape_facts = TYPESCRIPT.shape_facts
early_state_facts = TYPESCRIPT.early_state_facts
state_facts = TYPESCRIPT.state_facts


_CONDITION_TYPES = frozenset({"if_statement", "binary_expression", "unary_expression", "ternary_expression",
                             "parenthesized_expression"})


_NOT_REBOUND_LAZILY = {"lazy_init": False, "lazy_instance": False}


def _rebind_facts(ts: TsFile, keys: list[tuple], scope: str, constant: bool = False) -> dict[str, Any]:
    """How a field or variable is rebound after start-up: lazily (set once when first needed), to what.

    `this.client || (this.client = new Redis())`, `if (!X.client) X.client = new Redis()` and
    `if (this.p) return this.p; this.p = load()` make a lazy holder: one object per process, created on
    first use. A flag only ever set to the same literal (`shuttingDown = true`) is a one-way lifecycle flag.
    A `const` (`constant`) is never rebound: an assignment of its name is to another variable that shadows it.
    """
    if constant or scope not in ("static", "module", "instance", "export"):
        return {"rebound_at_runtime": False, "lazy_init": False, "lazy_instance": False, "holds_client": "",
                "rebound_to": frozenset(), "one_way_flag": False}
    sites = ts.runtime_rebinds(keys)
    values = [unwrap(field(node, "right")) for node, _fn in sites]
    kinds = {value_kind(v) for v in values if v is not None}
    filled = [(node, fn) for node, fn in sites if node_text(field(node, "right")) not in ("null", "undefined")]
    lazy = bool(filled) and all(_guarded_by_absence(ts, node, fn) for node, fn in filled) \
        and bool(kinds & {"instance", "value"}) and "timer-handle" not in kinds
    clients = [_client_constructed(ts, v) for v in values if v is not None and v.type == "new_expression"]
    literals = {node_text(v) for v in values if v is not None}
    return {"rebound_at_runtime": bool(sites), "lazy_init": lazy,
            "lazy_instance": lazy and "instance" in kinds and not kinds & {"value", "literal"}, "holds_client": next((c for c in clients if c), ""),
            "rebound_to": frozenset(kinds), "one_way_flag": len(literals) == 1 and literals <= {"true", "false"}}


def value_kind(value: SyntaxNode) -> str:
    """What an assignment stores: instance, timer-handle, reset (null/undefined), literal or value.

    `new Date()` and the other `libraries.typescript.value_classes` make values, not objects that own state
    or a connection; a call named like `libraries.typescript.factory_calls` (`createQueue()`) makes an instance."""
    value = unwrap(value)
    while value.type == "await_expression" and named_children(value):
        value = unwrap(named_children(value)[0])
    words = vocabulary()
    if value.type == "new_expression":
        return "value" if node_text(field(value, "constructor")) in words.names("libraries.typescript.value_classes") \
            else "instance"
    if value.type == "call_expression" and words.matcher("libraries.typescript.factory_calls").search(
            node_text(field(value, "function")).rsplit(".", 1)[-1]):
        return "instance"  # createQueue(...), chromium.launch(), mongoose.connect(...)
    if value.type == "call_expression" and node_text(field(value, "function")) in ("setInterval", "setTimeout", "setImmediate"):
        return "timer-handle"
    if node_text(value) in ("null", "undefined"):
        return "reset"
    if value.type in ("true", "false", "number", "string", "template_string"):
        return "literal"
    return "value"


_ABSENCE_CHECKS = frozenset({"unary_expression", "binary_expression", "if_statement",
                             "augmented_assignment_expression"})
_MEMBER_OF = (("member_expression", "object"), ("call_expression", "function"), ("subscript_expression", "object"),
              ("non_null_expression", None))


def _guarded_by_absence(ts: TsFile, assignment: SyntaxNode, fn: SyntaxNode) -> bool:
    """Does the assignment run only when the target is still empty (`x || (x = ...)`, `if (!x) x = ...`, `??=`)?

    Read from the function's operators and `if` statements: `!x`, `x == null`, `if (x) return`, `x || ...`,
    `x ?? ...`, `x ??= ...`; a comment or a string that shows one does not count."""
    if assignment.type == "augmented_assignment_expression":
        return True  # only `??=` and `||=` are recorded as rebinds
    target = node_text(field(assignment, "left"))
    parent = parent_of(assignment)
    while parent is not None and parent.type == "parenthesized_expression":
        parent = parent_of(parent)
    if parent is not None and parent.type == "binary_expression" and node_text(field(parent, "left")) == target \
            and node_text(field(parent, "operator")) in ("||", "??"):
        return True
    for node in nodes_of_types(field(fn, "body"), ts.parsed.language, _ABSENCE_CHECKS):
        if node.type == "unary_expression":
            if node_text(field(node, "operator")) == "!" and _starts_with(field(node, "argument"), target):
                return True  # `!this.client`
        elif node.type == "binary_expression":
            operator, left = node_text(field(node, "operator")), node_text(field(node, "left"))
            if operator in ("||", "??") and left.endswith(target):
                return True  # `this.client || ...`
            if operator in ("==", "===") and left.endswith(target) \
                    and node_text(field(node, "right")) in ("null", "undefined"):
                return True  # `this.client == null`
        elif node.type == "augmented_assignment_expression":
            if node_text(field(node, "operator")) in ("||=", "??=") and node_text(field(node, "left")).endswith(target):
                return True  # `this.client ??= ...` elsewhere in the function
        elif _returns_when_present(node, target):
            return True
    return False


def _starts_with(node: SyntaxNode | None, target: str) -> bool:
    """Is the expression `target` itself, or `target(...)`, `target[...]`, `target!` (not `target.x`)?"""
    while node is not None:
        if node_text(node) == target:
            outer = parent_of(node)  # `target.x` reads a member; `target?.x` still asks whether target is set
            return outer is None or not (outer.type == "member_expression" and field(outer, "object") == node
                                         and not any(c.type == "optional_chain" for c in children_of(outer)))
        node = next((field(node, part) if part else (named_children(node) or [None])[0]
                     for kind, part in _MEMBER_OF if node.type == kind), None)
    return False


def _returns_when_present(statement: SyntaxNode, target: str) -> bool:
    """`if (target) return ...` or `if (target) { return ... }`: the function stops when the target is set."""
    condition = field(statement, "condition")
    inner = [c for c in named_children(condition) if c.type != "comment"]
    if len(inner) != 1 or node_text(inner[0]) != target:
        return False
    consequence = field(statement, "consequence")
    if consequence is not None and consequence.type == "statement_block":
        consequence = next((c for c in named_children(consequence) if c.type != "comment"), None)
    return consequence is not None and consequence.type == "return_statement"


def _client_constructed(ts: TsFile, value: SyntaxNode) -> str:
    """The store a `new X(...)` is a client of: `new Redis()`, `new Redlock()`, `new this()` in a Redis subclass."""
    ctor = node_text(field(value, "constructor"))
    names = [ctor]
    if ctor == "this":
        cls = ts.class_of(value)
        heritage = next((c for c in children_of(cls) if c.type == "class_heritage"), None) if cls is not None else None
        names = [node_text(n) for n in descendants(heritage, _TYPE_NAMES)] if heritage else []
    words = vocabulary()
    for name in names:
        ref = ts.client_ref(name)
        if ref:
            return ref[0]
        kind = words.group_searched("clients.typescript.constructed", name)
        if kind:
            return kind
    return ""




def _project_collection(ts: TsFile, value: SyntaxNode | None) -> str | None:
    """'collection' for `new X()` of the project's own collection class; a package's `new Queue()` is a client."""
    value = unwrap(value)
    if value is None or value.type != "new_expression":
        return None
    ctor = field(value, "constructor")
    named_for_one = vocabulary().matcher("libraries.typescript.collection_classes")  # `LimitQueue`, `RingBuffer`
    if ctor is None or ctor.type != "identifier" or not named_for_one.search(node_text(ctor)):
        return None
    source = ts.imports.get(node_text(ctor))
    return "collection" if (source is None and node_text(ctor) in ts.class_names) or (source or "").startswith(".") else None


def _type_words(target: SyntaxNode, value: SyntaxNode | None) -> set[str]:
    """Words of the element type: `Map<string, PatternStats>` says more than a field called `patterns`. The
    vocabulary's `categories.type_wrappers` (`Map`, `Partial`) say how values are held, not what they are."""
    words: set[str] = set()
    wrappers = vocabulary().names("categories.type_wrappers")
    for node in (field(unwrap(value), "type_arguments") if value is not None else None, field(target, "type")):
        for part in descendants(node, "type_identifier") if node is not None else []:
            if node_text(part) not in wrappers:
                words |= split_words(node_text(part))
    return words


def singleton_facts(ts: TsFile, target: SyntaxNode, class_name: str | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a singleton: its class, and whether that class holds state written at runtime."""
    cls = ts.class_of(target)
    if cls is None and class_name:
        cls = next((n for n in descendants(ts.root, CLASS_TYPES) if ts.class_name(n) == class_name), None)
    own_class = cls is not None or (class_name in ts.imports and ts.imports[class_name].startswith("."))
    name = class_name or ts.class_name(cls)
    instance_field = ts.static_instance_field(cls) if cls is not None else None
    if target.type in ("public_field_definition", "field_definition"):
        has_pattern = instance_field is not None and instance_field == target
    elif target.type == "method_definition":
        has_pattern = instance_field is None and cls is not None
    else:
        has_pattern = False
    facts = {
        "scope": "static" if target.type in ("public_field_definition", "field_definition", "method_definition") else "module",
        **naming_facts(name or "", name, symbol=f"{name}.getInstance()" if has_pattern else _export_symbol(target, name)),
        "has_instance_pattern": has_pattern,
        **singleton_class_facts(ts, cls, own_class),
    }
    return facts, []


def _export_symbol(target: SyntaxNode, class_name: str | None) -> str:
    for node in descendants(target, "variable_declarator"):
        return node_text(field(node, "name"))
    return f"default export ({class_name})" if class_name else "default export"
