"""Per-file analysis of Python: imports, clients, classes, references and writes."""

from __future__ import annotations

from functools import cached_property

from ..syntax import (
    ParsedFile,
    SyntaxNode,
    ancestors,
    bytes_of,
    descendants,
    enclosing,
    field,
    named_children,
    node_bytes,
    node_text,
    nodes_of_types,
    parent_of,
    texts_of,
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

FUNCTIONS = frozenset({"function_definition", "lambda"})
MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear", "add",
                      "discard", "remove", "appendleft", "extendleft", "popleft", "rotate", "__setitem__",
                      "__delitem__", "sort", "reverse", "move_to_end", "subtract", "difference_update",
                      "intersection_update", "symmetric_difference_update"})
_LITERALS = {"dictionary": "dict", "list": "list", "set": "set", "dictionary_comprehension": "dict",
             "list_comprehension": "list", "set_comprehension": "set"}


_NAMES = frozenset({"identifier", "attribute"})
_STRING_TYPES = frozenset({"string"})
_CALLS_AND_DECORATORS = frozenset({"call", "decorator"})


# Where an identifier declares or binds a name rather than referring to one.
_BINDING_PARENTS = frozenset({
    "function_definition", "class_definition", "parameters", "default_parameter", "typed_parameter",
    "typed_default_parameter", "dotted_name", "aliased_import", "global_statement", "nonlocal_statement",
})
_CLASS_DEFINITION = frozenset({"class_definition"})


