"""Facts about Python candidates: scope, writes after import, lifetime, clients."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from ..model import WriteSite
from ..syntax import ParsedFile, SyntaxNode, ancestors, enclosing, field, line_of, named_children, node_text, walk
from .common import purpose_of_path, split_words, write_tags
from .index import ClassInfo, FileIndex

FUNCTIONS = frozenset({"function_definition", "lambda"})
MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear", "add",
                      "discard", "remove", "appendleft", "extendleft", "popleft", "rotate", "__setitem__",
                      "__delitem__", "sort", "reverse", "move_to_end", "subtract", "difference_update",
                      "intersection_update", "symmetric_difference_update"})
_CONTAINERS = {"dict": "dict", "list": "list", "set": "set", "deque": "deque", "defaultdict": "defaultdict",
               "OrderedDict": "OrderedDict", "Counter": "Counter", "WeakValueDictionary": "dict",
               "WeakKeyDictionary": "dict", "ChainMap": "dict", "SortedDict": "dict", "SortedList": "list"}
_LITERALS = {"dictionary": "dict", "list": "list", "set": "set", "dictionary_comprehension": "dict",
             "list_comprehension": "list", "set_comprehension": "set"}
CLIENT_MODULES = {
    "redis": ("redis", "aioredis", "redis.asyncio", "walrus", "rq"),
    "queue": ("celery", "dramatiq", "arq", "rq", "kombu"),
    "database": ("sqlalchemy", "psycopg", "psycopg2", "asyncpg", "django.db", "pymongo", "motor", "databases",
                 "sqlmodel", "tortoise", "peewee", "mongoengine", "pymysql", "aiomysql", "aiopg", "beanie", "odmantic"),
}
_CLIENT_ATTR = [
    ("redis", re.compile(r"redis", re.I)),
    ("database", re.compile(r"^(db|database|pool|engine|session_factory|sessionmaker|conn|connection|collection|mongo\w*|pg\w*)$", re.I)),
]
_STARTUP_FN = re.compile(r"^(startup|on_startup|lifespan|create_app|make_app|main|ready|init_app|setup\w*|configure\w*|"
                         r"bootstrap|start\w*|run)$")
_ROUTE_DECORATOR = re.compile(r"\.(get|post|put|patch|delete|route|api_route|websocket)\(|api_view|login_required|"
                              r"csrf_exempt|require_http_methods|action\(|\.task\b|shared_task")
_HANDLER_PARAMS = frozenset({"request", "req", "self_request"})


class PyFile:
    """Per-file analysis, computed once and shared by every candidate in the file."""

    def __init__(self, parsed: ParsedFile):
        self.parsed = parsed
        self.root = parsed.root

    @cached_property
    def imports(self) -> dict[str, str]:
        """Local name -> module, for `import x`, `import x as y` and `from m import n`."""
        table: dict[str, str] = {}
        for node in walk(self.root):
            if node.type == "import_statement":
                for child in node.named_children:
                    if child.type == "aliased_import":
                        table[node_text(field(child, "alias"))] = node_text(field(child, "name"))
                    else:
                        table[node_text(child).split(".")[0]] = node_text(child)
            elif node.type == "import_from_statement":
                module = node_text(field(node, "module_name"))
                for child in node.named_children[1:]:
                    if child.type == "aliased_import":
                        table[node_text(field(child, "alias"))] = module
                    elif child.type == "dotted_name":
                        table[node_text(child)] = module
        return table

    @cached_property
    def client_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for local, module in self.imports.items():
            for kind, modules in CLIENT_MODULES.items():
                if any(module == m or module.startswith(m + ".") for m in modules):
                    names.setdefault(local, kind)
        return names

    def clients_in(self, node: SyntaxNode) -> frozenset[str]:
        """Client kinds used inside a node (a class, or the whole file); cached per node."""
        cache = self.__dict__.setdefault("_clients_cache", {})
        if node.id not in cache:
            cache[node.id] = self._clients_in(node)
        return cache[node.id]

    def _clients_in(self, node: SyntaxNode) -> frozenset[str]:
        kinds: set[str] = set()
        for child in walk(node):
            if child.type == "identifier":
                kind = self.client_names.get(node_text(child))
                if kind:
                    kinds.add(kind)
            elif child.type == "attribute":
                obj, attr = field(child, "object"), node_text(field(child, "attribute"))
                if node_text(obj) in ("self", "cls"):
                    for kind, pattern in _CLIENT_ATTR:
                        if pattern.search(attr):
                            kinds.add(kind)
                            break
                elif attr == "objects":
                    kinds.add("database")
        return frozenset(kinds)

    # -- references and writes -----------------------------------------------
    @cached_property
    def events(self) -> dict[tuple, list[tuple[int, str, SyntaxNode | None]]]:
        table: dict[tuple, list[tuple[int, str, SyntaxNode | None]]] = {}
        aliases: list[tuple[SyntaxNode | None, str, tuple]] = []
        for node in walk(self.root):
            key = self._base_key(node)
            if key is None:
                continue
            op, alias = self._operation(node)
            fn = enclosing(node, FUNCTIONS)
            if alias is not None:
                aliases.append((fn, alias, key))
            table.setdefault(key, []).append((line_of(node), op, fn))
        for fn, alias, key in aliases:
            for line, op, event_fn in table.get(("name", alias), []):
                if op not in ("read", "rebind") and event_fn is not None and (event_fn == fn or fn in ancestors(event_fn)):
                    table.setdefault(key, []).append((line, op, event_fn))
        return table

    def _base_key(self, node: SyntaxNode) -> tuple | None:
        if node.type == "identifier":
            parent = node.parent
            if parent is None:
                return None
            if parent.type == "attribute" and field(parent, "attribute") == node:
                return None
            if parent.type in ("keyword_argument",) and field(parent, "name") == node:
                return None
            if parent.type in ("function_definition", "class_definition", "parameters", "default_parameter",
                               "typed_parameter", "typed_default_parameter", "dotted_name", "aliased_import",
                               "global_statement", "nonlocal_statement"):
                return None
            return ("name", node_text(node))
        if node.type == "attribute":
            obj = field(node, "object")
            attr = node_text(field(node, "attribute"))
            if obj is None or obj.type != "identifier":
                return None
            owner = node_text(obj)
            cls = enclosing(node, frozenset({"class_definition"}))
            if owner == "self":
                return ("self", cls.id if cls is not None else 0, attr)
            if owner == "cls":
                return ("cls", cls.id if cls is not None else 0, attr)
            return ("attr", owner, attr)
        return None

    def _operation(self, base: SyntaxNode) -> tuple[str, str | None]:
        current, depth = base, 0
        while True:
            parent = current.parent
            if parent is None:
                return "read", None
            if parent.type == "parenthesized_expression":
                current = parent
                continue
            if parent.type == "attribute" and field(parent, "object") == current:
                grand = parent.parent
                if grand is not None and grand.type == "call" and field(grand, "function") == parent:
                    method = node_text(field(parent, "attribute"))
                    return (method if method in MUTATORS else "read"), None
                current, depth = parent, depth + 1
                continue
            if parent.type == "subscript" and field(parent, "value") == current:
                current, depth = parent, depth + 1
                continue
            if parent.type == "assignment" and field(parent, "left") == current:
                return ("assign" if depth else "rebind"), None
            if parent.type == "augmented_assignment" and field(parent, "left") == current:
                return ("assign" if depth else "rebind"), None
            if parent.type in ("pattern_list", "tuple_pattern") and parent.parent is not None and \
                    parent.parent.type in ("assignment", "for_statement") and field(parent.parent, "left") == parent:
                return ("assign" if depth else "rebind"), None
            if parent.type == "delete_statement" and depth:
                return "delete", None
            if parent.type == "expression_list" and parent.parent is not None and parent.parent.type == "delete_statement" and depth:
                return "delete", None
            if parent.type == "call" and depth == 1 and node_text(current).endswith((".get", ".setdefault")):
                current = parent  # `store.get(k)` hands out an entry: an alias of part of the state
                continue
            if parent.type == "assignment" and field(parent, "right") == current:
                left = field(parent, "left")
                if left is not None and left.type == "identifier":
                    return "read", node_text(left)
            return "read", None

    @cached_property
    def _locals(self) -> dict[int, tuple[set[str], set[str]]]:
        return {}

    def locals_of(self, fn: SyntaxNode) -> tuple[set[str], set[str]]:
        """(names bound locally, names declared global/nonlocal) in a function, nested functions excluded."""
        if fn.id not in self._locals:
            bound: set[str] = set()
            declared: set[str] = set()
            params = field(fn, "parameters")
            for p in walk(params) if params is not None else []:
                if p.type == "identifier" and p.parent is not None and p.parent.type in (
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
                    declared.update(node_text(c) for c in node.named_children)
                elif node.type in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
                    left = field(node, "left")
                    if left is not None and left.type in ("identifier", "pattern_list", "tuple_pattern"):
                        bound.update(node_text(i) for i in walk(left) if i.type == "identifier")
                elif node.type in ("with_item", "as_pattern"):
                    alias = field(node, "alias")
                    if alias is not None:
                        bound.update(node_text(i) for i in walk(alias) if i.type == "identifier")
                stack.extend(node.named_children)
            self._locals[fn.id] = (bound - declared, declared)
        return self._locals[fn.id]

    def writes(self, keys: list[tuple], scope: str, name: str) -> list[WriteSite]:
        sites = []
        for key in keys:
            for line, op, fn in self.events.get(key, []):
                if op == "read" or fn is None:
                    continue
                if scope == "module":
                    bound, declared = self.locals_of(fn)
                    if op == "rebind" and name not in declared:
                        continue
                    if name in bound:
                        continue
                if scope == "instance" and node_text(field(fn, "name")) in ("__init__", "__post_init__", "__new__"):
                    continue
                if self.only_called_at_import(fn):
                    continue
                sites.append(WriteSite(line, op))
        return sorted(set(sites), key=lambda s: (s.line, s.op))

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
    def _call_uses(self) -> dict[str, list[SyntaxNode]]:
        """Function name -> nodes that call it or apply it as a decorator."""
        uses: dict[str, list[SyntaxNode]] = {}
        for node in walk(self.root):
            target = None
            if node.type == "call":
                target = field(node, "function")
            elif node.type == "decorator" and node.named_children:
                target = node.named_children[0]
            if target is None:
                continue
            if target.type == "attribute":
                target = field(target, "attribute")
            if target is not None and target.type == "identifier":
                uses.setdefault(node_text(target), []).append(node)
        return uses

    # -- classes ----------------------------------------------------------------
    def classes(self) -> list[SyntaxNode]:
        return [n for n in walk(self.root) if n.type == "class_definition"]

    @staticmethod
    def class_name(cls: SyntaxNode | None) -> str | None:
        return node_text(field(cls, "name")) if cls is not None else None

    @staticmethod
    def decorators(node: SyntaxNode) -> list[str]:
        parent = node.parent
        if parent is None or parent.type != "decorated_definition":
            return []
        return [node_text(d)[1:].strip() for d in parent.named_children if d.type == "decorator"]

    def instance_collections(self, cls: SyntaxNode) -> list[tuple[str, SyntaxNode]]:
        """Collections each instance gets: set in __init__/__post_init__/__new__, or dataclass default factories."""
        found = []
        for fn in walk(field(cls, "body")):
            name = node_text(field(fn, "name")) if fn.type == "function_definition" else ""
            if name in ("__init__", "__post_init__", "__new__"):
                for node in walk(field(fn, "body")):
                    if node.type == "assignment":
                        left = field(node, "left")
                        owner = node_text(field(left, "object")) if left is not None and left.type == "attribute" else ""
                        if (owner == "self" or (name == "__new__" and owner not in ("", "cls"))) and container_of(field(node, "right")):
                            found.append((node_text(field(left, "attribute")), node))
        for name, assign in self.class_collections(cls):
            if _is_default_factory(field(assign, "right")):
                found.append((name, assign))
        return found

    def class_collections(self, cls: SyntaxNode) -> list[tuple[str, SyntaxNode]]:
        found = []
        for stmt in named_children(field(cls, "body")):
            if stmt.type == "expression_statement" and stmt.named_children and stmt.named_children[0].type == "assignment":
                assign = stmt.named_children[0]
                left = field(assign, "left")
                if left is not None and left.type == "identifier" and container_of(field(assign, "right")):
                    found.append((node_text(left), assign))
        return found

    def stateful_fields(self, cls: SyntaxNode) -> tuple[str, ...]:
        """Attributes written after __init__: collections mutated, or values rebound (lazy clients aside)."""
        names = []
        instances = _module_instances(self, self.class_name(cls))
        for name, _node in self.instance_collections(cls):
            keys = [("self", cls.id, name)] + [("attr", var, name) for var in instances]
            if self.writes(keys, "instance", name):
                names.append(name)
        for key in self.events:
            if len(key) != 3:
                continue
            kind, cls_id, name = key
            if kind == "self" and cls_id == cls.id and name not in names and not _CLIENT_HANDLE.search(name):
                if any(w.op == "rebind" for w in self.writes([("self", cls.id, name)], "instance", name)):
                    names.append(name)
        for name, _node in self.class_collections(cls):
            keys = [("cls", cls.id, name), ("self", cls.id, name), ("attr", self.class_name(cls) or "", name)]
            if self.writes(keys, "class", name):
                names.append(name)
        return tuple(names)

    def has_singleton_instance(self, cls: SyntaxNode) -> bool:
        body = node_text(field(cls, "body"))
        return bool(re.search(r"\b_?_instances?\b", body)) and any(
            marker in body for marker in ("__new__", "__call__", "def instance", "get_instance"))


def container_of(value: SyntaxNode | None) -> str | None:
    if value is None:
        return None
    if value.type in _LITERALS:
        return _LITERALS[value.type]
    if value.type == "call":
        callee = node_text(field(value, "function")).rsplit(".", 1)[-1]
        if callee in ("field", "Field"):
            for arg in named_children(field(value, "arguments")):
                if arg.type == "keyword_argument" and node_text(field(arg, "name")) == "default_factory":
                    return _CONTAINERS.get(node_text(field(arg, "value")).rsplit(".", 1)[-1])
        return _CONTAINERS.get(callee)
    return None


def analyse(parsed: ParsedFile) -> PyFile:
    return PyFile(parsed)


def file_index(py: PyFile) -> FileIndex:
    index = FileIndex()
    for cls in py.classes():
        name = py.class_name(cls) or ""
        decorators = tuple(py.decorators(cls))
        index.classes.append(ClassInfo(
            name=name, file=py.parsed.rel, decorators=decorators,
            long_lived_decorator=any(d.split("(")[0].endswith("singleton") for d in decorators) or _long_lived_shape(cls),
            has_static_instance=py.has_singleton_instance(cls) or "Singleton" in node_text(field(cls, "superclasses")),
            stateful_fields=py.stateful_fields(cls), clients=py.clients_in(cls),
        ))
    for node in walk(py.root):
        if node.type == "call":
            callee = field(node, "function")
            if callee is not None and callee.type == "identifier" and node_text(callee)[:1].isupper():
                index.instantiations.append((node_text(callee), instantiation_context(py, node)))
    return index


_LONG_LIVED_BASES = re.compile(r"\b(MiddlewareMixin|BaseHTTPMiddleware|AppConfig|Task|BaseCommand|Consumer|"
                               r"AsyncWebsocketConsumer|WebsocketConsumer)\b")


def _long_lived_shape(cls: SyntaxNode) -> bool:
    """Classes a framework instantiates once per process: Django middleware (`get_response`), AppConfig, Celery Task."""
    if _LONG_LIVED_BASES.search(node_text(field(cls, "superclasses"))):
        return True
    for fn in named_children(field(cls, "body")):
        if fn.type == "function_definition" and node_text(field(fn, "name")) == "__init__":
            return "get_response" in node_text(field(fn, "parameters"))
    return False


def instantiation_context(py: PyFile, node: SyntaxNode) -> str:
    parent = node.parent
    if parent is not None and parent.type == "assignment" and node_text(field(parent, "left")).startswith("app.state."):
        return "app-state"
    fn = enclosing(node, FUNCTIONS)
    if fn is None:
        return "module"
    current: SyntaxNode | None = fn
    while current is not None:
        name = node_text(field(current, "name"))
        decorators = " ".join(py.decorators(current))
        params = {node_text(p).split(":")[0].strip() for p in named_children(field(current, "parameters"))}
        if "on_event" in decorators or _STARTUP_FN.match(name or ""):
            return "startup"
        if params & _HANDLER_PARAMS or _ROUTE_DECORATOR.search(decorators):
            return "handler"
        if name in ("__init__",):
            return "startup"
        current = enclosing(current, FUNCTIONS)
    return "function"


def _owner(py: PyFile, node: SyntaxNode) -> tuple[SyntaxNode | None, str | None]:
    cls = enclosing(node, frozenset({"class_definition"}))
    return cls, py.class_name(cls)


def state_facts(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None,
                value: SyntaxNode | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a module variable, class attribute, `self.x` set in __init__, or `app.state.x`."""
    left = field(target, "left")
    left_text = node_text(left)
    fn = enclosing(target, FUNCTIONS)
    cls, class_name = _owner(py, target)
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
    elif fn is None and cls is not None and _is_default_factory(value):
        scope, name = "instance", node_text(name_node)  # a dataclass field: one per instance
    elif fn is not None:
        name = node_text(name_node)
        scope = "closure" if _closure_lives_long(py, fn, name) else "function"
    elif cls is not None:
        scope, name = "class", node_text(name_node)
    else:
        scope, name = "module", node_text(name_node)
        class_name = None
    if scope == "module":
        keys = [("name", name)]
    elif scope == "class":
        shadowed = any(n == name for n, _ in py.instance_collections(cls)) or _assigned_in_init(cls, name)
        keys = [("cls", cls.id, name), ("attr", class_name or "", name)] + ([] if shadowed else [("self", cls.id, name)])
    elif scope == "instance":
        keys = [("self", cls.id if cls else 0, name)] + [("attr", var, name) for var in _module_instances(py, class_name)]
    elif scope == "app-state":
        keys = [("attr", holder, name) for holder in ("app", "application", "current_app")]
    elif scope == "closure":
        keys = []
    else:
        keys = []
    writes = py.writes(keys, scope if scope != "class" else "class", name) if keys else []
    if scope == "closure":
        writes = list(_closure_writes(py, fn, name))
    facts: dict[str, Any] = {
        "scope": scope,
        "name": name,
        "words": split_words(name) | (split_words(class_name) if class_name else set()),
        "class_name": class_name if scope in ("class", "instance") else None,
        "symbol": f"{class_name}.{name}" if class_name and scope in ("class", "instance") else name,
        "container": container_of(value),
        "callee_name": node_text(field(value, "function")).rsplit(".", 1)[-1] if value is not None and value.type == "call" else "",
        "value_text": node_text(value)[:300],
        "frozen": False,
        "writes": frozenset(w.op for w in writes),
        "written_after_init": any(w.op != "rebind" for w in writes) or (scope == "app-state" and (".state." in left_text or ".extensions[" in left_text)),
        "rebound": any(w.op == "rebind" for w in writes),
        "owner_kind": "class" if scope in ("class", "instance") else "module",
        "clients": py.clients_in(cls) if cls is not None and scope in ("class", "instance") else py.clients_in(py.root),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "lifetime_local": "process" if scope in ("module", "class", "app-state") else "unknown",
        "in_startup": fn is not None and instantiation_context(py, target) == "startup",
        "stored": write_tags([py.parsed.line_text(w.line) for w in writes]),
        "increments": "increment" in write_tags([py.parsed.line_text(w.line) for w in writes]),
        "own_class": _own_instance(py, value),
        "has_instance_pattern": scope == "class" and name in ("_instance", "__instance", "_instances")
                                and cls is not None and py.has_singleton_instance(cls),
        "in_handler": fn is not None and instantiation_context(py, target) == "handler",
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
    return module.startswith(".") or (module.split(".")[0] not in _THIRD_PARTY_HINTS and name not in py.client_names
                                      and not any(module.startswith(m) for ms in CLIENT_MODULES.values() for m in ms))


_FACTORY_PARAMS = frozenset({"get_response", "app", "application", "call_next", "wsgi_app", "next_handler"})


def _closure_lives_long(py: PyFile, fn: SyntaxNode, name: str) -> bool:
    """A local of a factory that returns a closure writing it: middleware factories, decorators applied at import."""
    if fn.type != "function_definition" or not any(True for _ in _closure_writes(py, fn, name)):
        return False
    returned = {node_text(n.named_children[0]) for n in walk(field(fn, "body"))
                if n.type == "return_statement" and n.named_children and enclosing(n, FUNCTIONS) == fn}
    inner = {node_text(field(n, "name")) for n in named_children(field(fn, "body")) if n.type == "function_definition"}
    if not returned & inner:
        return False
    params = {node_text(p).split(":")[0].split("=")[0].strip() for p in named_children(field(fn, "parameters"))}
    factory = node_text(field(fn, "name"))
    return bool(params & _FACTORY_PARAMS) or py.only_called_at_import(fn) or any(
        enclosing(use, FUNCTIONS) is None for use in py._call_uses.get(factory, []))


def _closure_writes(py: PyFile, fn: SyntaxNode, name: str):
    for line, op, event_fn in py.events.get(("name", name), []):
        if op in ("read", "rebind") or event_fn is None or event_fn == fn or fn not in ancestors(event_fn):
            continue
        bound, declared = py.locals_of(event_fn)
        if name not in bound:
            yield WriteSite(line, op)


def _is_default_factory(value: SyntaxNode | None) -> bool:
    return value is not None and value.type == "call" and node_text(field(value, "function")).rsplit(".", 1)[-1] in (
        "field", "Field") and "default_factory" in node_text(field(value, "arguments"))


def _module_instances(py: PyFile, class_name: str | None) -> list[str]:
    """Module-level variables holding an instance of the class (`FIRMWARE = FirmwareStats()`)."""
    names = []
    for stmt in py.root.named_children:
        if stmt.type == "expression_statement" and stmt.named_children and stmt.named_children[0].type == "assignment":
            assign = stmt.named_children[0]
            right = field(assign, "right")
            if class_name and right is not None and right.type == "call" and node_text(field(right, "function")) == class_name:
                names.append(node_text(field(assign, "left")))
    return names


def _assigned_in_init(cls: SyntaxNode, name: str) -> bool:
    for fn in walk(field(cls, "body")):
        if fn.type == "function_definition" and node_text(field(fn, "name")) == "__init__":
            for node in walk(field(fn, "body")):
                if node.type == "assignment" and node_text(field(node, "left")) == f"self.{name}":
                    return True
    return False


def global_facts(py: PyFile, target: SyntaxNode, name_node: SyntaxNode | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a module variable: does any function rebind it through `global`?"""
    name = node_text(name_node)
    writes = [w for w in py.writes([("name", name)], "module", name) if w.op == "rebind"]
    value = field(target, "right")
    duplicate = False
    if target.type == "global_statement":
        # Reported at the module assignment when there is one, else at the first `global` naming it.
        assigned = any(stmt.type == "expression_statement" and stmt.named_children
                       and stmt.named_children[0].type == "assignment"
                       and node_text(field(stmt.named_children[0], "left")) == name
                       for stmt in py.root.named_children)
        first = next((n for n in walk(py.root) if n.type == "global_statement"
                      and name in {node_text(c) for c in n.named_children}), None)
        duplicate = assigned or first != target
    return {
        "scope": "module", "name": name, "symbol": name, "words": split_words(name),
        "class_name": None, "container": container_of(value),
        "rebound": bool(writes), "writes": frozenset(w.op for w in writes), "written_after_init": False,
        "owner_kind": "module", "clients": py.clients_in(py.root), "class_words": frozenset(),
        "lifetime_local": "process", "duplicate": duplicate,
        "stored": write_tags([py.parsed.line_text(w.line) for w in writes]),
    }, writes


def _loops(node: SyntaxNode | None) -> bool:
    return node is not None and any(n.type == "while_statement" for n in walk(node))


def _function_named(py: PyFile, name: str) -> SyntaxNode | None:
    short = name.rsplit(".", 1)[-1]
    for node in walk(py.root):
        if node.type == "function_definition" and node_text(field(node, "name")) == short:
            return node
    return None


def call_facts(py: PyFile, call: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a call that starts a thread/task/job or writes to disk."""
    callee = node_text(field(call, "function"))
    args = field(call, "arguments")
    positional = [a for a in named_children(args) if a.type != "keyword_argument"]
    keywords = {node_text(field(a, "name")): field(a, "value") for a in named_children(args) if a.type == "keyword_argument"}
    fn = enclosing(call, FUNCTIONS)
    cls, class_name = _owner(py, call)
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
    facts: dict[str, Any] = {
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
        "memory_db": ":memory:" in first_text,
        "sqlite_url": first_text.strip("'\"f").startswith("sqlite:"),
        "target_path": path_text,
        "path_purpose": purpose_of_path(path_text),
        "deleted_in_same_function": bool(re.search(r"\b(os\.remove|os\.unlink|\.unlink\(|shutil\.rmtree|TemporaryDirectory|NamedTemporaryFile)", fn_text)),
        "owner_kind": "class" if cls is not None else "module",
        "clients": py.clients_in(cls) if cls is not None else py.clients_in(py.root),
        "lifetime_local": "unknown" if cls is not None else "process",
    }
    return facts, []


def _resolve_path_text(py: PyFile, arg: SyntaxNode | None) -> str:
    if arg is None:
        return ""
    names = {node_text(n) for n in walk(arg) if n.type == "identifier"}
    extra = []
    for stmt in py.root.named_children:
        if stmt.type == "expression_statement" and stmt.named_children and stmt.named_children[0].type == "assignment":
            assign = stmt.named_children[0]
            if node_text(field(assign, "left")) in names:
                extra.append(node_text(field(assign, "right")))
    fn = enclosing(arg, FUNCTIONS)
    if fn is not None:
        for node in walk(fn):
            if node.type == "assignment" and node_text(field(node, "left")) in names:
                extra.append(node_text(field(node, "right")))
    second = []
    for text in extra:  # one more level: `out = join(ROOT, x)` names ROOT
        for stmt in py.root.named_children:
            if stmt.type == "expression_statement" and stmt.named_children and stmt.named_children[0].type == "assignment":
                assign = stmt.named_children[0]
                if re.search(rf"\b{re.escape(node_text(field(assign, 'left')))}\b", text):
                    second.append(node_text(field(assign, "right")))
    return " ".join([node_text(arg), *extra, *second])[:600]


def decorator_facts(py: PyFile, decorator: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a decorated function (caches, scheduled jobs, singleton decorators)."""
    definition = decorator.parent
    inner = next((c for c in named_children(definition) if c.type in ("function_definition", "class_definition")), None)
    name = node_text(field(inner, "name"))
    cls, class_name = _owner(py, definition)
    text = node_text(decorator)[1:]
    return {
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


def singleton_facts(py: PyFile, target: SyntaxNode, class_name: str | None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for `_instance` singletons and module-level instances of the project's own classes."""
    cls = enclosing(target, frozenset({"class_definition"}))
    if cls is None and class_name:
        cls = next((c for c in py.classes() if py.class_name(c) == class_name), None)
    name = class_name or py.class_name(cls) or ""
    module = py.imports.get(name, "")
    own_class = cls is not None or module.startswith(".") or (module != "" and module.split(".")[0] not in _THIRD_PARTY_HINTS and "." in module)
    stateful = py.stateful_fields(cls) if cls is not None else ()
    left = field(target, "left")
    if target.type == "decorator":
        decorated = next((c for c in named_children(target.parent) if c.type == "class_definition"), None)
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
    return {
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


_CLIENT_HANDLE = re.compile(r"(client|pool|conn|connection|session|engine|redis|db|channel|socket|lock|logger)$", re.I)

_THIRD_PARTY_HINTS = frozenset({"fastapi", "flask", "django", "starlette", "celery", "logging", "redis", "sqlalchemy",
                                "pydantic", "httpx", "requests", "boto3", "apscheduler", "concurrent", "asyncio",
                                "threading", "collections", "typing", "prometheus_client", "structlog"})
