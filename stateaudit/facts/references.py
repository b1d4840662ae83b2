"""The per-file analysis both languages share: the parsed file, where each piece of state is written, which
clients sit beside it, where code runs, which closures live as long as the process, imports, path texts and
stateful fields. Each mechanism is written once here; the `...Shapes` records are the per-language vocabulary
that TsFile and PyFile fill in, and the few methods they override are the per-language answers."""

from __future__ import annotations

import weakref
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from ..model import WriteSite
from ..syntax import (
    ParsedFile,
    SyntaxNode,
    ancestors,
    bytes_of,
    descendants,
    enclosing,
    field,
    index_tree,
    innermost_containers,
    line_of,
    named_children,
    node_text,
    nodes_of_types,
    parent_of,
)
from ..vocabulary import current as vocabulary
from .common import naming_facts, writes_through_client

Event = tuple[int, str, "SyntaxNode | None"]  # (line, op, enclosing function); op "read" for non-writes
Answer = TypeVar("Answer")  # what FileAnalysis.remembered keeps per node


_COMMENTS = frozenset({"comment"})

@dataclass(frozen=True)
class WriteShapes:
    """How one grammar spells the expressions that change what a reference names: the per-language
    vocabulary of the one `operation` both languages share."""

    wrappers: frozenset[str]  # climbed through as if absent: `(x)`, `x!`, `x as T`
    member: str  # `x.y`
    member_object: str
    member_name: str
    call: str
    call_function: str
    arguments: str
    subscript: str  # `x[k]`
    subscript_object: str
    assignments: frozenset[str]  # `x = v`, `x += v` (their `left` field is the target)
    mutators: frozenset[str]  # methods that change the collection they are called on
    entry_getters: tuple[str, ...]  # `store.get(k)` hands out an entry: writing it writes the store
    updates: frozenset[str] = frozenset()  # `x++`
    unpacking: frozenset[str] = frozenset()  # `a, b = ...` targets
    unpacking_owners: frozenset[str] = frozenset()  # the statements whose `left` such a target is
    delete_operator: str = ""  # the unary expression type of `delete x[k]`
    delete_statements: frozenset[str] = frozenset()  # `del x[k]`
    delete_lists: frozenset[str] = frozenset()  # `del a[k], b[k]`: the list inside a delete statement
    mutating_helpers: frozenset[str] = frozenset()  # `Object.assign(x, ...)`: functions that change their first argument
    alias_declarator: str = ""  # `const s = this.sessions`: a declarator (name, value) makes an alias
    alias_assignment: str = ""  # `s = self.sessions`: an assignment (left, right) makes an alias
    alias_through_members: bool = True  # `const t = x.y` aliases x (part of it), not only `const t = x`


def operation(shapes: WriteShapes, base: SyntaxNode) -> tuple[str, str | None]:
    """What the expression rooted at `base` does to it: a write op, 'rebind', 'read', or an alias made."""
    current, depth, via_member = base, 0, False
    while True:
        parent = parent_of(current)
        if parent is None:
            return "read", None
        kind = parent.type
        if kind in shapes.wrappers:
            current = parent
            continue
        if kind == shapes.member and field(parent, shapes.member_object) == current:
            grand = parent_of(parent)
            if grand is not None and grand.type == shapes.call and field(grand, shapes.call_function) == parent:
                method = node_text(field(parent, shapes.member_name))
                return (method if method in shapes.mutators else "read"), None
            current, depth, via_member = parent, depth + 1, True
            continue
        if kind == shapes.subscript and field(parent, shapes.subscript_object) == current:
            current, depth = parent, depth + 1
            continue
        if kind in shapes.assignments and field(parent, "left") == current:
            return ("assign" if depth else "rebind"), None
        if kind in shapes.updates:
            return ("update" if depth else "rebind"), None
        if kind in shapes.unpacking and parent_of(parent) is not None and parent_of(parent).type in shapes.unpacking_owners \
                and field(parent_of(parent), "left") == parent:
            return ("assign" if depth else "rebind"), None
        if depth and (kind in shapes.delete_statements or kind == shapes.delete_operator
                      and node_text(parent).startswith("delete")
                      or kind in shapes.delete_lists and parent_of(parent) is not None
                      and parent_of(parent).type in shapes.delete_statements):
            return "delete", None
        if kind == shapes.arguments and depth == 0:
            call = parent_of(parent)
            callee = node_text(field(call, shapes.call_function)) if call is not None else ""
            if callee in shapes.mutating_helpers and named_children(parent) and named_children(parent)[0] == current:
                return "assign", None
            return "read", None
        if kind == shapes.call and depth == 1 and node_text(current).endswith(shapes.entry_getters):
            current = parent
            continue
        if kind == shapes.alias_declarator and field(parent, "value") == current:
            name = field(parent, "name")
            if name is not None and name.type == "identifier":
                return "read", node_text(name)
        if kind == shapes.alias_assignment and field(parent, "right") == current \
                and (shapes.alias_through_members or not via_member):
            left = field(parent, "left")
            if left is not None and left.type == "identifier":
                return "read", node_text(left)
        return "read", None


