"""Facts about Python caches: library cache objects, decorators that wrap `lru_cache`, process constants.

Three idioms recur in real services:

- a module-level cache object of a caching library (flask-caching `cache = Cache()`, or a project subclass
  of it) whose `@cache.memoize()` / `@cache.cached()` decorators are spread over many modules: storage
  follows the object's configuration (Redis when configured, local memory or disk otherwise);
- a project decorator whose body applies `functools.lru_cache` (a timed LRU, say): every function it
  decorates gets its own per-process cache;
- `@lru_cache` on a function without parameters that only builds settings or a stateless object from the
  environment: it is a process constant, computed once, identical on every instance: not state.
"""

from __future__ import annotations

import weakref
from functools import cached_property

from ..syntax import SyntaxNode, descendants, field, named_children, node_text, nodes_of_types, parent_of, points_of
from ..vocabulary import current as vocabulary

# functools decorators whose cache lives in the process.
LRU_NAMES = frozenset({"lru_cache", "cache"})
_PROSE = frozenset({"comment", "string"})


def module_path(rel: str) -> str:
    """`pkg/cache/__init__.py` -> `pkg.cache`: the dotted name a file is imported by (up to the scan root)."""
    path = rel[:-3] if rel.endswith(".py") else rel
    if path.endswith("/__init__"):
        path = path[: -len("/__init__")]
    return path.replace("/", ".")


def resolve_module(current: str, imported: str, is_package: bool) -> str:
    """The absolute dotted name of `imported` as written in the module `current` (relative imports resolved)."""
    if not imported.startswith("."):
        return imported
    dots = len(imported) - len(imported.lstrip("."))
    parts = current.split(".") if current else []
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (dots - 1)] if dots > 1 else base
    rest = imported.lstrip(".")
    return ".".join([*base, rest] if rest else base)


def same_module(file_module: str, imported: str) -> bool:
    """Does a file's dotted path name the imported module? The scan root may sit above the package root."""
    return file_module == imported or file_module.endswith("." + imported)


class PyCaches:
    """What one Python file says about caches; built lazily from its PyFile."""

    def __init__(self, py) -> None:
        # The file's analysis keeps this object (PyFile.caches): a plain reference back would make a cycle,
        # which outlives the file until the cycle collector finds it, tree and all.
        self.py = weakref.proxy(py)

    @cached_property
    def library_classes(self) -> set[str]:
        """Cache classes: imported from a caching library, or a class of this file that extends one."""
        libraries = vocabulary().names("libraries.python.cache_modules")
        names = {local for local, module in self.py.imports.items()
                 if any(module == lib or module.startswith(lib + ".") for lib in libraries)
                 and local.endswith("Cache")}
        for cls in self.py.classes():
            bases = {node_text(b).rsplit(".", 1)[-1] for b in named_children(field(cls, "superclasses"))}
            if bases & names:
                names.add(self.py.class_name(cls) or "")
        return names

    @cached_property
    def objects(self) -> dict[str, str]:
        """Module-level cache objects -> backend: `redis`, `local`, or `config` (follows the app config)."""
        found: dict[str, str] = {}
        for stmt in named_children(self.py.root):
            if stmt.type != "expression_statement" or not named_children(stmt):
                continue
            assign = named_children(stmt)[0]
            if assign.type != "assignment":
                continue
            left, right = field(assign, "left"), field(assign, "right")
            if left is None or left.type != "identifier" or right is None or right.type != "call":
                continue
            callee = node_text(field(right, "function")).rsplit(".", 1)[-1]
            if callee in self.library_classes:
                found[node_text(left)] = self._backend(field(right, "arguments"))
        return found

    def _backend(self, arguments: SyntaxNode | None) -> str:
        """The backend named in the constructor's arguments, else in the file's CACHE_TYPE settings: the first
        group of `libraries.python.cache_backends` (redis, local) whose pattern is found, else `config`."""
        given = " ".join(node_text(a) for a in named_children(arguments) if a.type != "comment")
        for text in (given, self._settings):
            for backend, pattern in vocabulary().group_matchers("libraries.python.cache_backends"):
                if pattern.search(text):
                    return backend
        return "config"

    @cached_property
    def _settings(self) -> str:
        """The code of the lines that name a cache setting (`CACHE_TYPE = "redis"`, `"CACHE_REDIS_URL": url`),
        with comments and docstrings left out: prose that mentions a backend configures nothing. The settings
        are the vocabulary's `libraries.python.cache_settings`, found anywhere in a line's code."""
        parsed = self.py.parsed
        settings = tuple(vocabulary().names("libraries.python.cache_settings"))
        if not settings:
            return ""
        prose: dict[int, list[tuple[int, int]]] = {}
        for node in nodes_of_types(parsed.root, "python", _PROSE):
            if node.type == "string" and getattr(parent_of(node), "type", "") != "expression_statement":
                continue  # a string value, not a docstring
            (first, start), (last, end) = points_of(node)
            for row in range(first, last + 1):
                prose.setdefault(row, []).append((start if row == first else 0, end if row == last else None))
        found = []
        for row, raw in enumerate(parsed.source.split(b"\n")):
            if not any(setting.encode() in raw for setting in settings):
                continue
            code = bytearray(raw)
            for start, end in prose.get(row, ()):
                code[start:end] = b" " * len(code[start:end])  # (end None: to the end of the line)
            text = code.decode("utf-8", "replace")
            if any(setting in text for setting in settings):
                found.append(text)
        return " ".join(found)

    @cached_property
    def lru_wrappers(self) -> set[str]:
        """Module functions whose body applies functools' lru_cache: decorators that give each function a cache."""
        wrappers: set[str] = set()
        if b"functools" not in self.py.parsed.source:
            return wrappers  # is_lru needs `functools.` or a name imported from it: most files have neither
        for stmt in named_children(self.py.root):
            fn = field(stmt, "definition") if stmt.type == "decorated_definition" else stmt
            if fn is None or fn.type != "function_definition":
                continue
            if any(self.is_lru(node) for node in descendants(field(fn, "body"), ("call", "decorator"))):
                wrappers.add(node_text(field(fn, "name")))
        return wrappers

    def is_lru(self, node: SyntaxNode) -> bool:
        """`lru_cache(...)` or `functools.cache` used as a call or a decorator (imported from functools)."""
        target = None
        if node.type == "call":
            target = field(node, "function")
        elif node.type == "decorator" and named_children(node):
            target = named_children(node)[0]
            if target.type == "call":
                target = field(target, "function")
        if target is None or target.type not in ("identifier", "attribute"):
            return False
        text = node_text(target)
        if text.startswith("functools."):
            return text.split(".", 1)[1] in LRU_NAMES
        return text in LRU_NAMES and self.py.imports.get(text) == "functools"

    def process_constant(self, fn: SyntaxNode | None, decorator: str) -> bool:
        """A functools cache of a function without parameters that reaches no network or database and is never
        cleared: computed once from settings/the environment, the same on every instance."""
        if fn is None or fn.type != "function_definition" or decorator.split(".")[-1] not in LRU_NAMES:
            return False
        if named_children(field(fn, "parameters")):
            return False
        cleared = f"{node_text(field(fn, 'name'))}.cache_clear"
        if any(node_text(n).endswith(cleared) for n in descendants(self.py.root, "attribute")):
            return False  # `settings.cache_clear()` somewhere in the file: not computed once
        # The names the body uses, not the words of its docstring or comments.
        remote = vocabulary().matcher("libraries.python.remote_io")
        return not any(remote.search(node_text(n)) for n in descendants(field(fn, "body"), "identifier"))
