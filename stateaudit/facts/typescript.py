"""Facts about TypeScript/JavaScript candidates: scope, writes after start-up, lifetime, clients."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from ..model import WriteSite
from ..syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    SyntaxNode,
    ancestors,
    enclosing,
    field,
    line_of,
    named_children,
    node_text,
    walk,
)
from .common import purpose_of_path, split_words, write_tags
from .index import ClassInfo, FileIndex

MUTATORS = frozenset({"set", "add", "delete", "clear", "push", "pop", "shift", "unshift", "splice",
                      "sort", "reverse", "fill", "copyWithin"})
CLASS_TYPES = frozenset({"class_declaration", "class", "abstract_class_declaration"})
_WRAPPERS = frozenset({"non_null_expression", "parenthesized_expression", "as_expression",
                       "satisfies_expression", "type_assertion"})
_COLLECTION_CTORS = {"Map": "Map", "Set": "Set", "WeakMap": "WeakMap", "WeakSet": "WeakSet", "Array": "array"}
_STARTUP_FN = re.compile(r"^(bootstrap|main|start\w*|run|createApp|buildApp|createServer|makeApp|init\w*|setup\w*|"
                         r"configure\w*|register\w*|onModuleInit|onApplicationBootstrap|listen)$")
_HANDLER_PARAMS = frozenset({"req", "request", "res", "response", "ctx", "context", "event"})
_HTTP_DECORATORS = frozenset({"Get", "Post", "Put", "Patch", "Delete", "All", "Head", "Options",
                              "MessagePattern", "EventPattern", "SubscribeMessage"})
_LONG_LIVED_DECORATORS = frozenset({"Injectable", "Controller", "Resolver", "WebSocketGateway", "Processor",
                                     "Module", "Service", "Singleton"})
CLIENT_MODULES = {
    "redis": ("ioredis", "redis", "@redis/client", "@nestjs-modules/ioredis", "@liaoliaots/nestjs-redis",
              "cache-manager-redis-store", "cache-manager-ioredis", "cache-manager-ioredis-yet", "redlock"),
    "queue": ("bullmq", "bull", "@nestjs/bull", "@nestjs/bullmq", "bee-queue"),
    "database": ("pg", "postgres", "mysql", "mysql2", "@prisma/client", "typeorm", "@nestjs/typeorm", "mongoose",
                 "@nestjs/mongoose", "knex", "sequelize", "sequelize-typescript", "drizzle-orm", "mongodb",
                 "@mikro-orm/core", "kysely", "objection", "@neondatabase/serverless"),
}
_CLIENT_NAME = [
    ("redis", re.compile(r"redis|Redis")),
    ("queue", re.compile(r"(^|[a-z])(Queue|queue)(Service|Client)?$|^Bull")),
    ("database", re.compile(r"Prisma|prisma|Database|database|^db$|^Db|Pool$|^pool$|pgPool|Repository$|Repo$|"
                            r"DataSource|Knex|knex|Mongo|Sequelize|Drizzle|drizzle|EntityManager|^sql$")),
]
_CLIENT_DECORATORS = {"InjectRepository": "database", "InjectModel": "database", "InjectDataSource": "database",
                      "InjectEntityManager": "database", "InjectRedis": "redis", "InjectQueue": "queue",
                      "InjectConnection": "database"}
_MUTATING_HELPERS = frozenset({"Object.assign", "Reflect.set", "Reflect.deleteProperty", "Reflect.defineProperty",
                               "Object.defineProperty"})
FS_MODULES = ("fs", "node:fs", "fs/promises", "node:fs/promises", "fs-extra", "graceful-fs")


def _clean(node: SyntaxNode | None) -> SyntaxNode | None:
    while node is not None and node.type in _WRAPPERS and node.named_children:
        node = node.named_children[0]
    return node


def _decorator_name(decorator: SyntaxNode) -> str:
    inner = decorator.named_children[0] if decorator.named_children else None
    if inner is not None and inner.type == "call_expression":
        inner = field(inner, "function")
    text = node_text(inner)
    return text.rsplit(".", 1)[-1]


def _function_name(fn: SyntaxNode) -> str:
    name = field(fn, "name")
    if name is not None:
        return node_text(name)
    parent = fn.parent
    if parent is not None and parent.type == "variable_declarator":
        return node_text(field(parent, "name"))
    if parent is not None and parent.type in ("pair", "public_field_definition", "field_definition"):
        return node_text(field(parent, "key") or field(parent, "name") or field(parent, "property"))
    return ""


def _params(fn: SyntaxNode) -> list[str]:
    params = field(fn, "parameters") or field(fn, "parameter")
    if params is None:
        return []
    if params.type == "identifier":
        return [node_text(params)]
    names = []
    for param in params.named_children:
        pattern = field(param, "pattern") or param
        names.append(node_text(pattern).split(":")[0].strip())
    return names


class TsFile:
    """Per-file analysis, computed once and shared by every candidate in the file."""

    def __init__(self, parsed: ParsedFile):
        self.parsed = parsed
        self.root = parsed.root

    # -- imports and clients -------------------------------------------------
    @cached_property
    def imports(self) -> dict[str, str]:
        """Local name -> module source, for ES imports and `const x = require('m')`."""
        table: dict[str, str] = {}
        for node in self.root.named_children:
            if node.type == "import_statement":
                source = node_text(field(node, "source")).strip("'\"`")
                for child in walk(node):
                    if child.type == "identifier" and child.parent is not None and child.parent.type != "import_specifier":
                        table[node_text(child)] = source
                    elif child.type == "import_specifier":
                        alias = field(child, "alias") or field(child, "name")
                        table[node_text(alias)] = source
            elif node.type in ("lexical_declaration", "variable_declaration"):
                for decl in node.named_children:
                    value = _clean(field(decl, "value"))
                    if value is not None and value.type == "call_expression" and node_text(field(value, "function")) == "require":
                        args = named_children(field(value, "arguments"))
                        source = node_text(args[0]).strip("'\"`") if args else ""
                        name = field(decl, "name")
                        for ident in walk(name) if name is not None else []:
                            if ident.type in ("identifier", "shorthand_property_identifier_pattern"):
                                table[node_text(ident)] = source
        return table

    @cached_property
    def client_names(self) -> dict[str, str]:
        """Imported names that are Redis, queue or database clients -> client kind."""
        names: dict[str, str] = {}
        for local, source in self.imports.items():
            for kind, modules in CLIENT_MODULES.items():
                if source in modules or any(source.startswith(m + "/") for m in modules):
                    names[local] = kind
            if source.startswith(".") and local not in names:
                for kind, pattern in _CLIENT_NAME:
                    if pattern.search(local):
                        names[local] = kind
                        break
        return names

    def clients_in(self, node: SyntaxNode) -> frozenset[str]:
        """Client kinds used inside a node (a class, a method, or the whole file)."""
        return frozenset(kind for kind, _name, _verify in self.client_refs(node))

    def client_refs(self, node: SyntaxNode) -> frozenset[tuple[str, str, bool]]:
        """(kind, type or name, needs verification) for each client use inside a node; cached per node.

        A name imported from a package (ioredis, pg...) is a client for sure; a project class whose
        name only looks like one (`FilesRepository`) is checked against the service index later.
        """
        cache = self.__dict__.setdefault("_refs_cache", {})
        if node.id not in cache:
            cache[node.id] = self._client_refs(node)
        return cache[node.id]

    def _client_refs(self, node: SyntaxNode) -> frozenset[tuple[str, str, bool]]:
        refs: set[tuple[str, str, bool]] = set()
        props = self.client_props(self.class_of(node) if node.type not in CLASS_TYPES else node)
        for child in walk(node):
            if child.type in ("identifier", "type_identifier"):
                ref = self.client_ref(node_text(child))
                if ref:
                    refs.add(ref)
            elif child.type == "member_expression" and node_text(field(child, "object")) == "this":
                prop = node_text(field(child, "property"))
                if prop in props:
                    refs.add(props[prop])
                    continue
                for kind, pattern in _CLIENT_NAME:
                    if prop != "queue" and pattern.search(prop):
                        refs.add((kind, prop, False))
                        break
            elif child.type == "decorator":
                kind = _CLIENT_DECORATORS.get(_decorator_name(child))
                if kind:
                    refs.add((kind, _decorator_name(child), False))
        return frozenset(refs)

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
            for part in walk(node):
                ref = None
                if part.type in ("identifier", "type_identifier") and part != field(node, "name"):
                    ref = self.client_ref(node_text(part))
                elif part.type == "decorator":
                    kind = _CLIENT_DECORATORS.get(_decorator_name(part))
                    ref = (kind, _decorator_name(part), False) if kind else None
                if ref:
                    props[name] = ref
                    break
        cache[cls.id] = props
        return props

    @cached_property
    def fs_names(self) -> set[str]:
        names = {local for local, source in self.imports.items() if source in FS_MODULES}
        return names | {"fs", "fsp", "fsPromises"}

    # -- classes -------------------------------------------------------------
    def class_of(self, node: SyntaxNode) -> SyntaxNode | None:
        return enclosing(node, CLASS_TYPES)

    @staticmethod
    def class_name(cls: SyntaxNode | None) -> str | None:
        if cls is None:
            return None
        name = field(cls, "name")
        if name is not None:
            return node_text(name)
        parent = cls.parent
        if parent is not None and parent.type == "variable_declarator":
            return node_text(field(parent, "name"))
        return None

    @staticmethod
    def class_decorators(cls: SyntaxNode) -> list[SyntaxNode]:
        found = [c for c in cls.children if c.type == "decorator"]
        parent = cls.parent
        if parent is not None and parent.type == "export_statement":
            found += [c for c in parent.children if c.type == "decorator"]
        return found

    def request_scoped(self, cls: SyntaxNode) -> bool:
        return any(re.search(r"Scope\.(REQUEST|TRANSIENT)", node_text(d)) for d in self.class_decorators(cls))

    def static_instance_field(self, cls: SyntaxNode) -> SyntaxNode | None:
        body = field(cls, "body")
        has_get_instance = "getInstance" in node_text(body) or "instance()" in node_text(body)
        for member in named_children(body):
            if member.type in ("public_field_definition", "field_definition") and self.is_static(member):
                name = node_text(field(member, "name") or field(member, "property"))
                if re.fullmatch(r"_?(instance|INSTANCE|singleton|_instance|default[A-Z]\w*|shared)", name) and has_get_instance:
                    return member
        return None

    @staticmethod
    def is_static(member: SyntaxNode) -> bool:
        return any(c.type == "static" or node_text(c) == "static" for c in member.children if not c.is_named or c.type == "static")

    def method_decorators(self, method: SyntaxNode) -> list[str]:
        names = []
        sibling = method.prev_sibling
        while sibling is not None and sibling.type == "decorator":
            names.append(_decorator_name(sibling))
            sibling = sibling.prev_sibling
        names += [_decorator_name(c) for c in method.children if c.type == "decorator"]
        return names

    # -- references and writes --------------------------------------------------
    @cached_property
    def events(self) -> dict[tuple, list[tuple[int, str, SyntaxNode | None]]]:
        """Reference key -> [(line, op, enclosing function)]; op 'read' for non-writes."""
        table: dict[tuple, list[tuple[int, str, SyntaxNode | None]]] = {}
        aliases: list[tuple[SyntaxNode | None, str, tuple]] = []
        for node in walk(self.root):
            key = self._base_key(node)
            if key is None:
                continue
            op, alias = self._operation(node)
            fn = enclosing(node, FUNCTION_TYPES)
            if alias is not None:
                aliases.append((fn, alias, key))
            table.setdefault(key, []).append((line_of(node), op, fn))
        for fn, alias, key in aliases:
            for line, op, event_fn in table.get(("name", alias), []):
                if op != "read" and event_fn is not None and (fn is None or event_fn == fn or fn in ancestors(event_fn)):
                    table.setdefault(key, []).append((line, op, event_fn))
        return table

    def _base_key(self, node: SyntaxNode) -> tuple | None:
        if node.type == "identifier":
            parent = node.parent
            if parent is not None and parent.type in ("member_expression",) and field(parent, "property") == node:
                return None
            if parent is not None and parent.type in ("variable_declarator", "required_parameter", "optional_parameter",
                                                      "formal_parameters", "import_specifier", "import_clause",
                                                      "function_declaration", "class_declaration", "pair_pattern",
                                                      "shorthand_property_identifier_pattern", "labeled_statement"):
                if not (parent.type == "variable_declarator" and field(parent, "value") == node):
                    return None
            return ("name", node_text(node))
        if node.type == "member_expression":
            obj = field(node, "object")
            prop = node_text(field(node, "property"))
            if obj is not None and obj.type == "this":
                cls = self.class_of(node)
                return ("this", cls.id if cls is not None else 0, prop)
            if obj is not None and obj.type == "identifier" and node_text(obj)[:1].isupper():
                return ("static", node_text(obj), prop)
            if obj is not None and (node_text(obj) in ("ctx", "context")
                                    or (obj.type == "member_expression" and node_text(field(obj, "property")) in ("locals", "context", "app"))):
                return ("app", prop)
        return None

    def _operation(self, base: SyntaxNode) -> tuple[str, str | None]:
        """What the expression rooted at `base` does to it: a write op, 'rebind', 'read', or an alias."""
        current, depth = base, 0
        while True:
            parent = current.parent
            if parent is None:
                return "read", None
            if parent.type in _WRAPPERS:
                current = parent
                continue
            if parent.type == "member_expression" and field(parent, "object") == current:
                grand = parent.parent
                if grand is not None and grand.type == "call_expression" and field(grand, "function") == parent:
                    method = node_text(field(parent, "property"))
                    return (method if method in MUTATORS else "read"), None
                current, depth = parent, depth + 1
                continue
            if parent.type == "subscript_expression" and field(parent, "object") == current:
                current, depth = parent, depth + 1
                continue
            if parent.type in ("assignment_expression", "augmented_assignment_expression") and field(parent, "left") == current:
                return ("assign" if depth else "rebind"), None
            if parent.type == "update_expression":
                return ("update" if depth else "rebind"), None
            if parent.type == "unary_expression" and node_text(parent).startswith("delete") and depth:
                return "delete", None
            if parent.type == "arguments" and depth == 0:
                call = parent.parent
                callee = node_text(field(call, "function")) if call is not None else ""
                if callee in _MUTATING_HELPERS and parent.named_children and parent.named_children[0] == current:
                    return "assign", None
                return "read", None
            if parent.type == "call_expression" and depth == 1 and node_text(current).endswith((".get", ".at")):
                current = parent  # `store.get(k)` hands out an entry: an alias of part of the state
                continue
            if parent.type == "variable_declarator" and field(parent, "value") == current:
                name = field(parent, "name")
                if name is not None and name.type == "identifier":
                    return "read", node_text(name)
            return "read", None

    @cached_property
    def _local_names(self) -> dict[int, set[str]]:
        return {}

    def declared_locally(self, fn: SyntaxNode, name: str) -> bool:
        """Is `name` a parameter or local of `fn` (shadowing a module-level name)?"""
        cache = self._local_names
        if fn.id not in cache:
            names = set(_params(fn))
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
                    names.update(node_text(i) for i in walk(target) if i.type in ("identifier", "shorthand_property_identifier_pattern"))
                stack.extend(node.named_children)
            cache[fn.id] = names
        return name in cache[fn.id]

    def writes(self, keys: list[tuple], scope: str, name: str) -> list[WriteSite]:
        """Writes after start-up: module state written inside a function, fields outside the constructor."""
        sites = []
        for key in keys:
            for line, op, fn in self.events.get(key, []):
                if op == "read" or fn is None:
                    continue
                if scope == "module" and op != "rebind" and self._shadowed(fn, name):
                    continue
                if scope == "module" and op == "rebind" and self._shadowed(fn, name):
                    continue
                if scope in ("instance", "static") and self._in_constructor(fn):
                    continue
                if scope in ("module", "static") and self.only_called_at_load(fn):
                    continue
                sites.append(WriteSite(line, op))
        return sorted(set(sites), key=lambda s: (s.line, s.op))

    def only_called_at_load(self, fn: SyntaxNode) -> bool:
        """Writes in a helper that is only ever called while the module loads (registration) are initialisation."""
        outer = fn
        for parent in ancestors(fn):
            if parent.type in FUNCTION_TYPES:
                outer = parent
        name = _function_name(outer)
        if not name or outer.type == "method_definition" or _commonjs_exported(self, name) or (
                outer.parent is not None and outer.parent.type == "export_statement"):
            return False
        calls = self._calls.get(name, [])
        return bool(calls) and all(enclosing(c, FUNCTION_TYPES) is None for c in calls) and not self._passed_as_value(name)

    @cached_property
    def _calls(self) -> dict[str, list[SyntaxNode]]:
        calls: dict[str, list[SyntaxNode]] = {}
        for node in walk(self.root):
            if node.type == "call_expression":
                callee = field(node, "function")
                if callee is not None and callee.type == "identifier":
                    calls.setdefault(node_text(callee), []).append(node)
        return calls

    def _passed_as_value(self, name: str) -> bool:
        """Is the function handed to someone else (a callback, a route), who may call it at runtime?"""
        for node in walk(self.root):
            if node.type == "identifier" and node_text(node) == name and node.parent is not None \
                    and node.parent.type in ("arguments", "pair", "array", "shorthand_property_identifier"):
                return True
        return False

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
                value = _clean(field(member, "value"))
                if container_of(value) is not None:
                    found.append((node_text(field(member, "name") or field(member, "property")), member, self.is_static(member)))
            elif member.type == "method_definition" and node_text(field(member, "name")) == "constructor":
                for node in walk(field(member, "body")):
                    if node.type == "assignment_expression":
                        left = field(node, "left")
                        if left is not None and left.type == "member_expression" and node_text(field(left, "object")) == "this":
                            if container_of(_clean(field(node, "right"))) is not None:
                                found.append((node_text(field(left, "property")), node, False))
        return found

    def stateful_fields(self, cls: SyntaxNode) -> tuple[str, ...]:
        names = []
        for name, _decl, is_static in self.collection_fields(cls):
            keys = [("this", cls.id, name)] + ([("static", self.class_name(cls) or "", name)] if is_static else [])
            if self.writes(keys, "static" if is_static else "instance", name):
                names.append(name)
        return tuple(names)


def container_of(value: SyntaxNode | None) -> str | None:
    """'Map', 'Set', 'array', 'object'... for collection initialisers; None otherwise."""
    value = _clean(value)
    if value is None:
        return None
    if value.type == "new_expression":
        ctor = node_text(field(value, "constructor"))
        return _COLLECTION_CTORS.get(ctor)
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
    while current is not None and current.type in _WRAPPERS:
        current = current.named_children[0] if current.named_children else None
    return current is not None and current.type == "call_expression" and node_text(field(current, "function")) in (
        "Object.freeze", "deepFreeze", "freeze")


def analyse(parsed: ParsedFile) -> TsFile:
    return TsFile(parsed)


# -- the per-file index -------------------------------------------------------

def file_index(ts: TsFile) -> FileIndex:
    index = FileIndex()
    for node in walk(ts.root):
        if node.type in CLASS_TYPES:
            name = ts.class_name(node)
            if not name:
                continue
            decorators = tuple(_decorator_name(d) for d in ts.class_decorators(node))
            index.classes.append(ClassInfo(
                name=name, file=ts.parsed.rel, decorators=decorators,
                request_scoped=ts.request_scoped(node),
                long_lived_decorator=any(d in _LONG_LIVED_DECORATORS for d in decorators),
                has_static_instance=ts.static_instance_field(node) is not None,
                stateful_fields=ts.stateful_fields(node),
                clients=ts.clients_in(node),
            ))
        elif node.type == "new_expression":
            ctor = field(node, "constructor")
            if ctor is not None and ctor.type == "member_expression":
                ctor = field(ctor, "property")  # new geofence.EtaCalculator(...)
            if ctor is not None and ctor.type in ("identifier", "property_identifier"):
                index.instantiations.append((node_text(ctor), instantiation_context(ts, node)))
        elif node.type == "pair" and node_text(field(node, "key")) in ("providers", "useClass", "controllers"):
            for ident in walk(field(node, "value")):
                if ident.type == "identifier":
                    index.instantiations.append((node_text(ident), "provider"))
    return index


def instantiation_context(ts: TsFile, node: SyntaxNode) -> str:
    fn = enclosing(node, FUNCTION_TYPES)
    if fn is None:
        return "module"
    current: SyntaxNode | None = fn
    while current is not None:
        name = _function_name(current)
        if current.type == "method_definition" and (
                set(ts.method_decorators(current)) & _HTTP_DECORATORS):
            return "handler"
        if set(_params(current)) & _HANDLER_PARAMS:
            return "handler"
        if name == "constructor" or _STARTUP_FN.match(name or ""):
            return "startup"
        current = enclosing(current, FUNCTION_TYPES)
    return "function"


# -- facts per subject ----------------------------------------------------------

def state_facts(ts: TsFile, target: SyntaxNode, name_node: SyntaxNode | None,
                value: SyntaxNode | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a named value: a module variable, class field or constructor assignment."""
    name = node_text(name_node)
    cls = ts.class_of(target)
    fn = enclosing(target, FUNCTION_TYPES)
    if target.type in ("public_field_definition", "field_definition"):
        scope = "static" if ts.is_static(target) else "instance"
    elif target.type == "assignment_expression":
        left = field(target, "left")
        holder = field(left, "object") if left is not None else None
        if holder is not None and node_text(field(holder, "property")) in ("locals", "context", "app") and (
                fn is None or instantiation_context(ts, target) in ("startup", "module")):
            scope = "app-state"
        else:
            scope = "instance" if fn is not None and node_text(field(fn, "name")) == "constructor" else "function"
    elif fn is not None:
        scope = "closure" if _closure_lives_long(ts, fn, name) else "function"
    else:
        scope = "module"
    class_name = ts.class_name(cls) if scope != "module" else None
    if scope == "module":
        keys = [("name", name)]
    elif scope == "app-state":
        keys = [("app", name)]
    elif scope == "closure":
        keys = [("name", name)]
    elif scope == "static":
        keys = [("this", cls.id if cls else 0, name), ("static", class_name or "", name)]
    else:
        keys = [("this", cls.id if cls else 0, name)]
    writes = ts.writes(keys, scope, name) if scope != "function" else []
    if scope == "closure":
        writes = [w for w in _closure_writes(ts, fn, name)]
    declaration = target.parent if target.type == "variable_declarator" else None
    facts: dict[str, Any] = {
        "scope": scope,
        "name": name,
        "words": split_words(name) | (split_words(class_name) if class_name else set()),
        "class_name": class_name,
        "symbol": f"{class_name}.{name}" if class_name else name,
        "container": container_of(value),
        "type_words": frozenset(_type_words(target, value)),
        "frozen": is_frozen(value) or (declaration is not None and node_text(declaration).startswith("const") and name.isupper() and not writes),
        "declared_with": node_text(declaration.children[0]) if declaration is not None and declaration.children else None,
        "writes": frozenset(w.op for w in writes),
        "written_after_init": any(w.op != "rebind" for w in writes),
        "rebound": any(w.op == "rebind" for w in writes),
        "exported": target.parent is not None and target.parent.parent is not None and target.parent.parent.type == "export_statement",
    }
    facts.update(_owner_facts(ts, cls if scope != "module" else None))
    tags = write_tags([ts.parsed.line_text(w.line) for w in writes])
    facts["stored"] = tags
    facts["increments"] = "increment" in tags
    refs = _refs_beside(ts, keys, cls if scope != "module" else None)
    facts["client_refs"] = refs
    facts["clients"] = frozenset(kind for kind, _n, _v in refs)
    return facts, writes