@dataclass(frozen=True)
class ClientUnits:
    """Which functions' clients sit *beside* a piece of state: the per-language vocabulary of the one
    `clients_beside` both languages share."""

    constructors: frozenset[str]  # the names of functions that initialise state: a client they use is not beside it
    constructor_types: frozenset[str]  # the function types such a name is a constructor in
    # A use in a callback counts the clients of the method around it (or of the outermost function, outside
    # a class): `this.redis.get(k).then((v) => this.cache.set(k, v))`. Empty: the function the use is in.
    methods: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClosureShapes:
    """How a factory hands out a closure that keeps its locals for the life of the process: the per-language
    vocabulary of the one `closure_lives_long` both languages share. An empty field is a way the language's
    code has not been seen to hand a closure out (or, for listeners, one its grammar spells as a call with a
    callback too, but whose measured behaviour leaves out)."""

    # `return (req, res) => {...}`, `return { get: () => ... }`, `(app) => (req) => ...`: a returned value
    # holding an inline function of these types.
    inline_functions: frozenset[str] = frozenset()
    # `def middleware(...): ...; return middleware`: the name of a function of these types defined directly in
    # the factory's body (through `definition_wrapper`, `@wraps(fn) def inner`).
    inner_definitions: frozenset[str] = frozenset()
    definition_wrapper: str = ""
    # vocabulary key: methods that hand a value to the framework (`fastify.decorate('cache', cache)`, `app.set('x', x)`).
    hand_out_calls: str = ""
    # vocabulary key: methods that keep a callback (`emitter.on('x', () => seen.add(x))`, `router.get(...)`); what
    # it writes lives on.
    registrations: str = ""
    # A function with one of these parameters is no factory: a handler (vocabulary key), a class decorator.
    not_factory_parameter_words: str = ""
    not_factory_parameters: frozenset[str] = frozenset()
    # A function with one of these parameters (vocabulary key) is a factory run once at start-up.
    factory_parameter_words: str = ""


@dataclass(frozen=True)
class ContextShapes:
    """Where code runs: the per-language vocabulary of the one `context_of` both languages share. The lists
    themselves are in the `contexts` vocabulary (rules/vocabulary/contexts.yaml); these are its keys and how
    the language spells what they name."""

    startup_functions: str  # vocabulary key: function names (globs) of start-up code
    handler_parameters: str  # vocabulary key: a function with one of these parameters handles a request
    handler_decorators: str  # vocabulary key: decorators of handlers
    handler_first: bool  # a function that looks like both is a handler (TypeScript) or start-up code (Python)
    # Decorators are regular expressions searched in the function's decorators' joined text (`@app.get("/")`
    # in Python), not names of decorators (`@Get()` in TypeScript).
    decorators_searched: bool = False
    startup_names: frozenset[str] = frozenset()  # start-up code by its name whatever the vocabulary says: `constructor`
    startup_decorators: str = ""  # vocabulary key: decorators of start-up hooks (`@app.on_event("startup")`)
    # vocabulary key: a function handed the application (`init_events(app)`) is set-up code, unless it is a route.
    app_parameters: str = ""


@dataclass(frozen=True)
class ImportShapes:
    """How a file imports names, and which imported names are store clients: the per-language vocabulary of
    the one `imports` table and `client_names` both languages share. How each statement binds its names
    (`import_bindings`) is the language's answer."""

    statements: frozenset[str]  # the node types that import names (with `const x = require('m')` declarations)
    top_level: bool  # only the file's top-level statements count (TypeScript), or any (Python's local imports)
    client_modules: str  # vocabulary key: client kind -> modules
    submodule_separator: str  # `redis.asyncio`, `mongodb/lib/x`: a sub-module of a client module is one too
    # vocabulary key: client kind -> patterns; a name imported from the project (`project_prefix`) that
    # matches one is a client to check against the service index (`RedisService`). Empty: no such names.
    local_client_names: str = ""
    project_prefix: str = "."


@dataclass(frozen=True)
class PathShapes:
    """How the names in a path argument are expanded to what they hold, so `writeFile(join(UPLOAD_DIR, id))`
    says where it writes: the per-language vocabulary of the one `path_text` both languages share."""

    names: frozenset[str]  # the node types in the argument whose value may be known (`path_value`)
    each_name_once: bool = False  # a name used twice is expanded once (Python), or at each use (TypeScript)
    local_assignment: str = ""  # `out = ROOT / name` in the same function expands `out` (Python)
    second_level: bool = False  # `out = join(ROOT, x)`: the module constants an expansion names, expanded too
    limit: int = 400  # the characters kept
    # Python: comments inside the path's code (a path split over lines may carry some) are left out, so a
    # comment cannot make code look like a path; the marker a comment starts with says when to look.
    comment_start: str = ""