class PyFile(FileAnalysis):
    """Per-file analysis, computed once and shared by every candidate in the file."""

    function_types = FUNCTIONS
    reference_types = frozenset({"identifier", "attribute"})
    write_shapes = WriteShapes(
        wrappers=frozenset({"parenthesized_expression"}), member="attribute", member_object="object",
        member_name="attribute", call="call", call_function="function", arguments="argument_list",
        subscript="subscript", subscript_object="value",
        assignments=frozenset({"assignment", "augmented_assignment"}), mutators=MUTATORS,
        entry_getters=(".get", ".setdefault"), unpacking=frozenset({"pattern_list", "tuple_pattern"}),
        unpacking_owners=frozenset({"assignment", "for_statement"}), delete_statements=frozenset({"delete_statement"}),
        delete_lists=frozenset({"expression_list"}), alias_assignment="assignment", alias_through_members=False)
    client_units = ClientUnits(constructors=frozenset({"__init__", "__new__"}),
                               constructor_types=frozenset({"function_definition"}))
    # A class decorator's instance cache (`cls`, `klass`) is the singleton pattern, reported as py.singleton.
    closure_shapes = ClosureShapes(
        inner_definitions=frozenset({"function_definition"}), definition_wrapper="decorated_definition",
        not_factory_parameters=frozenset({"cls", "klass"}), factory_parameter_words="contexts.python.factory_parameters")
    context_shapes = ContextShapes(
        startup_functions="contexts.python.startup_functions", handler_parameters="contexts.python.handler_parameters",
        handler_decorators="contexts.python.handler_decorators", handler_first=False, decorators_searched=True,
        startup_decorators="contexts.python.startup_decorators", app_parameters="contexts.python.app_parameters")
    import_shapes = ImportShapes(
        statements=frozenset({"import_statement", "import_from_statement"}), top_level=False,
        client_modules="clients.python.modules", submodule_separator=".")
    path_shapes = PathShapes(names=frozenset({"identifier"}), each_name_once=True, local_assignment="assignment",
                             second_level=True, limit=600, comment_start="#")
    field_shapes = FieldShapes(member_key="self")

    @cached_property
    def identifiers(self) -> tuple[list[SyntaxNode], list[bytes]]:
        """The file's identifiers in pre-order, and their texts at the same places: read once, for the name
        counts, the client uses and the references of a name, which most files all ask for."""
        nodes = descendants(self.root, "identifier")
        return nodes, texts_of(nodes)

    def identifiers_named(self, text: bytes) -> list[SyntaxNode]:
        """The identifiers of this text, in pre-order (found by the list's own search, not a Python loop)."""
        nodes, texts = self.identifiers
        found: list[SyntaxNode] = []
        at = -1
        while True:
            try:
                at = texts.index(text, at + 1)
            except ValueError:
                return found
            found.append(nodes[at])

    def references_named(self, name: str) -> list[SyntaxNode]:
        """Every name of a Python reference is an identifier: a plain name, or an attribute's last part
        (`self.x`, whose reference is the attribute). So the identifiers of that text say where they are,
        without reading the name of every reference of the file. An attribute's own name refers to nothing
        by itself (it has no key) and is left out. The lexer never puts an invalid byte in an identifier, so
        a name's UTF-8 is its text."""
        found = []
        for node in self.identifiers_named(name.encode()):
            parent = parent_of(node)
            if parent is not None and parent.type == "attribute" and field(parent, "attribute") == node:
                found.append(parent)
            else:
                found.append(node)
        return found

    def reference_names(self) -> list[str]:
        return [text.decode() for text in dict.fromkeys(self.identifiers[1])]

    def import_bindings(self, statement: SyntaxNode) -> list[tuple[str, str]]:
        """`import x.y` (binds x), `import x as y` and `from m import n`, `from m import n as k`."""
        found: list[tuple[str, str]] = []
        if statement.type == "import_statement":
            for child in named_children(statement):
                if child.type == "aliased_import":
                    found.append((node_text(field(child, "alias")), node_text(field(child, "name"))))
                else:
                    found.append((node_text(child).split(".")[0], node_text(child)))
        elif statement.type == "import_from_statement":
            module = node_text(field(statement, "module_name"))
            for child in named_children(statement)[1:]:
                if child.type == "aliased_import":
                    found.append((node_text(field(child, "alias")), module))
                elif child.type == "dotted_name":
                    found.append((node_text(child), module))
        return found

    @cached_property
    def caches(self):
        """Cache objects, lru_cache wrappers and process constants of this file (see py_cache)."""
        from .py_cache import PyCaches
        return PyCaches(self)

    @cached_property
    def functions_by_name(self) -> dict[str, SyntaxNode]:
        functions: dict[str, SyntaxNode] = {}
        for node in descendants(self.root, "function_definition"):
            functions.setdefault(node_text(field(node, "name")), node)
        return functions

    @cached_property
    def module_value_nodes(self) -> dict[str, SyntaxNode | None]:
        """Module-level `NAME = value`: the value nodes (None for `NAME: int`), the last assignment's."""
        values = {}
        for stmt in named_children(self.root):
            if stmt.type == "expression_statement" and named_children(stmt) and named_children(stmt)[0].type == "assignment":
                assign = named_children(stmt)[0]
                values[node_text(field(assign, "left"))] = field(assign, "right")
        return values

    @cached_property
    def module_values(self) -> dict[str, str]:
        """Module-level `NAME = value` texts (their code, comments left out), for expanding names in paths."""
        return {name: self.code_text(value) for name, value in self.module_value_nodes.items()}

    @cached_property
    def client_sites(self) -> tuple[list[int], list[tuple[int, tuple[str, str, bool] | None, str | None]]]:
        """An imported client's name, a `self.`/`cls.` attribute named like a client
        (`clients.python.self_attributes`), a Django manager (`X.objects`). Each is a client for sure, so
        none needs checking against the service index, and none depends on the asking node's class."""
        found: list[tuple[int, int, tuple[str, str, bool]]] = []  # (start, end, use)
        names = {name.encode(): (kind, name, False) for name, kind in self.client_names.items()}
        for text, use in names.items():  # each imported client's name, found by the list's own search
            found.extend((*bytes_of(child), use) for child in self.identifiers_named(text))
        words = vocabulary()
        attributes = descendants(self.root, "attribute")
        for child, text in zip(attributes, texts_of(attributes), strict=True):
            # An attribute's text begins with its object's and ends with its name: most are neither.
            if not (text.startswith((b"self", b"cls")) or text.endswith(b"objects")):
                continue
            obj, attr_node = field(child, "object"), field(child, "attribute")
            owner = node_bytes(obj) if obj is not None else None
            ref = None
            if owner in (b"self", b"cls"):
                attr = node_text(attr_node)
                kind = words.group_searched("clients.python.self_attributes", attr)
                if kind is not None:
                    ref = (kind, attr, False)
            elif attr_node is not None and node_bytes(attr_node) == b"objects":
                ref = ("database", node_text(obj), False)
            if ref is not None:
                found.append((*bytes_of(child), ref))
        found.sort(key=lambda site: site[0])  # by start: each node takes those within its bytes by bisection
        return [start for start, _end, _ref in found], [(end, ref, None) for _start, end, ref in found]

    # -- references and writes -----------------------------------------------

    def _base_key(self, node: SyntaxNode) -> tuple | None:
        kind = node.type
        if kind == "identifier":
            parent = parent_of(node)
            if parent is None:
                return None
            parent_kind = parent.type
            if parent_kind == "attribute" and field(parent, "attribute") == node:
                return None
            if parent_kind == "keyword_argument" and field(parent, "name") == node:
                return None
            if parent_kind in _BINDING_PARENTS:
                return None
            return ("name", node_text(node))
        if kind == "attribute":
            obj = field(node, "object")
            if obj is None or obj.type != "identifier":
                return None
            attr = node_text(field(node, "attribute"))
            owner = node_text(obj)
            if owner in ("self", "cls"):
                cls = enclosing(node, _CLASS_DEFINITION)
                return (owner, cls.id if cls is not None else 0, attr)
            return ("attr", owner, attr)
        return None

    @cached_property
    def module_assigned(self) -> frozenset[str]:
        """Left-hand texts of the module's top-level `x = ...` statements: one pass, looked up per candidate."""
        return frozenset(node_text(field(named_children(stmt)[0], "left")) for stmt in named_children(self.root)
                         if stmt.type == "expression_statement" and named_children(stmt)
                         and named_children(stmt)[0].type == "assignment")

    @cached_property
    def first_global(self) -> dict[str, SyntaxNode]:
        """Name -> the first `global` statement naming it, in source order: built once, looked up per candidate."""
        table: dict[str, SyntaxNode] = {}
        for node in descendants(self.root, "global_statement"):
            for child in named_children(node):
                table.setdefault(node_text(child), node)
        return table

    @cached_property
    def _locals(self) -> dict[int, tuple[set[str], set[str]]]:
        return {}

    def locals_of(self, fn: SyntaxNode) -> tuple[set[str], set[str]]:
        """(names bound locally, names declared global/nonlocal) in a function, nested functions excluded."""
        if fn.id not in self._locals:
            bound: set[str] = set()
            declared: set[str] = set()
            params = field(fn, "parameters")
            for p in descendants(params, "identifier") if params is not None else []:
                if parent_of(p) is not None and parent_of(p).type in (
                        "parameters", "default_parameter", "typed_parameter", "typed_default_parameter",
                        "list_splat_pattern", "dictionary_splat_pattern", "lambda_parameters"):
                    bound.add(node_text(p))
            stack = list(named_children(field(fn, "body")))
            while stack:
                node = stack.pop()
                if node.type in FUNCTIONS or node.type == "class_definition":
                    if node.type != "lambda":
                        bound.add(node_text(field(node, "name")))
                    continue
                if node.type in ("global_statement", "nonlocal_statement"):
                    declared.update(node_text(c) for c in named_children(node))
                elif node.type in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
                    left = field(node, "left")
                    if left is not None and left.type in ("identifier", "pattern_list", "tuple_pattern"):
                        bound.update(node_text(i) for i in descendants(left, "identifier"))
                elif node.type in ("with_item", "as_pattern"):
                    alias = field(node, "alias")
                    if alias is not None:
                        bound.update(node_text(i) for i in descendants(alias, "identifier"))
                stack.extend(named_children(node))
            self._locals[fn.id] = (bound - declared, declared)
        return self._locals[fn.id]

    def local_in(self, fn: SyntaxNode, name: str, op: str) -> bool:
        """`fn` binds the name itself, or rebinds it without declaring it `global`: a local, not the module's."""
        bound, declared = self.locals_of(fn)
        return (op == "rebind" and name not in declared) or name in bound

    def binds(self, fn: SyntaxNode, name: str) -> bool:
        return name in self.locals_of(fn)[0]

    def initialises(self, fn: SyntaxNode, scope: str) -> bool:
        """Attributes set in __init__/__post_init__/__new__ are initialised, not written after start-up."""
        return scope == "instance" and node_text(field(fn, "name")) in ("__init__", "__post_init__", "__new__")

    def runs_at_load(self, fn: SyntaxNode, scope: str) -> bool:
        return self.only_called_at_import(fn)

    def context_frame(self, fn: SyntaxNode) -> tuple[str, set[str], list[str]]:
        """Name, parameters and decorators. A parameter keeps its default (`app=None` may be called without
        the application), as the contexts have always been read."""
        params = {node_text(p).split(":")[0].strip() for p in named_children(field(fn, "parameters"))}
        return node_text(field(fn, "name")), params, self.decorators(fn)

    def factory_name(self, fn: SyntaxNode) -> str:
        return node_text(field(fn, "name")) if fn.type == "function_definition" else ""

    def parameter_names(self, fn: SyntaxNode) -> set[str]:
        return {node_text(p).split(":")[0].split("=")[0].strip() for p in named_children(field(fn, "parameters"))}

    def factory_runs_once(self, fn: SyntaxNode, factory: str) -> bool:
        """Only called at import (or applied as a decorator), or called at module level."""
        return self.only_called_at_import(fn) or any(
            enclosing(use, FUNCTIONS) is None for use in self._call_uses.get(factory, []))

    def only_called_at_import(self, fn: SyntaxNode) -> bool:
        """Writes in a registration helper that is only called at import (or used as a decorator) happen at import."""
        outer = fn
        for parent in ancestors(fn):
            if parent.type == "function_definition":
                outer = parent
        name = node_text(field(outer, "name"))
        if not name:
            return False
        uses = [n for n in self._call_uses.get(name, [])]
        if not uses:
            return False
        return all(enclosing(n, frozenset({"decorator"})) is not None or enclosing(n, FUNCTIONS) is None for n in uses)

    @cached_property
    def call_targets(self) -> list[tuple[SyntaxNode, str, bool]]:
        """Every call and decorator whose callee ends in a plain name (`f()`, `obj.f()`, `@f`, `@mod.f`), with
        that name and whether it is a call of that name alone (`f()`, which may make an instance), in pre-order:
        one pass that the service index's calls and instantiations and the factories' uses share."""
        found: list[tuple[SyntaxNode, str, bool]] = []
        for node in descendants(self.root, _CALLS_AND_DECORATORS):
            target = None
            if node.type == "call":
                target = field(node, "function")
            elif named_children(node):  # a decorator; `@register(...)` names a call, whose own callee counts
                target = named_children(node)[0]
            if target is None:
                continue
            if target.type == "identifier":
                found.append((node, node_text(target), node.type == "call"))
            elif target.type == "attribute":
                target = field(target, "attribute")
                if target is not None and target.type == "identifier":
                    found.append((node, node_text(target), False))
        return found

    @cached_property
    def _call_uses(self) -> dict[str, list[SyntaxNode]]:
        """Function name -> nodes that call it or apply it as a decorator."""
        uses: dict[str, list[SyntaxNode]] = {}
        for node, name, _plain in self.call_targets:
            uses.setdefault(name, []).append(node)
        return uses

    # -- classes ----------------------------------------------------------------
    def classes(self) -> list[SyntaxNode]:
        return descendants(self.root, "class_definition")

    @staticmethod
    def class_name(cls: SyntaxNode | None) -> str | None:
        return node_text(field(cls, "name")) if cls is not None else None

    @staticmethod
    def decorators(node: SyntaxNode) -> list[str]:
        parent = parent_of(node)
        if parent is None or parent.type != "decorated_definition":
            return []
        return [node_text(d)[1:].strip() for d in named_children(parent) if d.type == "decorator"]

    def instance_collections(self, cls: SyntaxNode) -> list[tuple[str, SyntaxNode]]:
        """Collections each instance gets: set in __init__/__post_init__/__new__, or dataclass default factories.
        Worked out once per class: the class's facts, its stateful fields and its candidates' keys all ask."""
        return self.remembered("instance_collections", cls, self._instance_collections)

    def _instance_collections(self, cls: SyntaxNode) -> list[tuple[str, SyntaxNode]]:
        found = []
        for fn in descendants(field(cls, "body"), "function_definition"):
            name = node_text(field(fn, "name"))
            if name in ("__init__", "__post_init__", "__new__"):
                for node in descendants(field(fn, "body"), "assignment"):
                    left = field(node, "left")
                    owner = node_text(field(left, "object")) if left is not None and left.type == "attribute" else ""
                    if (owner == "self" or (name == "__new__" and owner not in ("", "cls"))) and container_of(field(node, "right")):
                        found.append((node_text(field(left, "attribute")), node))
        for name, assign in self.class_collections(cls):
            if is_default_factory(field(assign, "right")):
                found.append((name, assign))
        return found

    def class_collections(self, cls: SyntaxNode) -> list[tuple[str, SyntaxNode]]:
        """The collections assigned in the class body itself (`handlers = {}`), once per class."""
        return self.remembered("class_collections", cls, self._class_collections)

    def _class_collections(self, cls: SyntaxNode) -> list[tuple[str, SyntaxNode]]:
        found = []
        for stmt in named_children(field(cls, "body")):
            inner = named_children(stmt) if stmt.type == "expression_statement" else []
            if inner and inner[0].type == "assignment":
                left = field(inner[0], "left")
                if left is not None and left.type == "identifier" and container_of(field(inner[0], "right")):
                    found.append((node_text(left), inner[0]))
        return found

    def collection_members(self, cls: SyntaxNode) -> list[tuple[str, list[tuple], str, bool]]:
        """Each instance's collections (also named through module instances: `STATS.seen`), then the class's
        own (`Registry.handlers`, `cls.handlers`), listed after the rebound attributes."""
        collections = self.instance_collections(cls)
        instances = module_instances(self, self.class_name(cls)) if collections else []  # a walk of the module
        own = [(name, [("self", cls.id, name)] + [("attr", var, name) for var in instances], "instance", False)
               for name, _node in collections]
        shared = [(name, [("cls", cls.id, name), ("self", cls.id, name), ("attr", self.class_name(cls) or "", name)],
                   "class", True) for name, _node in self.class_collections(cls)]
        return own + shared

    def may_rebind_members(self, cls: SyntaxNode) -> bool:
        """Can anything in the class rebind one of its fields (`self.x = v`, `self.n += 1`, `self.a, b = ...`,
        `for self.x in ...`)? Each is a statement of the assignment or unpacking forms of write_shapes whose
        target holds `self.`; a class without one has no rebound fields (its `("self", class, name)` keys)."""
        statements = self.write_shapes.assignments | self.write_shapes.unpacking_owners
        return any("self." in node_text(field(node, "left")) for node in descendants(cls, statements))

    def has_singleton_base(self, cls: SyntaxNode) -> bool:
        """Does a base or the metaclass make the class a singleton (`SingletonMixin`, `metaclass=Singleton`)?
        Read from the names among its superclasses (`contexts.python.singleton_bases`), so a comment there
        changes nothing."""
        supers = field(cls, "superclasses")
        if supers is None:
            return False
        bases = vocabulary().matcher("contexts.python.singleton_bases")
        return any(bases.match(node_text(name)) for name in descendants(supers, "identifier"))

    def has_singleton_instance(self, cls: SyntaxNode) -> bool:
        """The class keeps its one instance (`_instance`, a metaclass's `_instances`) and hands it out from
        `__new__`, `__call__`, `instance()` or `get_instance`: read from the names in its body (and strings
        that name the attribute, `hasattr(cls, "_instance")`), not from its docstring or comments. The
        attribute names are the vocabulary's `contexts.python.singleton_attributes`."""
        body = field(cls, "body")
        if body is None:
            return False
        attributes = vocabulary().names("contexts.python.singleton_attributes")
        text = node_bytes(body)  # a name or string naming one is a piece of the body's text: most spell none
        if not any(attribute.encode() in text for attribute in attributes):
            return False
        names = {node_text(n) for n in descendants(body, "identifier")}
        named = names | {node_text(s).strip("'\"") for s in nodes_of_types(body, "python", _STRING_TYPES)}
        if not named & attributes:
            return False
        defined = {node_text(field(f, "name")) for f in descendants(body, "function_definition")}
        return bool(names & {"__new__", "__call__", "get_instance"}) or "instance" in defined