def _type_words(target: SyntaxNode, value: SyntaxNode | None) -> set[str]:
    """Words of the element type: `Map<string, PatternStats>` says more than a field called `patterns`."""
    words: set[str] = set()
    for node in (field(_clean(value), "type_arguments") if value is not None else None, field(target, "type")):
        for part in walk(node) if node is not None else []:
            if part.type == "type_identifier" and node_text(part) not in ("Record", "Map", "Set", "Array", "Partial"):
                words |= split_words(node_text(part))
    return words


def _refs_beside(ts: TsFile, keys: list[tuple], cls: SyntaxNode | None) -> frozenset:
    """Clients used in the functions that read or write the state: a store *beside* it, not merely nearby."""
    functions = {}
    for key in keys:
        for _line, _op, fn in ts.events.get(key, []):
            outer = fn
            while outer is not None and outer.type != "method_definition" and enclosing(outer, FUNCTION_TYPES) is not None:
                outer = enclosing(outer, FUNCTION_TYPES)
            if outer is not None and not (outer.type == "method_definition" and node_text(field(outer, "name")) == "constructor"):
                functions[outer.id] = outer
    refs: set = set()
    for fn in functions.values():
        refs |= ts.client_refs(fn)
    return frozenset(refs)


def _closure_lives_long(ts: TsFile, fn: SyntaxNode, name: str) -> bool:
    """A local of a factory called once at start-up, captured by a closure it hands out (middleware, handlers)."""
    factory = _function_name(fn) or ("<plugin>" if _registered_plugin(ts, fn) else "")
    if not factory or set(_params(fn)) & _HANDLER_PARAMS:
        return False
    if not any(True for _ in _closure_writes(ts, fn, name)):
        return False
    if not (_returns_closure(fn) or _handed_out(fn, name)):
        return False
    exported = (fn.parent is not None and fn.parent.type == "export_statement") or _commonjs_exported(ts, factory) \
        or _registered_plugin(ts, fn)
    called_at_start = False
    for node in walk(ts.root):
        if node.type == "call_expression" and node_text(field(node, "function")) == factory:
            if instantiation_context(ts, node) in ("module", "startup"):
                called_at_start = True
                break
    return called_at_start or exported