@dataclass(frozen=True)
class FieldShapes:
    """What makes a class stateful: the per-language vocabulary of the one `stateful_fields`."""

    member_key: str  # the reference key of an instance's own field: `this.x` ("this"), `self.x` ("self")
    # Fields that hold the class's one instance (`this.instance = new X()` in a static getter): the singleton
    # pattern, not state the class keeps. Python keeps that instance on `cls`, under another key.
    instance_names: frozenset[str] = frozenset()


class FileAnalysis:
    """Computed once per file and shared by its candidates; subclasses say what a reference is and does."""

    function_types: frozenset[str]
    reference_types: frozenset[str]  # the node types that can name a piece of state
    client_units: ClientUnits
    closure_shapes: ClosureShapes
    context_shapes: ContextShapes
    import_shapes: ImportShapes
    path_shapes: PathShapes
    field_shapes: FieldShapes
    module_values: dict[str, str]  # module-level `NAME = value` texts
    module_value_nodes: dict[str, SyntaxNode | None]  # their value nodes (languages whose PathShapes expand twice)

    def __init__(self, parsed: ParsedFile):
        self.parsed = parsed
        self.root: SyntaxNode = parsed.root
        index_tree(parsed)  # the fact helpers' lookups of nodes by type answer from it

    def _base_key(self, node: SyntaxNode) -> tuple | None:
        """The state a node names (`("name", x)`, `("this", class_id, x)`...), or None."""
        raise NotImplementedError

    write_shapes: WriteShapes

    def _operation(self, node: SyntaxNode) -> tuple[str, str | None]:
        """What the expression rooted at the node does to it (write op, 'rebind' or 'read'), and any alias made."""
        return operation(self.write_shapes, node)

    def local_in(self, fn: SyntaxNode, name: str, op: str) -> bool:
        """Does `fn` (or a function around it) bind `name` itself, so that its `op` is not on the module's?"""
        raise NotImplementedError

    def binds(self, fn: SyntaxNode, name: str) -> bool:
        """Is `name` a parameter or local of `fn` itself?"""
        raise NotImplementedError

    def nested_functions(self, fn: SyntaxNode) -> list[SyntaxNode]:
        """The functions defined inside `fn`, at any depth, in pre-order: one look-up in the file's index."""
        return descendants(fn, self.function_types)[1:]  # the list starts with `fn` itself

    def closure_writes(self, fn: SyntaxNode, name: str) -> list[WriteSite]:
        """Writes to a local of `fn` from the functions nested in it that do not bind the name themselves:
        the closures that may outlive the call."""
        nested = self.nested_functions(fn)
        if not nested or not self._named_in_nested(fn, nested, name):
            return []  # no nested function names it or an alias of it: no events table needed
        return [WriteSite(line, op) for line, op, event_fn in self.events.get(("name", name), [])
                if op not in ("read", "rebind") and event_fn is not None and event_fn != fn
                and fn in ancestors(event_fn) and not self.binds(event_fn, name)]

    def _named_in_nested(self, fn: SyntaxNode, nested: list[SyntaxNode], name: str) -> bool:
        """Does a function nested in `fn` name `name`, or a name an alias statement may have given it
        (`c = cache`)? Every event of the name inside a nested function is at such an identifier (its own,
        or an alias's that the events table credits to it), so without one there is no closure write."""
        known = self.__dict__.setdefault("_nested_names", {})
        if fn.id not in known:
            known[fn.id] = {node_text(i) for f in nested for i in descendants(f, "identifier")}
        names = known[fn.id]
        if name in names:
            return True
        reached, todo = {name}, [name]
        while todo:  # names given `name` by alias statements, and names given those, and so on
            for alias in self._alias_sources.get(todo.pop(), ()):
                if alias in names:
                    return True
                if alias not in reached:
                    reached.add(alias)
                    todo.append(alias)
        return False

    @cached_property
    def _alias_sources(self) -> dict[str, set[str]]:
        """Identifier -> the names given a value it appears in by a statement shaped like an alias (`t = x`,
        `const t = x.y`): more than the aliases `operation` makes, never fewer."""
        shapes = self.write_shapes
        sources: dict[str, set[str]] = {}
        kinds = frozenset(kind for kind in (shapes.alias_declarator, shapes.alias_assignment) if kind)
        for statement in descendants(self.root, kinds) if kinds else ():
            declarator = statement.type == shapes.alias_declarator
            left = field(statement, "name" if declarator else "left")
            right = field(statement, "value" if declarator else "right")
            if left is None or right is None or left.type != "identifier":
                continue
            for identifier in descendants(right, "identifier"):
                sources.setdefault(node_text(identifier), set()).add(node_text(left))
        return sources

    def context_frame(self, fn: SyntaxNode) -> tuple[str, set[str], list[str]]:
        """What `context_of` reads of a function: its name, its parameters and its decorators."""
        raise NotImplementedError

    def context_of(self, node: SyntaxNode) -> str:
        """Where the code at `node` runs: 'module' (at load), 'startup' (start-up code: a start-up function, a
        hook, set-up code handed the application, a constructor), 'handler' (per request, message or job) or
        'function' (somewhere else). The innermost function that says decides."""
        return self.context_in(enclosing(node, self.function_types))

    def context_in(self, fn: SyntaxNode | None) -> str:
        """context_of the code directly in `fn` (None: at module level), for a caller that knows the function
        already (one sweep over a file's functions rather than climbing from each node)."""
        if fn is None:
            return "module"
        known = self.__dict__.setdefault("_contexts", {})  # the same for all code in a function: once each
        if fn.id not in known:
            known[fn.id] = self._function_context(fn)
        return known[fn.id]

    def _function_context(self, fn: SyntaxNode) -> str:
        """context_of for the code directly in `fn`."""
        shapes, words = self.context_shapes, vocabulary()
        handler_params = words.names(shapes.handler_parameters)
        startup = words.matcher(shapes.startup_functions)
        app_params = words.names(shapes.app_parameters) if shapes.app_parameters else frozenset()
        current: SyntaxNode | None = fn
        while current is not None:
            name, params, decorators = self.context_frame(current)
            routed = self._decorated(decorators, shapes.handler_decorators)
            handler = routed or bool(params & handler_params)
            if handler and shapes.handler_first:
                return "handler"
            if name in shapes.startup_names or startup.match(name or "") or (
                    shapes.startup_decorators and self._decorated(decorators, shapes.startup_decorators)) \
                    or (params & app_params and not routed):
                return "startup"
            if handler:
                return "handler"
            current = enclosing(current, self.function_types)
        return "function"

    def _decorated(self, decorators: list[str], key: str) -> bool:
        """Does one of the decorators belong to the vocabulary list `key` (by name, or by a pattern searched)?"""
        if self.context_shapes.decorators_searched:
            return bool(vocabulary().matcher(key).search(" ".join(decorators)))
        return bool(set(decorators) & vocabulary().names(key))

    def factory_name(self, fn: SyntaxNode) -> str:
        """The name callers know the function by ('' for an anonymous one nobody can call once)."""
        raise NotImplementedError

    def parameter_names(self, fn: SyntaxNode) -> set[str]:
        raise NotImplementedError

    def factory_runs_once(self, fn: SyntaxNode, factory: str) -> bool:
        """Is the factory run once as the service starts (called at module level or in start-up code,
        exported to be, applied as a decorator at import)?"""
        raise NotImplementedError

    def closure_lives_long(self, fn: SyntaxNode, name: str) -> bool:
        """Does a local of `fn` live as long as the process? It does when `fn` is a factory run once at
        start-up that hands out a closure writing the local: middleware factories, plugins, decorators
        applied at import. Then it is state of the process, as a module variable is."""
        # All must hold; asked cheapest first. Most functions hold no function at all (no closure can write
        # the local: a look-up in the index) and are not run once at start-up (a look-up per function), where a
        # closure's writes cost the file's events table.
        if not self.nested_functions(fn) or not self._factory_run_once(fn) or not self.closure_writes(fn, name):
            return False
        return self._returns_closure(fn) or self._handed_out(fn, name) or self._written_by_listener(fn, name)

    def _factory_run_once(self, fn: SyntaxNode) -> bool:
        """Is `fn` a named factory, run once at start-up, whose parameters do not say otherwise? The same for
        every local of `fn`: worked out once per function (a handler's every `{}` and `[]` asks)."""
        return self.remembered("factory_run_once", fn, self._is_factory_run_once)

    def _is_factory_run_once(self, fn: SyntaxNode) -> bool:
        shapes, words = self.closure_shapes, vocabulary()
        factory = self.factory_name(fn)
        if not factory:
            return False
        params = self.parameter_names(fn)
        if params & shapes.not_factory_parameters or (
                shapes.not_factory_parameter_words and params & words.names(shapes.not_factory_parameter_words)):
            return False
        return bool(shapes.factory_parameter_words and params & words.names(shapes.factory_parameter_words)) \
            or self.factory_runs_once(fn, factory)

    def _returns_closure(self, fn: SyntaxNode) -> bool:
        """Does the factory return a function (or an object of functions) that outlives the call?"""
        shapes = self.closure_shapes
        body = field(fn, "body")
        if body is None:
            return False
        if body.type in shapes.inline_functions:
            return True  # `(app) => (req, res) => ...`
        inner = set()
        for node in named_children(body) if shapes.inner_definitions else []:
            if node.type == shapes.definition_wrapper:
                node = field(node, "definition") or node
            if node.type in shapes.inner_definitions:
                inner.add(node_text(field(node, "name")))
        for node in descendants(body, "return_statement"):
            if enclosing(node, self.function_types) == fn and named_children(node):
                value = named_children(node)[0]
                if shapes.inline_functions and descendants(value, shapes.inline_functions) or node_text(value) in inner:
                    return True
        return False

    def _handed_out(self, fn: SyntaxNode, name: str) -> bool:
        """Is the local handed to the framework (`fastify.decorate('x', x)`, `app.set('x', x)`)?"""
        shapes, calls = self.closure_shapes, self.write_shapes
        if not shapes.hand_out_calls:
            return False
        hand_out = vocabulary().names(shapes.hand_out_calls)
        for node in descendants(field(fn, "body"), calls.call):
            if node_text(field(node, calls.call_function)).rsplit(".", 1)[-1] in hand_out:
                if any(node_text(a) == name for a in named_children(field(node, "arguments"))):
                    return True
        return False

    def _written_by_listener(self, fn: SyntaxNode, name: str) -> bool:
        """Is the local written by a callback the factory registers (an event listener, a route)?"""
        shapes, calls = self.closure_shapes, self.write_shapes
        if not shapes.registrations:
            return False
        registrations = vocabulary().names(shapes.registrations)
        for _line, op, event_fn in self.events.get(("name", name), []):
            if op in ("read", "rebind"):
                continue
            current = event_fn
            while current is not None and current != fn:
                parent = parent_of(current)
                if parent is not None and parent.type == calls.arguments and parent_of(parent) is not None:
                    callee = node_text(field(parent_of(parent), calls.call_function))
                    if callee.rsplit(".", 1)[-1] in registrations:
                        return True
                current = enclosing(current, self.function_types)
        return False

    def initialises(self, fn: SyntaxNode, scope: str) -> bool:
        """Is `fn` where state of this scope is initialised (a constructor for fields)?"""
        raise NotImplementedError

    def runs_at_load(self, fn: SyntaxNode, scope: str) -> bool:
        """Does `fn` run only while the module loads (a registration helper called at import)?"""
        raise NotImplementedError

    def writes(self, keys: list[tuple], scope: str, name: str) -> list[WriteSite]:
        """Writes after start-up to the state these keys name: in a function, not where the state is
        initialised, not shadowed by a local of the same name, not in code that runs only at load."""
        sites = set()
        for key in keys:
            for line, op, fn in self.events.get(key, []):
                if op == "read" or fn is None:
                    continue
                if scope == "module" and self.local_in(fn, name, op):
                    continue
                if self.initialises(fn, scope) or self.runs_at_load(fn, scope):
                    continue
                sites.add(WriteSite(line, op))
        return sorted(sites, key=lambda s: (s.line, s.op))

    def import_bindings(self, statement: SyntaxNode) -> list[tuple[str, str]]:
        """(local name, module) for each name an import statement binds, in order."""
        raise NotImplementedError

    @cached_property
    def imports(self) -> dict[str, str]:
        """Local name -> the module it is imported from, over the file's import statements (a later one wins)."""
        shapes = self.import_shapes
        statements = named_children(self.root) if shapes.top_level else descendants(self.root, shapes.statements)
        table: dict[str, str] = {}
        for node in statements:
            if node.type in shapes.statements:
                for local, source in self.import_bindings(node):
                    table[local] = source
        return table

    @cached_property
    def client_names(self) -> dict[str, str]:
        """Imported names that are Redis, queue or database clients -> client kind: names imported from a
        client module or a sub-module of one (a module in two kinds counts as the first), and names imported
        from the project that look like clients (`local_client_names`)."""
        shapes, words = self.import_shapes, vocabulary()
        names: dict[str, str] = {}
        for local, source in self.imports.items():
            kind = words.group_of_module(shapes.client_modules, source, shapes.submodule_separator)
            if kind is None and shapes.local_client_names and source.startswith(shapes.project_prefix):
                kind = words.group_searched(shapes.local_client_names, local)
            if kind is not None:
                names[local] = kind
        return names

    def client_refs(self, node: SyntaxNode) -> frozenset[tuple[str, str, bool]]:
        """(kind, name, needs checking against the service index) for each client used inside a node (a
        class, a function, the file), worked out once per node: the uses the file lists once with their
        positions (`client_sites`) that lie within the node's bytes. A use that names a member of its class
        (`this.redis`) is read against what the asking node's class holds (`member_clients`)."""
        known = self.__dict__.setdefault("_client_refs", {})
        if node.id not in known:
            members = self.member_clients(node)
            starts, sites = self.client_sites
            start, end = bytes_of(node)
            refs: set[tuple[str, str, bool]] = set()
            for site_end, ref, member in sites[bisect_left(starts, start):bisect_left(starts, end)]:
                if site_end > end:
                    continue
                if member is not None and member in members:
                    refs.add(members[member])
                elif ref is not None:
                    refs.add(ref)
            known[node.id] = frozenset(refs)
        return known[node.id]

    @cached_property
    def client_sites(self) -> tuple[list[int], list[tuple[int, tuple[str, str, bool] | None, str | None]]]:
        """Every client use in the file, by position, found once (a file's classes, functions and the file
        itself each take those within their bytes): start bytes, ascending, and at the same places (end byte,
        the use, the class member it names if the use depends on the asking node's class). What a client use
        looks like is the language's: imported names and types, injecting decorators and `this.x` in
        TypeScript; imported names, `self.x` named like a client and Django managers in Python."""
        raise NotImplementedError

    def member_clients(self, node: SyntaxNode) -> dict[str, tuple[str, str, bool]]:
        """Member name -> the client it holds, in the class of `node` (the class itself, or the one around
        it): TypeScript's typed fields and constructor parameters. Python's `self.x` is known by its name
        alone, so none."""
        return {}

    def clients_in(self, node: SyntaxNode) -> frozenset[str]:
        """Client kinds used inside a node (a class, a function, or the whole file)."""
        return frozenset(kind for kind, _name, _verify in self.client_refs(node))

    @staticmethod
    def class_name(cls: SyntaxNode | None) -> str | None:
        raise NotImplementedError

    def request_scoped(self, cls: SyntaxNode) -> bool:
        """Is the class made anew for each request (NestJS `Scope.REQUEST`)? Python's frameworks have no such
        class scope the rules know of: its classes say nothing either way."""
        return False

    def collection_members(self, cls: SyntaxNode) -> list[tuple[str, list[tuple], str, bool]]:
        """(name, reference keys, scope, listed after the rebound fields) for each collection the class holds."""
        raise NotImplementedError

    def _stateful_fields(self, cls: SyntaxNode) -> tuple[str, ...]:
        """Fields written after the constructor: collections mutated, or values rebound (lazy clients aside).

        The same definition in both languages, so a counter or an `openedAt` a method rebinds makes a class
        stateful in either.
        """
        shapes = self.field_shapes
        members = self.collection_members(cls)
        rebinds = self.may_rebind_members(cls)
        if not members and not rebinds:
            return ()  # nothing the events table could show: most classes (schemas, types) never build it
        handles = vocabulary().matcher("clients.handle_names")
        names = [name for name, keys, scope, late in members if not late and self.writes(keys, scope, name)]
        for key in self.keys_by_owner.get((shapes.member_key, cls.id), ()) if rebinds else ():
            name = key[2]
            if name in names or handles.search(name) or name in shapes.instance_names:
                continue
            if any(w.op == "rebind" for w in self.writes([key], "instance", name)):
                names.append(name)
        names += [name for name, keys, scope, late in members if late and self.writes(keys, scope, name)]
        return tuple(dict.fromkeys(names))  # a field set up in two places (`__new__` and `__init__`) is one field

    def may_rebind_members(self, cls: SyntaxNode) -> bool:
        """Can code in the class rebind one of its fields after start-up? A language that can tell cheaply
        says no for classes that cannot, and they skip the events table (and the file its keys by owner)."""
        return True

    def path_value(self, node: SyntaxNode) -> str | None:
        """The text of the value a name in a path holds, when the file says: a module constant."""
        return self.module_values.get(node_text(node)) if node.type == "identifier" else None

    def code_text(self, node: SyntaxNode | None) -> str:
        """A node's text, without the comments in it where `path_shapes` says so: what the code says."""
        text = node_text(node)
        marker = self.path_shapes.comment_start
        if node is not None and marker and marker in text:
            for comment in nodes_of_types(node, self.parsed.language, _COMMENTS):
                text = text.replace(node_text(comment), " ", 1)
        return text

    def path_text(self, arg: SyntaxNode | None) -> str:
        """The path argument's text, with the values of the names it uses after it (module constants, and as
        `path_shapes` says, class fields, locals, and the constants those name), for the path facts'
        patterns to search."""
        if arg is None:
            return ""
        shapes = self.path_shapes
        names = descendants(arg, shapes.names)
        extra: list[str] = []
        expanded: list[SyntaxNode | None] = []  # the values' nodes, whose names the second level expands
        seen: set[str] = set()
        for node in names:
            if shapes.each_name_once:
                if node_text(node) in seen:
                    continue
                seen.add(node_text(node))
            value = self.path_value(node)
            if value is not None:
                extra.append(value)
                if shapes.second_level:
                    expanded.append(self.module_value_nodes.get(node_text(node)))
        fn = enclosing(arg, self.function_types) if shapes.local_assignment else None
        if fn is not None:
            texts = {node_text(n) for n in names}
            for node in descendants(fn, shapes.local_assignment):
                if node_text(field(node, "left")) in texts:
                    extra.append(self.code_text(field(node, "right")))
                    expanded.append(field(node, "right"))
        # Names read from the values' code (not words of their strings or comments), each once per value.
        second = [self.module_values[word] for value in expanded if value is not None
                  for word in dict.fromkeys(node_text(n) for n in descendants(value, shapes.names))
                  if word in self.module_values] if shapes.second_level else []
        return " ".join([self.code_text(arg), *extra, *second])[:shapes.limit]

    def clients_beside(self, keys: list[tuple]) -> frozenset[tuple[str, str, bool]]:
        """Clients used in the functions that read or write the state these keys name: a store *beside* it,
        not merely nearby. Constructors are left out: a client they take is set up, not used with the state."""
        units = self.client_units
        functions = {}
        for key in keys:
            for _line, _op, fn in self.events.get(key, []):
                outer = fn
                while units.methods and outer is not None and outer.type not in units.methods \
                        and enclosing(outer, self.function_types) is not None:
                    outer = enclosing(outer, self.function_types)
                if outer is not None and not (outer.type in units.constructor_types
                                              and node_text(field(outer, "name")) in units.constructors):
                    functions[outer.id] = outer
        refs: set[tuple[str, str, bool]] = set()
        for fn in functions.values():
            refs |= self.client_refs(fn)
        return frozenset(refs)

    @cached_property
    def keys_by_owner(self) -> dict[tuple, list[tuple]]:
        """The events' (kind, owner, name) keys by (kind, owner), in table order: a class's own fields
        (`("this", class id)`, `("self", class id)`) without a pass over the whole table per class."""
        grouped: dict[tuple, list[tuple]] = {}
        for key in self.events.keys(members_only=True):
            if len(key) == 3:
                grouped.setdefault(key[:2], []).append(key)
        return grouped

    def stateful_fields(self, cls: SyntaxNode) -> tuple[str, ...]:
        """The class's fields written after its initialisation (`_stateful_fields`), worked out once per
        class: the index, class and singleton facts all ask."""
        return self.remembered("stateful_fields", cls, self._stateful_fields)

    def remembered(self, table: str, node: SyntaxNode, compute: Callable[[SyntaxNode], Answer]) -> Answer:
        """compute(node), worked out once per node for each table: the facts that several candidates of one
        class or function ask for. Every table lives in one store, so none can shadow an attribute."""
        known = self.__dict__.setdefault("_remembered", {})
        key = (table, node.id)
        if key not in known:
            known[key] = compute(node)
        return known[key]

    @cached_property
    def _references_by_name(self) -> dict[str, list[SyntaxNode]]:
        """The file's references (`reference_types`) by their last name (`sessions` for `this.sessions`),
        each list in pre-order."""
        shapes = self.write_shapes
        by_name: dict[str, list[SyntaxNode]] = {}
        for node in descendants(self.root, self.reference_types):
            last = field(node, shapes.member_name) if node.type == shapes.member else node
            by_name.setdefault(node_text(last), []).append(node)
        return by_name

    def references_named(self, name: str) -> list[SyntaxNode]:
        """The references whose last name is `name`, in any order (the events table puts them in pre-order);
        a reference that can name no state may be left out. A language that can find them without reading
        every reference's name says so."""
        return self._references_by_name.get(name, [])

    def reference_names(self) -> list[str]:
        """The last name of every reference in the file (each once, in any order)."""
        return list(self._references_by_name)

    @cached_property
    def events(self) -> EventsTable:
        """Reference key -> events, with writes through simple aliases (`const s = this.sessions`) credited."""
        return EventsTable(self)


