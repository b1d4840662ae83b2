"""Per-file analysis of TypeScript/JavaScript: imports, clients, classes, references and writes."""

from __future__ import annotations

from functools import cached_property

from ..syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    SyntaxNode,
    ancestors,
    bytes_of,
    children_of,
    descendants,
    enclosing,
    field,
    is_named,
    line_of,
    named_children,
    node_bytes,
    node_text,
    nodes_of_types,
    parent_of,
    prev_sibling_of,
)
from ..vocabulary import current as vocabulary
from .references import (
    ClientUnits,
    ClosureShapes,
    ContextShapes,
    FieldShapes,
    FileAnalysis,
    ImportShapes,
    PathShapes,
    WriteShapes,
)
from .ts_syntax import (
    CLASS_TYPES,
    MUTATING_HELPERS,
    MUTATORS,
    WRAPPERS,
    container_of,
    declared_name,
    decorator_name,
    function_name,
    param_names,
    unwrap,
)

_IMPORTED_NAMES = frozenset({"identifier", "import_specifier"})
_MEMBER_NAMES = frozenset({"identifier", "property_identifier"})
_INSTANCE_ACCESSORS = frozenset({"call_expression", "method_definition"})
_BOUND_NAMES = frozenset({"identifier", "shorthand_property_identifier_pattern"})
_ASSIGNMENTS = frozenset({"assignment_expression", "augmented_assignment_expression"})
_CLIENT_REF_TYPES = frozenset({"identifier", "type_identifier", "member_expression", "decorator"})
_CLIENT_MEMBER_TYPES = frozenset({"member_expression", "decorator"})
_CLIENT_PROP_TYPES = frozenset({"identifier", "type_identifier", "decorator"})


# What `module.exports = { a, b: c }` names: its identifiers and keys.
_EXPORTED_NAME_TYPES = frozenset({"identifier", "shorthand_property_identifier", "property_identifier"})


# Where an identifier declares or binds a name rather than referring to one (a declarator's value refers).
_BINDING_PARENTS = frozenset({
    "variable_declarator", "required_parameter", "optional_parameter", "formal_parameters", "import_specifier",
    "import_clause", "function_declaration", "class_declaration", "pair_pattern",
    "shorthand_property_identifier_pattern", "labeled_statement",
})