def _returns_closure(fn: SyntaxNode) -> bool:
    """Does the factory hand out a function (or an object of functions) that outlives the call?"""
    body = field(fn, "body")
    if body is not None and body.type in ("arrow_function", "function_expression"):
        return True
    for node in walk(body) if body is not None else []:
        if node.type == "return_statement" and enclosing(node, FUNCTION_TYPES) == fn:
            value = node.named_children[0] if node.named_children else None
            if value is not None and any(n.type in ("arrow_function", "function_expression", "method_definition")
                                         for n in walk(value)):
                return True
    return False


def _handed_out(fn: SyntaxNode, name: str) -> bool:
    """Is the collection handed to the framework (`fastify.decorate('x', x)`, `app.set('x', x)`)?"""
    for node in walk(field(fn, "body")):
        if node.type == "call_expression" and node_text(field(node, "function")).rsplit(".", 1)[-1] in (
                "decorate", "decorateRequest", "set", "provide", "expose"):
            if any(node_text(a) == name for a in named_children(field(node, "arguments"))):
                return True
    return False


def _registered_plugin(ts: TsFile, fn: SyntaxNode) -> bool:
    """A plugin function passed to a call at module level (`fp(async function (app) {...})`, `register(...)`)."""
    parent = fn.parent
    if parent is None or parent.type != "arguments":
        return False
    call = parent.parent
    return call is not None and enclosing(call, FUNCTION_TYPES) is None