def container_of(value: SyntaxNode | None) -> str | None:
    """The kind of container a value makes: a literal (`{}`, `[...]`), a call of a container class
    (`defaultdict(list)`, `SortedDict()`: the vocabulary's `libraries.python.container_classes`, by the
    callee's last name), or a dataclass field's `default_factory`."""
    if value is None:
        return None
    if value.type in _LITERALS:
        return _LITERALS[value.type]
    if value.type == "call":
        callee = node_text(field(value, "function")).rsplit(".", 1)[-1]
        if callee in ("field", "Field"):
            for arg in named_children(field(value, "arguments")):
                if arg.type == "keyword_argument" and node_text(field(arg, "name")) == "default_factory":
                    return _container_class(node_text(field(arg, "value")).rsplit(".", 1)[-1])
        return _container_class(callee)
    return None


def _container_class(name: str) -> str | None:
    return vocabulary().label_of("libraries.python.container_classes", name)


def analyse(parsed: ParsedFile) -> PyFile:
    return PyFile(parsed)




def long_lived_shape(cls: SyntaxNode) -> bool:
    """Classes a framework instantiates once per process: Django middleware (`get_response`), AppConfig, Celery Task."""
    bases = vocabulary().names("contexts.python.long_lived_bases")
    supers = field(cls, "superclasses")
    if bases and supers is not None and any(node_text(n) in bases for n in descendants(supers, _NAMES)):
        return True  # a name in the bases (`MiddlewareMixin`, `celery.Task`), not a word of a comment
    for fn in named_children(field(cls, "body")):
        if fn.type == "function_definition" and node_text(field(fn, "name")) == "__init__":
            parameters = field(fn, "parameters")
            return parameters is not None and any("get_response" in node_text(n)
                                                  for n in descendants(parameters, "identifier"))
    return False