class TsFile(FileAnalysis):
    """Per-file analysis, computed once and shared by every candidate in the file."""

    function_types = FUNCTION_TYPES
    reference_types = frozenset({"identifier", "member_expression"})
    write_shapes = WriteShapes(
        wrappers=WRAPPERS, member="member_expression", member_object="object", member_name="property",
        call="call_expression", call_function="function", arguments="arguments",
        subscript="subscript_expression", subscript_object="object",
        assignments=frozenset({"assignment_expression", "augmented_assignment_expression"}),
        mutators=MUTATORS, entry_getters=(".get", ".at"), updates=frozenset({"update_expression"}),
        delete_operator="unary_expression", mutating_helpers=MUTATING_HELPERS, alias_declarator="variable_declarator")
    client_units = ClientUnits(constructors=frozenset({"constructor"}), constructor_types=frozenset({"method_definition"}),
                               methods=frozenset({"method_definition"}))
    closure_shapes = ClosureShapes(
        inline_functions=frozenset({"arrow_function", "function_expression", "method_definition"}),
        hand_out_calls="contexts.typescript.hand_out_calls", registrations="contexts.typescript.registration_calls",
        not_factory_parameter_words="contexts.typescript.handler_parameters")
    context_shapes = ContextShapes(
        startup_functions="contexts.typescript.startup_functions", handler_parameters="contexts.typescript.handler_parameters",
        handler_decorators="contexts.typescript.handler_decorators", handler_first=True,
        startup_names=frozenset({"constructor"}))
    import_shapes = ImportShapes(
        statements=frozenset({"import_statement", "lexical_declaration", "variable_declaration"}), top_level=True,
        client_modules="clients.typescript.modules", submodule_separator="/",
        local_client_names="clients.typescript.local_names")
    path_shapes = PathShapes(names=frozenset({"identifier", "member_expression"}), limit=400)
    field_shapes = FieldShapes(member_key="this", instance_names=frozenset({"instance", "_instance", "INSTANCE"}))

    # -- imports and clients -------------------------------------------------
    def import_bindings(self, statement: SyntaxNode) -> list[tuple[str, str]]:
        """ES imports (default, namespace, `{a as b}`) and `const x = require('m')` (destructuring too)."""
        found: list[tuple[str, str]] = []
        if statement.type == "import_statement":
            source = node_text(field(statement, "source")).strip("'\"`")
            for child in descendants(statement, _IMPORTED_NAMES):
                if child.type == "identifier" and parent_of(child) is not None and parent_of(child).type != "import_specifier":
                    found.append((node_text(child), source))
                elif child.type == "import_specifier":
                    alias = field(child, "alias") or field(child, "name")
                    found.append((node_text(alias), source))
        else:
            for decl in named_children(statement):
                value = unwrap(field(decl, "value"))
                if value is not None and value.type == "call_expression" and node_text(field(value, "function")) == "require":
                    args = named_children(field(value, "arguments"))
                    source = node_text(args[0]).strip("'\"`") if args else ""
                    name = field(decl, "name")
                    for ident in descendants(name, _BOUND_NAMES) if name is not None else []:
                        found.append((node_text(ident), source))
        return found

    def member_clients(self, node: SyntaxNode) -> dict[str, tuple[str, str, bool]]:
        return self.client_props(self.class_of(node) if node.type not in CLASS_TYPES else node)

    @cached_property
    def client_sites(self) -> tuple[list[int], list[tuple[int, tuple[str, str, bool] | None, str | None]]]:
        """An imported client's name or type (a project class that only looks like a client, `FilesRepository`,
        is checked against the service index later), a decorator that injects one
        (`clients.typescript.decorators`), and each `this.x`: the member `x`, with the use it makes when the
        asking node's class holds no client in `x` (a name like `clients.typescript.local_names`, or none)."""
        words = vocabulary()
        client_decorators = words.labels("clients.typescript.decorators")
        starts: list[int] = []
        sites: list[tuple[int, tuple[str, str, bool] | None, str | None]] = []
        named: dict[str, tuple[str, str, bool] | None] = {}  # `this.x` -> the use its name alone says, once per x
        # A name is a client use only if the file imports a client by it: without one, names need no look.
        for child in descendants(self.root, _CLIENT_REF_TYPES if self.client_names else _CLIENT_MEMBER_TYPES):
            ref, prop = None, None
            if child.type in ("identifier", "type_identifier"):
                ref = self.client_ref(node_text(child))
            elif child.type == "member_expression" and node_text(field(child, "object")) == "this":
                prop = node_text(field(child, "property"))
                if prop not in named:
                    kind = words.group_searched("clients.typescript.local_names", prop) if prop != "queue" else None
                    named[prop] = (kind, prop, False) if kind is not None else None
                ref = named[prop]
            elif child.type == "decorator":
                kind = client_decorators.get(decorator_name(child))
                ref = (kind, decorator_name(child), False) if kind else None
            if ref is not None or prop is not None:
                site_start, site_end = bytes_of(child)
                starts.append(site_start)
                sites.append((site_end, ref, prop))
        return starts, sites

    def client_ref(self, name: str) -> tuple[str, str, bool] | None:
        kind = self.client_names.get(name)
        if kind is None:
            return None
        return kind, name, self.imports.get(name, "").startswith(".")

    def client_props(self, cls: SyntaxNode | None) -> dict[str, tuple[str, str, bool]]:
        """Fields and constructor parameters of a class whose type or initialiser is a client."""
        if cls is None:
            return {}
        cache = self.__dict__.setdefault("_props_cache", {})
        if cls.id in cache:
            return cache[cls.id]
        props: dict[str, tuple[str, str, bool]] = {}
        client_decorators = vocabulary().labels("clients.typescript.decorators")
        members = []
        for member in named_children(field(cls, "body")):
            if member.type in ("public_field_definition", "field_definition"):
                members.append((node_text(field(member, "name") or field(member, "property")), member))
            elif member.type == "method_definition" and node_text(field(member, "name")) == "constructor":
                for param in named_children(field(member, "parameters")):
                    pattern = field(param, "pattern")
                    if pattern is not None:
                        members.append((node_text(pattern), param))
        for name, node in members:
            for part in descendants(node, _CLIENT_PROP_TYPES):
                ref = None
                if part.type in ("identifier", "type_identifier") and part != field(node, "name"):
                    ref = self.client_ref(node_text(part))
                elif part.type == "decorator":
                    kind = client_decorators.get(decorator_name(part))
                    ref = (kind, decorator_name(part), False) if kind else None
                if ref:
                    props[name] = ref
                    break
        cache[cls.id] = props
        return props

    @cached_property
    def fs_names(self) -> set[str]:
        fs_modules = vocabulary().names("libraries.typescript.fs_modules")
        names = {local for local, source in self.imports.items() if source in fs_modules}
        return names | {"fs", "fsp", "fsPromises"}

    # -- classes -------------------------------------------------------------
    def class_of(self, node: SyntaxNode) -> SyntaxNode | None:
        return enclosing(node, CLASS_TYPES)

    @cached_property
    def class_names(self) -> frozenset[str]:
        """Names of the classes declared in this file."""
        return frozenset(filter(None, (self.class_name(n) for n in descendants(self.root, CLASS_TYPES))))

    @staticmethod
    def class_name(cls: SyntaxNode | None) -> str | None:
        return (declared_name(cls) or None) if cls is not None else None

    @staticmethod
    def class_decorators(cls: SyntaxNode) -> list[SyntaxNode]:
        found = [c for c in children_of(cls) if c.type == "decorator"]
        parent = parent_of(cls)
        if parent is not None and parent.type == "export_statement":
            found += [c for c in children_of(parent) if c.type == "decorator"]
        return found

    def request_scoped(self, cls: SyntaxNode) -> bool:
        """A class made anew per request or per injection: a class decorator names one of
        `contexts.typescript.request_scopes` (NestJS `@Injectable({ scope: Scope.REQUEST })`). Read from the
        decorators' member expressions, so a comment that says `Scope.REQUEST` does not count."""
        scopes = vocabulary().names("contexts.typescript.request_scopes")
        return any(node_text(member) in scopes
                   for d in self.class_decorators(cls) for member in descendants(d, "member_expression"))

    def static_instance_field(self, cls: SyntaxNode) -> SyntaxNode | None:
        """The static field of a class's singleton (`private static instance: Db`), when the class hands it out:
        a static field named like `contexts.typescript.singleton_fields`, in a class that names `getInstance` or
        has an `instance()`."""
        body = field(cls, "body")
        singleton_name = vocabulary().matcher("contexts.typescript.singleton_fields")
        for member in named_children(body):
            if member.type in ("public_field_definition", "field_definition") and self.is_static(member):
                if singleton_name.search(node_text(field(member, "name") or field(member, "property"))):
                    return member if self._hands_out_instance(body) else None
        return None

    def _hands_out_instance(self, body: SyntaxNode | None) -> bool:
        """Does the class body name `getInstance` or define or call an `instance()` with no arguments
        (`static instance()`, `Db.instance()`)? Read from its names and calls, not its comments."""
        if body is None:
            return False
        getters = self._singleton_access[0]
        names = nodes_of_types(body, self.parsed.language, _MEMBER_NAMES)
        if any(getter in node_text(n) for n in names for getter in getters):
            return True
        for node in descendants(body, _INSTANCE_ACCESSORS):
            name = field(node, "function") if node.type == "call_expression" else field(node, "name")
            empty = field(node, "arguments") if node.type == "call_expression" else field(node, "parameters")
            if node_text(name).endswith("instance") and not named_children(empty):
                return True
        return False

    @staticmethod
    def is_static(member: SyntaxNode) -> bool:
        return any(c.type == "static" or node_text(c) == "static" for c in children_of(member) if not is_named(c) or c.type == "static")

    def method_decorators(self, method: SyntaxNode) -> list[str]:
        names = []
        sibling = prev_sibling_of(method)
        while sibling is not None and sibling.type == "decorator":
            names.append(decorator_name(sibling))
            sibling = prev_sibling_of(sibling)
        names += [decorator_name(c) for c in children_of(method) if c.type == "decorator"]
        return names

    # -- references and writes --------------------------------------------------

    def _base_key(self, node: SyntaxNode) -> tuple | None:
        kind = node.type
        if kind == "identifier":
            parent = parent_of(node)
            if parent is not None:
                parent_kind = parent.type
                if parent_kind == "member_expression" and field(parent, "property") == node:
                    return None
                if parent_kind in _BINDING_PARENTS and not (
                        parent_kind == "variable_declarator" and field(parent, "value") == node):
                    return None
            return ("name", node_text(node))
        if kind == "member_expression":
            obj = field(node, "object")
            prop = node_text(field(node, "property"))
            held = self._singleton_behind(obj) if self.names_a_singleton else ""  # it spells a name otherwise
            if held:
                return ("field", held, prop)
            obj_text = node_text(obj)
            if obj_text in ("exports", "module.exports"):
                return ("exports", prop)
            if obj is None:
                return None
            obj_kind = obj.type
            if obj_kind == "this":
                cls = self.class_of(node)
                return ("this", cls.id if cls is not None else 0, prop)
            if obj_kind == "identifier" and obj_text[:1].isupper():
                return ("static", obj_text, prop)
            if obj_text in self.app_state_objects or (
                    obj_kind == "member_expression"
                    and node_text(field(obj, "property")) in self.app_state_properties):
                return ("app", prop)
        return None

    @cached_property
    def app_state_properties(self) -> frozenset[str]:
        """`contexts.typescript.app_state_properties` (`app.locals.x`): read once per file, as every member
        expression of the events table asks."""
        return vocabulary().names("contexts.typescript.app_state_properties")

    @cached_property
    def app_state_objects(self) -> frozenset[str]:
        """`contexts.typescript.app_state_objects` (Koa's `ctx.x`): read once per file, like the properties."""
        return vocabulary().names("contexts.typescript.app_state_objects")

    @cached_property
    def singleton_aliases(self) -> dict[str, str]:
        """Names bound to a class's process-wide instance: `const server = AppServer.getInstance()` -> AppServer."""
        aliases = {}
        for node in descendants(self.root, "variable_declarator"):
            if field(node, "name") is not None and field(node, "name").type == "identifier":
                held = self._singleton_behind(field(node, "value"), follow_aliases=False)
                if held:
                    aliases[node_text(field(node, "name"))] = held
        return aliases

    @cached_property
    def _singleton_access(self) -> tuple[frozenset[str], frozenset[str]]:
        """How code reaches a class's process-wide instance: the static getters (`X.getInstance()`) and static
        fields (`X.instance`, `X.sharedInstance`) of the vocabulary's `contexts.typescript.singleton_getters`
        and `singleton_instances`, read once per file."""
        words = vocabulary()
        return (words.names("contexts.typescript.singleton_getters"),
                words.names("contexts.typescript.singleton_instances"))

    @cached_property
    def names_a_singleton(self) -> bool:
        """Can the file reach a class's singleton at all? Every way _singleton_behind knows (a getter, an
        instance field, an alias of one) spells one of their names in the source; most files spell none."""
        return any(name.encode() in self.parsed.source for names in self._singleton_access for name in names)

    def _singleton_behind(self, node: SyntaxNode | None, follow_aliases: bool = True) -> str:
        """The class whose singleton an expression is (`X.getInstance()`, `X.instance`, an alias of one), or ''."""
        node = unwrap(node)
        while node is not None and node.type == "await_expression" and named_children(node):
            node = unwrap(named_children(node)[0])
        if node is None:
            return ""
        if node.type == "identifier":
            return self.singleton_aliases.get(node_text(node), "") if follow_aliases else ""
        if node.type == "call_expression" and not named_children(field(node, "arguments")):
            node = field(node, "function")
            if node is None or node.type != "member_expression" \
                    or node_text(field(node, "property")) not in self._singleton_access[0]:
                return ""
        elif not (node.type == "member_expression" and node_text(field(node, "property")) in self._singleton_access[1]):
            return ""
        obj = field(node, "object")
        return node_text(obj) if obj is not None and obj.type == "identifier" and node_text(obj)[:1].isupper() else ""

    @cached_property
    def _local_names(self) -> dict[int, set[str]]:
        return {}

    def declared_locally(self, fn: SyntaxNode, name: str) -> bool:
        """Is `name` a parameter or local of `fn` (shadowing a module-level name)?"""
        cache = self._local_names
        if fn.id not in cache:
            names = set(param_names(fn))
            body = field(fn, "body")
            stack = list(named_children(body))
            while stack:
                node = stack.pop()
                if node.type in FUNCTION_TYPES or node.type in CLASS_TYPES:
                    if node.type == "function_declaration":
                        names.add(node_text(field(node, "name")))
                    continue
                if node.type == "variable_declarator":
                    target = field(node, "name")
                    names.update(node_text(i) for i in descendants(target, _BOUND_NAMES))
                stack.extend(named_children(node))
            cache[fn.id] = names
        return name in cache[fn.id]

    def write_functions(self, keys: list[tuple], scope: str, name: str) -> list[SyntaxNode]:
        """The functions holding the writes that `writes` reports (for following their callers)."""
        found = []
        for key in keys:
            for _line, op, fn in self.events.get(key, []):
                if op != "read" and fn is not None and not (scope in ("instance", "static") and self._in_constructor(fn)) \
                        and not (scope in ("module", "static") and self.only_called_at_load(fn)):
                    found.append(fn)
        return found

    def local_in(self, fn: SyntaxNode, name: str, op: str) -> bool:
        """A parameter or local of `fn` or a function around it shadows the module name."""
        return self._shadowed(fn, name)

    def binds(self, fn: SyntaxNode, name: str) -> bool:
        return self.declared_locally(fn, name)

    def context_frame(self, fn: SyntaxNode) -> tuple[str, set[str], list[str]]:
        """Name, parameters, and decorators (a method's: NestJS `@Get()`; functions take none)."""
        return function_name(fn), set(param_names(fn)), self.method_decorators(fn) if fn.type == "method_definition" else []

    def factory_name(self, fn: SyntaxNode) -> str:
        """Its name, or '<plugin>' for an anonymous plugin registered at module level (`fp(async (app) => ...)`)."""
        return function_name(fn) or ("<plugin>" if self._registered_plugin(fn) else "")

    def parameter_names(self, fn: SyntaxNode) -> set[str]:
        return set(param_names(fn))

    def factory_runs_once(self, fn: SyntaxNode, factory: str) -> bool:
        """Exported (ES or CommonJS) or registered as a plugin, or called at module level or in start-up code."""
        exported = (parent_of(fn) is not None and parent_of(fn).type == "export_statement") \
            or self.commonjs_exported(factory) or self._registered_plugin(fn)
        called_at_start = any(instantiation_context(self, call) in ("module", "startup")
                              for call in self.calls_by_name.get(factory, []))
        return called_at_start or exported

    @staticmethod
    def _registered_plugin(fn: SyntaxNode) -> bool:
        """A plugin function passed to a call at module level (`fp(async function (app) {...})`, `register(...)`)."""
        parent = parent_of(fn)
        if parent is None or parent.type != "arguments":
            return False
        call = parent_of(parent)
        return call is not None and enclosing(call, FUNCTION_TYPES) is None

    def initialises(self, fn: SyntaxNode, scope: str) -> bool:
        """Fields written in the constructor are initialised, not written after start-up."""
        return scope in ("instance", "static") and self._in_constructor(fn)

    def runs_at_load(self, fn: SyntaxNode, scope: str) -> bool:
        return scope in ("module", "static") and self.only_called_at_load(fn)

    @cached_property
    def rebinds(self) -> dict[tuple, list[tuple[SyntaxNode, SyntaxNode | None]]]:
        """Reference key -> (assignment, enclosing function) for every `x = value` that rebinds it."""
        table: dict[tuple, list[tuple[SyntaxNode, SyntaxNode | None]]] = {}
        for node in descendants(self.root, _ASSIGNMENTS):
            if node.type == "assignment_expression" or self.logical_assignment(node):
                key = self._base_key(field(node, "left")) if field(node, "left") is not None else None
                if key is not None:
                    table.setdefault(key, []).append((node, enclosing(node, FUNCTION_TYPES)))
        return table

    @staticmethod
    def logical_assignment(node: SyntaxNode) -> bool:
        """`x ??= value` / `x ||= value`: assign only when empty."""
        return node_text(field(node, "operator")) in ("??=", "||=")

    def runtime_rebinds(self, keys: list[tuple]) -> list[tuple[SyntaxNode, SyntaxNode]]:
        """Rebinds inside functions that run after start-up (not constructors, start-up functions or load-time helpers)."""
        return [(node, fn) for key in keys for node, fn in self.rebinds.get(key, [])
                if fn is not None and self.after_start_up(fn)]

    def after_start_up(self, fn: SyntaxNode) -> bool:
        """Does code in `fn` run after start-up: not a constructor, start-up or shutdown function, or load-time helper?"""
        if self._in_constructor(fn) or self.only_called_at_load(fn):
            return False
        startup = vocabulary().matcher("contexts.typescript.startup_functions")
        # Connecting at boot and closing at exit rebind fields too, but only as the process starts or ends.
        lifecycle = vocabulary().matcher("contexts.typescript.lifecycle_functions")
        current: SyntaxNode | None = fn
        while current is not None:
            if self._deferred(current):
                return True  # a timer or listener callback defined in start-up code runs later
            name = function_name(current) or ""
            if startup.match(name) or lifecycle.match(name) or self._in_constructor(current):
                return False
            current = enclosing(current, FUNCTION_TYPES)
        return True

    def _deferred(self, fn: SyntaxNode) -> bool:
        """Is `fn` handed to a timer, scheduler or listener (inline, or by its local name) to be run later?"""
        names = {function_name(fn)} - {""}
        deferring = vocabulary().names("contexts.typescript.deferring_calls")
        for node in [fn] + [n for n in self._passed_callbacks if node_text(n) in names]:
            parent = parent_of(node)
            if parent is not None and parent.type == "arguments" and parent_of(parent) is not None:
                callee = node_text(field(parent_of(parent), "function") or field(parent_of(parent), "constructor"))
                if callee.rsplit(".", 1)[-1] in deferring:
                    return True
        return False

    @cached_property
    def _passed_callbacks(self) -> list[SyntaxNode]:
        """Identifiers passed as call arguments (`setInterval(check, ms)`), for `_deferred`."""
        return [n for n in descendants(self.root, "identifier") if parent_of(n) is not None and parent_of(n).type == "arguments"]

    @cached_property
    def exported_names(self) -> frozenset[str]:
        """Names in `module.exports = ...` and `exports.name = ...` (CommonJS), from the assignments in the tree
        (a comment or string that says `module.exports = x` exports nothing). For `module.exports = ...`, the
        names on the line where the value starts: `module.exports = { cache, store: makeStore() }`."""
        names: set[str] = set()
        for assignment in descendants(self.root, "assignment_expression"):
            left, right = field(assignment, "left"), field(assignment, "right")
            if left is None or right is None or left.type != "member_expression":
                continue
            target, owner = node_text(left), node_text(field(left, "object"))
            if target == "module.exports":
                row = line_of(right)
                names.update(node_text(n) for n in nodes_of_types(right, self.parsed.language, _EXPORTED_NAME_TYPES)
                             if line_of(n) == row)
            elif owner in ("exports", "module.exports"):
                names.add(node_text(field(left, "property")))
        return frozenset(names)

    def commonjs_exported(self, name: str) -> bool:
        """Is `name` part of `module.exports` / `exports.name`?"""
        return name in self.exported_names

    @cached_property
    def module_values(self) -> dict[str, str]:
        """Module-level `const/let/var name = value` texts, for expanding names in paths."""
        values = {}
        for node in named_children(self.root):
            holder = field(node, "declaration") if node.type == "export_statement" else node
            if holder is not None and holder.type in ("lexical_declaration", "variable_declaration"):
                for decl in named_children(holder):
                    values[node_text(field(decl, "name"))] = node_text(field(decl, "value"))
        return values

    def path_value(self, node: SyntaxNode) -> str | None:
        """A module constant (`UPLOAD_DIR`), or a class field's initialiser (`this.uploadDir`)."""
        if node.type == "member_expression":
            return self.field_values.get(node_text(field(node, "property")))
        return super().path_value(node)

    @cached_property
    def field_values(self) -> dict[str, str]:
        """Class field initialiser texts by field name, for expanding `this.uploadDir` in paths."""
        return {node_text(field(node, "name")): node_text(field(node, "value"))
                for node in descendants(self.root, "public_field_definition")}

    def only_called_at_load(self, fn: SyntaxNode) -> bool:
        """Writes in a helper that is only ever called while the module loads (registration) are initialisation.

        So are writes in a callback that an array method runs on the spot (`list.forEach((x) => table.push(x))`)
        at module level: it runs when its caller runs, not later.
        """
        if synchronous_callback_of(fn) is not None:
            caller = enclosing(synchronous_callback_of(fn), FUNCTION_TYPES)
            return caller is None or self.only_called_at_load(caller)
        outer = fn
        for parent in ancestors(fn):
            if parent.type in FUNCTION_TYPES:
                outer = parent
        name = function_name(outer)
        if not name or outer.type == "method_definition" or self.commonjs_exported(name) or (
                parent_of(outer) is not None and parent_of(outer).type == "export_statement"):
            return False
        calls = self.calls_by_name.get(name, [])
        return bool(calls) and all(enclosing(c, FUNCTION_TYPES) is None for c in calls) and not self._passed_as_value(name)

    @cached_property
    def calls_by_name(self) -> dict[str, list[SyntaxNode]]:
        calls: dict[str, list[SyntaxNode]] = {}
        for node in descendants(self.root, "call_expression"):
            callee = field(node, "function")
            if callee is not None and callee.type == "identifier":
                calls.setdefault(node_text(callee), []).append(node)
        return calls

    def _passed_as_value(self, name: str) -> bool:
        """Is the function handed to someone else (a callback, a route), who may call it at runtime?"""
        return name in self._values_passed

    @cached_property
    def _values_passed(self) -> frozenset[str]:
        return frozenset(node_text(node) for node in descendants(self.root, "identifier")
                         if parent_of(node) is not None
                         and parent_of(node).type in ("arguments", "pair", "array", "shorthand_property_identifier"))

    def _shadowed(self, fn: SyntaxNode, name: str) -> bool:
        current: SyntaxNode | None = fn
        while current is not None:
            if current.type in FUNCTION_TYPES and self.declared_locally(current, name):
                return True
            current = enclosing(current, FUNCTION_TYPES)
        return False

    @staticmethod
    def _in_constructor(fn: SyntaxNode) -> bool:
        return fn.type == "method_definition" and node_text(field(fn, "name")) == "constructor"

    def collection_fields(self, cls: SyntaxNode) -> list[tuple[str, SyntaxNode, bool]]:
        """(name, declaration, is_static) for collection-valued fields of a class."""
        found = []
        for member in named_children(field(cls, "body")):
            if member.type in ("public_field_definition", "field_definition"):
                value = unwrap(field(member, "value"))
                if container_of(value) is not None:
                    found.append((node_text(field(member, "name") or field(member, "property")), member, self.is_static(member)))
            elif member.type == "method_definition" and node_text(field(member, "name")) == "constructor":
                for node in descendants(field(member, "body"), "assignment_expression"):
                    left = field(node, "left")
                    if left is not None and left.type == "member_expression" and node_text(field(left, "object")) == "this":
                        if container_of(unwrap(field(node, "right"))) is not None:
                            found.append((node_text(field(left, "property")), node, False))
        return found

    def may_rebind_members(self, cls: SyntaxNode) -> bool:
        """Only an assignment in a function other than the constructor (whose writes initialise: `writes`
        leaves them out), or an update (`this.n++`, found by its text), can rebind a field after start-up.
        Most classes (entities, DTOs, services that only read what is injected) have neither."""
        text = node_bytes(cls)
        if b"++" in text or b"--" in text:
            return True
        for node in descendants(cls, _ASSIGNMENTS):
            fn = enclosing(node, FUNCTION_TYPES)
            if fn is not None and not self._in_constructor(fn):
                return True
        return False

    def collection_members(self, cls: SyntaxNode) -> list[tuple[str, list[tuple], str, bool]]:
        """The collection fields (a static one is also named through its class: `Cache.entries`)."""
        return [(name, [("this", cls.id, name)] + ([("static", self.class_name(cls) or "", name)] if is_static else []),
                 "static" if is_static else "instance", False)
                for name, _decl, is_static in self.collection_fields(cls)]


def analyse(parsed: ParsedFile) -> TsFile:
    return TsFile(parsed)


# -- the per-file index -------------------------------------------------------


# Array and iteration methods that call their callback before they return.
SYNCHRONOUS_CALLBACK_METHODS = frozenset({"forEach", "map", "flatMap", "filter", "reduce", "reduceRight", "some",
                                          "every", "find", "findIndex", "sort", "from"})


def synchronous_callback_of(fn: SyntaxNode) -> SyntaxNode | None:
    """The call that runs `fn` on the spot when `fn` is the callback of `xs.forEach(...)`, `Array.from(xs, fn)`..."""
    parent = parent_of(fn)
    if parent is None or parent.type != "arguments" or parent_of(parent) is None or parent_of(parent).type != "call_expression":
        return None
    callee = field(parent_of(parent), "function")
    if callee is not None and callee.type == "member_expression" and \
            node_text(field(callee, "property")) in SYNCHRONOUS_CALLBACK_METHODS:
        return parent_of(parent)
    return None


def instantiation_context(ts: TsFile, node: SyntaxNode) -> str:
    """Where the code at `node` runs (module, startup, handler, function): `FileAnalysis.context_of`."""
    return ts.context_of(node)


# -- facts per subject ----------------------------------------------------------