class EventsTable:
    """Reference key -> events (line, operation, function), worked out per name on first ask.

    A key's events come from the references ending in its name (`sessions` in `this.sessions`) and,
    through the aliases those make (`const s = this.sessions`), from the references of the aliases' names,
    and of their aliases in turn; from nothing else. So a file asked about a few names reads those names'
    references only (`FileAnalysis.references_named`), not every reference's key and operation. The answers
    and their order are those of the whole table built in one pass: `items()` and `keys()` give it, in the
    order keys first appear.

    It belongs to its file's analysis (`FileAnalysis.events`) and refers back to it weakly, so the file's
    objects are freed the moment its match is done, without the cycle collector; asked after the analysis is
    gone, it raises ReferenceError.
    """

    def __init__(self, analysis: FileAnalysis) -> None:
        self._analysis = weakref.proxy(analysis)  # which keeps this table: no cycle to outlive the file
        self._keys: dict[int, tuple | None] = {}  # reference node id -> its key, once read
        self._operations: dict[int, tuple[str, str | None]] = {}  # node id -> (operation, alias made), once read
        self._table: dict[tuple, list[Event]] = {}
        self._first: dict[tuple, tuple[int, int]] = {}  # key -> where its first reference is, in pre-order
        self._done: set[str] = set()

    def get(self, key: tuple, default: Any = None) -> list[Event] | Any:
        if key[-1] not in self._done:
            self._work_out(key[-1])
        return self._table.get(key, default)

    @cached_property
    def _functions(self) -> list[SyntaxNode]:
        return descendants(self._analysis.root, self._analysis.function_types)

    def keys(self, members_only: bool = False) -> list[tuple]:
        """Every key, in the order of its first reference (reads each reference's key, not its events);
        `members_only`: those of member references (`this.x`, `self.x`), the only ones naming an owner."""
        found: dict[tuple, None] = {}
        analysis = self._analysis
        member = analysis.write_shapes.member
        types = frozenset((member,)) if members_only else analysis.reference_types
        for node in descendants(analysis.root, types):
            key = self._key(node)
            if key is not None:
                found.setdefault(key, None)
        return list(found)

    def items(self) -> list[tuple[tuple, list[Event]]]:
        left = [name for name in self._analysis.reference_names() if name not in self._done]
        if left:
            self._work_out(*left)  # one pass over the rest, not one per name
        return sorted(self._table.items(), key=lambda item: self._first[item[0]])

    def _key(self, node: SyntaxNode) -> tuple | None:
        if node.id not in self._keys:
            self._keys[node.id] = self._analysis._base_key(node)
        return self._keys[node.id]

    def _work_out(self, *wanted: str) -> None:
        """The events of every key ending in a wanted name or in the name of an alias reachable from one,
        from those names' references in pre-order, aliases credited as the one-pass table credits them."""
        analysis = self._analysis
        names, pending, found = set(), list(wanted), {}
        while pending:
            current = pending.pop()
            if current in names:
                continue
            names.add(current)
            for node in analysis.references_named(current):
                if self._key(node) is not None:
                    if node.id not in self._operations:
                        self._operations[node.id] = analysis._operation(node)
                    found[node.id] = node
                    alias = self._operations[node.id][1]
                    if alias is not None:
                        pending.append(alias)
        # Pre-order: by start, an ancestor before what it holds (references of one name never share a span).
        nodes = sorted(found.values(), key=_preorder_key)
        functions = innermost_containers(nodes, self._functions)
        table: dict[tuple, list[Event]] = {}
        aliases: list[tuple[SyntaxNode | None, str, tuple]] = []
        for node, fn in zip(nodes, functions, strict=True):
            key = self._keys[node.id]
            op, alias = self._operations[node.id]
            if alias is not None:
                aliases.append((fn, alias, key))
            table.setdefault(key, []).append((line_of(node), op, fn))
            if key not in self._first:
                self._first[key] = _preorder_key(node)
        for fn, alias, key in aliases:
            if key == ("name", alias):
                continue  # `tb = tb.tb_next` rebinds the name; it is not an alias of itself
            for line, op, event_fn in list(table.get(("name", alias), [])):
                # An alias made at module level holds everywhere; one made in a function, inside it.
                if op not in ("read", "rebind") and event_fn is not None and (
                        fn is None or event_fn == fn or fn in ancestors(event_fn)):
                    table.setdefault(key, []).append((line, op, event_fn))
        self._table.update(table)
        self._done |= names