def _dotted(node: SyntaxNode | None) -> str:
    """`self.app` for a chain of plain names, else empty (a call or a subscript in it)."""
    parts = []
    while node is not None and node.type == "attribute":
        parts.append(node_text(field(node, "attribute")))
        node = field(node, "object")
    if node is None or node.type != "identifier":
        return ""
    return ".".join([node_text(node), *reversed(parts)])


def app_attribute(left: SyntaxNode | None) -> bool:
    """An attribute of the application object: `app.events`, `app.state.x`, `current_app.x`, `self.app.x` (the
    objects are `contexts.python.app_objects`), read from the attribute chain of an assignment's left side."""
    if left is None or left.type != "attribute":
        return False
    owner = field(left, "object")
    if owner is not None and owner.type == "attribute" and node_text(field(owner, "attribute")) == "state":
        owner = field(owner, "object")  # `app.state.x`: Starlette's state holder of the app
    return _dotted(owner) in vocabulary().names("contexts.python.app_objects")


def made_for_app(node: SyntaxNode) -> bool:
    """Is the value at `node` assigned to an attribute of the application (`app.state.x = X()`, Flask
    `app.events = X()`)? It then lives as long as the application."""
    parent = parent_of(node)
    return parent is not None and parent.type == "assignment" and app_attribute(field(parent, "left"))