def _commonjs_exported(ts: TsFile, name: str) -> bool:
    text = ts.parsed.source.decode("utf-8", "replace")
    return bool(re.search(rf"module\.exports\s*=[^;\n]*\b{re.escape(name)}\b", text)
                or re.search(rf"\bexports\.{re.escape(name)}\s*=", text))


def _closure_writes(ts: TsFile, fn: SyntaxNode, name: str):
    """Writes to `name` from functions nested inside `fn` (the closures that outlive the call)."""
    for line, op, event_fn in ts.events.get(("name", name), []):
        if op in ("read", "rebind") or event_fn is None or event_fn == fn:
            continue
        if fn in ancestors(event_fn) and not ts.declared_locally(event_fn, name):
            yield WriteSite(line, op)


def _owner_facts(ts: TsFile, cls: SyntaxNode | None) -> dict[str, Any]:
    if cls is None:
        return {"clients": ts.clients_in(ts.root), "lifetime_local": "process",
                "owner_kind": "module", "class_words": frozenset()}
    name = ts.class_name(cls)
    return {
        "clients": ts.clients_in(cls),
        "lifetime_local": "request" if ts.request_scoped(cls) else "unknown",
        "owner_kind": "class",
        "class_words": frozenset(split_words(name)) if name else frozenset(),
    }