def _preorder_key(node: SyntaxNode) -> tuple[int, int]:
    """Where a node comes in pre-order among nodes that nest or follow each other: by start, longest first."""
    start, end = bytes_of(node)
    return start, -end


# The facts of a class that read its whole body again: asked only once the others leave its rule a chance.
CLASS_FACTS_LATER = frozenset({"client_writes"})


def class_facts(analysis: FileAnalysis, cls: SyntaxNode, later: bool = True) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a class that may keep its state only in a shared store, in either language; without `later`,
    all but those of CLASS_FACTS_LATER (every class of a file is a candidate; its name rules most out)."""
    name = analysis.class_name(cls) or ""
    stateful = analysis.stateful_fields(cls)
    return {
        **naming_facts(name, name, symbol=name), "scope": "class", "owner_kind": "class",
        "clients": analysis.clients_in(cls), "stateful_fields": stateful, "stateful": bool(stateful),
        **({"client_writes": writes_through_client(field(cls, "body"), analysis.parsed.language)} if later else {}),
        "lifetime_local": "request" if analysis.request_scoped(cls) else "unknown",
    }, []


def singleton_class_facts(analysis: FileAnalysis, cls: SyntaxNode | None, own_class: bool,
                          class_in_file: bool | None = None) -> dict[str, Any]:
    """What a singleton's class says, in either language: whether it is the project's own and declared in
    this file, the fields it writes after start-up and the clients it holds. One object per process either
    way (`lifetime_local`). How the class is found and what makes the pattern differ by language (a static
    `getInstance` field, an `_instance` attribute, a `@singleton` decorator), so the callers decide those."""
    stateful = analysis.stateful_fields(cls) if cls is not None else ()
    return {
        "own_class": own_class,
        "class_in_file": cls is not None if class_in_file is None else class_in_file,
        "stateful_fields": stateful,
        "stateful": bool(stateful),
        "clients": analysis.clients_in(cls) if cls is not None else frozenset(),
        "owner_kind": "class",
        "lifetime_local": "process",
    }