def instantiation_context(py: PyFile, node: SyntaxNode) -> str:
    if made_for_app(node):
        return "app-state"
    return py.context_of(node)  # module, startup, handler or function: `FileAnalysis.context_of`


def is_default_factory(value: SyntaxNode | None) -> bool:
    return value is not None and value.type == "call" and node_text(field(value, "function")).rsplit(".", 1)[-1] in (
        "field", "Field") and any(a.type == "keyword_argument" and node_text(field(a, "name")) == "default_factory"
                                  for a in named_children(field(value, "arguments")))


def module_instances(py: PyFile, class_name: str | None) -> list[str]:
    """Module-level variables holding an instance of the class (`FIRMWARE = FirmwareStats()`)."""
    names = []
    for stmt in named_children(py.root):
        if stmt.type == "expression_statement" and named_children(stmt) and named_children(stmt)[0].type == "assignment":
            assign = named_children(stmt)[0]
            right = field(assign, "right")
            if class_name and right is not None and right.type == "call" and node_text(field(right, "function")) == class_name:
                names.append(node_text(field(assign, "left")))
    return names


def owner_of(py: PyFile, node: SyntaxNode) -> tuple[SyntaxNode | None, str | None]:
    """The class a node sits in, and its name."""
    cls = enclosing(node, frozenset({"class_definition"}))
    return cls, py.class_name(cls)