def singleton_facts(ts: TsFile, target: SyntaxNode, class_name: str | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a singleton: its class, and whether that class holds state written at runtime."""
    cls = ts.class_of(target)
    if cls is None and class_name:
        cls = next((n for n in walk(ts.root) if n.type in CLASS_TYPES and ts.class_name(n) == class_name), None)
    own_class = cls is not None or (class_name in ts.imports and ts.imports[class_name].startswith("."))
    name = class_name or ts.class_name(cls)
    instance_field = ts.static_instance_field(cls) if cls is not None else None
    if target.type in ("public_field_definition", "field_definition"):
        has_pattern = instance_field is not None and instance_field == target
    elif target.type == "method_definition":
        has_pattern = instance_field is None and cls is not None
    else:
        has_pattern = False
    stateful = ts.stateful_fields(cls) if cls is not None else ()
    facts = {
        "scope": "static" if target.type in ("public_field_definition", "field_definition", "method_definition") else "module",
        "name": name or "",
        "class_name": name,
        "symbol": f"{name}.getInstance()" if has_pattern else _export_symbol(target, name),
        "words": split_words(name or ""),
        "class_words": frozenset(split_words(name or "")),
        "own_class": own_class,
        "has_instance_pattern": has_pattern,
        "class_in_file": cls is not None,
        "stateful_fields": stateful,
        "stateful": bool(stateful),
        "clients": ts.clients_in(cls) if cls is not None else frozenset(),
        "owner_kind": "class",
        "lifetime_local": "process",
    }
    return facts, []


def _export_symbol(target: SyntaxNode, class_name: str | None) -> str:
    for node in walk(target):
        if node.type == "variable_declarator":
            return node_text(field(node, "name"))
    return f"default export ({class_name})" if class_name else "default export"


def call_facts(ts: TsFile, call: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a call that starts a timer or writes to disk."""
    callee = node_text(field(call, "function") or field(call, "constructor"))
    fn = enclosing(call, FUNCTION_TYPES)
    cls = ts.class_of(call)
    method = _function_name(fn) if fn is not None else _decorated_method(call)
    holder = _assigned_to(call)
    args = named_children(field(call, "arguments"))
    first = args[0] if args else None
    callback_text = node_text(first) if first is not None else ""
    path_text = _resolve_path_text(ts, first)
    class_name = ts.class_name(cls)
    facts: dict[str, Any] = {
        "callee": callee,
        "callee_name": callee.rsplit(".", 1)[-1],
        "callee_object": callee.rsplit(".", 1)[0] if "." in callee else "",
        "fs_call": _is_fs_call(ts, callee),
        "method": method,
        "class_name": class_name,
        "symbol": _call_symbol(class_name, method, holder, callee),
        "name": holder or method,
        "callee_module": ts.imports.get(callee.split(".")[0], ""),
        "words": split_words(method) | split_words(callback_text) | split_words(holder) | (split_words(class_name) if class_name else set()),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "callback": callback_text[:200],
        "rearmed": _rearms(ts, call, fn, first),
        "callback_io": _does_io(ts, first, cls),
        "in_function": fn is not None,
        "target_path": path_text,
        "path_purpose": purpose_of_path(path_text + " " + node_text(field(call, "arguments"))),
        "deleted_in_same_function": _deletes_in(ts, fn),
        "multer_memory": "memoryStorage" in node_text(field(call, "arguments")),
        "has_store_option": bool(re.search(r"\bstore\s*:", node_text(field(call, "arguments")))),
        "has_dest_option": bool(re.search(r"\bdest\s*:", node_text(field(call, "arguments")))),
        "owner_kind": "class" if cls is not None else "module",
        "clients": ts.clients_in(cls) if cls is not None else ts.clients_in(ts.root),
        "lifetime_local": "unknown" if cls is not None else "process",
    }
    return facts, []


def _decorated_method(node: SyntaxNode) -> str:
    """For a call inside a method decorator, the decorated method's name."""
    decorator = enclosing(node, frozenset({"decorator"}))
    sibling = decorator.next_named_sibling if decorator is not None else None
    while sibling is not None and sibling.type == "decorator":
        sibling = sibling.next_named_sibling
    if sibling is not None and sibling.type == "method_definition":
        return node_text(field(sibling, "name"))
    return ""


def _assigned_to(node: SyntaxNode) -> str:
    """The variable or field a call's result is stored in, if any."""
    parent = node.parent
    while parent is not None and parent.type in _WRAPPERS | {"await_expression"}:
        parent = parent.parent
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
    call = next((n for n in walk(decorator) if n.type == "call_expression"), decorator)
    return call_facts(ts, call)


def _is_fs_call(ts: TsFile, callee: str) -> bool:
    parts = callee.split(".")
    if len(parts) == 1:
        return ts.imports.get(parts[0], "") in FS_MODULES
    return parts[0] in ts.fs_names or parts[0] == "fs" or callee.startswith("fs.promises.")


def _resolve_path_text(ts: TsFile, arg: SyntaxNode | None) -> str:
    """The path argument's text, with module-level constants it names expanded once."""
    if arg is None:
        return ""
    text = node_text(arg)
    names = {node_text(n) for n in walk(arg) if n.type == "identifier"}
    extra = []
    for node in ts.root.named_children:
        decl_holder = field(node, "declaration") if node.type == "export_statement" else node
        if decl_holder is None or decl_holder.type not in ("lexical_declaration", "variable_declaration"):
            continue
        for decl in decl_holder.named_children:
            if node_text(field(decl, "name")) in names:
                extra.append(node_text(field(decl, "value")))
    for node in walk(ts.root):
        if node.type == "public_field_definition" and node_text(field(node, "name")) in {
                node_text(field(n, "property")) for n in walk(arg) if n.type == "member_expression"}:
            extra.append(node_text(field(node, "value")))
    return " ".join([text, *extra])[:400]


def _rearms(ts: TsFile, call: SyntaxNode, fn: SyntaxNode | None, callback: SyntaxNode | None) -> bool:
    """A setTimeout re-arms itself when its callback calls a function that (transitively) scheduled it."""
    if fn is None or callback is None:
        return False
    names = set()
    current: SyntaxNode | None = fn
    while current is not None and len(names) < 4:
        name = _function_name(current)
        if name:
            names.add(name)
        current = enclosing(current, FUNCTION_TYPES)
    for name in names:
        if node_text(callback) in (name, f"this.{name}", f"this.{name}.bind(this)"):
            return True
        for node in walk(callback):
            if node.type == "call_expression" and node_text(field(node, "function")) in (name, f"this.{name}"):
                return True
    return False


def _does_io(ts: TsFile, callback: SyntaxNode | None, cls: SyntaxNode | None) -> bool:
    """Does a timer's callback wait on I/O (await, fetch, or an async method of its class)?"""
    if callback is None:
        return False
    async_methods = set()
    for member in named_children(field(cls, "body")) if cls is not None else []:
        if member.type == "method_definition" and any(c.type == "async" for c in member.children):
            async_methods.add(node_text(field(member, "name")))
    for node in walk(callback):
        if node.type == "await_expression":
            return True
        if node.type == "call_expression":
            callee = node_text(field(node, "function"))
            if callee in ("fetch", "axios", "got") or callee.startswith(("axios.", "http.", "https.")):
                return True
            if callee.startswith("this.") and callee[5:] in async_methods:
                return True
    return False


def _deletes_in(ts: TsFile, fn: SyntaxNode | None) -> bool:
    if fn is None:
        return False
    text = node_text(field(fn, "body"))
    return bool(re.search(r"\b(unlink|unlinkSync|rm|rmSync|rmdir|remove|removeSync)\s*\(", text))


def class_facts(ts: TsFile, cls: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a class that may keep its state only in a shared store."""
    name = ts.class_name(cls) or ""
    body_text = node_text(field(cls, "body"))
    client_writes = bool(re.search(
        r"\.(set|setex|hset|hmset|sadd|zadd|lpush|rpush|incr|expire|del|create|createMany|update|upsert|delete|"
        r"insert|save|query|execute)\s*\(", body_text)) and bool(re.search(
        r"INSERT|UPDATE|DELETE|\.(set|setex|hset|sadd|zadd|lpush|rpush|incr|create|upsert|insert|save)\s*\(", body_text))
    return {
        "name": name,
        "class_name": name,
        "symbol": name,
        "words": split_words(name),
        "class_words": frozenset(split_words(name)),
        "clients": ts.clients_in(cls),
        "stateful_fields": ts.stateful_fields(cls),
        "stateful": bool(ts.stateful_fields(cls)),
        "client_writes": client_writes,
        "owner_kind": "class",
        "lifetime_local": "request" if ts.request_scoped(cls) else "unknown",
        "scope": "class",
    }, []
