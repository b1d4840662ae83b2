"""Cross-file facts: which classes a service instantiates where, and what they hold."""

from __future__ import annotations

import re
from bisect import insort
from collections import Counter
from dataclasses import dataclass, field

# Where an instantiation happens, strongest evidence of process lifetime first.
PROCESS_CONTEXTS = frozenset({"module", "startup", "provider", "singleton", "app-state", "registry"})


# Methods a framework calls by name (views, viewsets, middleware, handlers): never only at boot.
FRAMEWORK_ENTRY_POINTS = frozenset({
    "get", "post", "put", "patch", "delete", "head", "options", "dispatch", "handle", "run", "execute", "call",
    "process_request", "process_response", "process_view", "process_exception", "receive", "connect",
    "disconnect", "create", "update", "destroy", "list", "retrieve", "perform_create", "perform_update",
    "perform_destroy", "save", "clean", "form_valid", "main",
})


REGISTRATION_NAME = re.compile(r"^_?(register|unregister|deregister|remove|add|install|uninstall|load)_\w+$")


@dataclass
class ClassInfo:
    name: str
    file: str
    decorators: tuple[str, ...] = ()
    request_scoped: bool = False  # NestJS Scope.REQUEST/TRANSIENT
    long_lived_decorator: bool = False  # @Injectable(), @Controller() ...
    has_static_instance: bool = False
    stateful_fields: tuple[str, ...] = ()  # collections written after init
    clients: frozenset[str] = frozenset()  # "redis", "database", "queue"


@dataclass
class FileIndex:
    """What one file contributes to its service's index."""

    classes: list[ClassInfo] = field(default_factory=list)
    instantiations: list[tuple[str, str]] = field(default_factory=list)  # (class name, context)
    # (class name, static method, "load" | "handler" | "function") for each `Class.method(...)` call
    static_calls: list[tuple[str, str, str]] = field(default_factory=list)
    # (class name, field, op) for writes after start-up through the class's singleton (`server.users[k] = v`)
    field_writes: list[tuple[str, str, str]] = field(default_factory=list)
    # names of functions and methods that write a file at a path their caller passes in
    file_writers: set[str] = field(default_factory=set)
    # classes whose constructor makes an in-memory rate limiter (a wrapper around rate-limiter-flexible, limiter...)
    limiter_classes: set[str] = field(default_factory=set)
    module: str = ""  # Python: the dotted name the file is imported by
    cache_objects: dict[str, str] = field(default_factory=dict)  # Python: module cache object -> backend
    cache_wrappers: frozenset[str] = frozenset()  # Python: module functions that apply lru_cache
    name_refs: dict[str, int] = field(default_factory=dict)  # Python: identifier -> uses (definitions aside)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # Python: (callee name, context, caller)
    dispatched: frozenset[str] = frozenset()  # Python: functions a decorator hands to a framework (routes, tasks)


@dataclass
class ServiceIndex:
    classes: dict[str, list[ClassInfo]] = field(default_factory=dict)
    sites: dict[str, set[str]] = field(default_factory=dict)
    call_contexts: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    field_writes: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    file_writers: set[str] = field(default_factory=set)
    limiter_classes: set[str] = field(default_factory=set)
    # last dotted part -> (path, the file's module facts) of Python files, by path
    modules: dict[str, list[tuple[str, FileIndex]]] = field(default_factory=dict)
    name_refs: Counter = field(default_factory=Counter)
    calls_to: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    dispatched: set[str] = field(default_factory=set)

    def add(self, file_index: FileIndex, path: str = "") -> None:
        """Merge one file's share (`path`: the file's). Nothing keeps `file_index` itself, so a scan can let
        each file's record go once it is added; the answers do not depend on the order files are added in."""
        self.name_refs.update(file_index.name_refs)
        self.dispatched.update(file_index.dispatched)
        for callee, context, caller in file_index.calls:
            self.calls_to.setdefault(callee, []).append((context, caller))
        if file_index.module:
            module = FileIndex(module=file_index.module, cache_objects=file_index.cache_objects,
                               cache_wrappers=file_index.cache_wrappers)
            insort(self.modules.setdefault(file_index.module.rsplit(".", 1)[-1], []), (path, module),
                   key=lambda entry: entry[0])
        for info in file_index.classes:
            self.classes.setdefault(info.name, []).append(info)
        for name, context in file_index.instantiations:
            self.sites.setdefault(name, set()).add(context)
        self.file_writers |= file_index.file_writers
        self.limiter_classes |= file_index.limiter_classes
        for cls, name, op in file_index.field_writes:
            self.field_writes.setdefault((cls, name), set()).add(op)
        for cls, method, context in file_index.static_calls:
            self.call_contexts.setdefault((cls, method), set()).add(context)

    def only_called_at_boot(self, class_name: str | None, methods) -> bool:
        """Are the static methods that write some state called, anywhere in the service, only while it boots?

        A registry filled by `PluginManager.add(...)` at import time or in start-up code is identical on every
        instance; one filled from a handler is not. No known caller at all is not evidence of either.
        """
        if not class_name or not methods:
            return False
        contexts = set().union(*(self.call_contexts.get((class_name, m), set()) for m in methods))
        return bool(contexts) and contexts <= {"load"}

    def lookup(self, name: str | None, file: str | None = None) -> ClassInfo | None:
        """The class of that name in `file`, else the one in the first file by path.

        Chosen by path, not by the order files were added, so the answer is the same whatever order the
        per-file records arrive in (worker processes, cache hits).
        """
        candidates = self.classes.get(name or "", [])
        for info in candidates:
            if info.file == file:
                return info
        return min(candidates, key=lambda info: info.file) if candidates else None

    def module(self, dotted: str) -> FileIndex | None:
        """The Python file imported as `dotted` (the scan root may sit above the package root); the first
        by path when several fit."""
        for _path, candidate in self.modules.get(dotted.rsplit(".", 1)[-1], []):
            if candidate.module == dotted or candidate.module.endswith("." + dotted):
                return candidate
        return None

    def runs_only_at_boot(self, name: str, depth: int = 0, seen: frozenset[str] = frozenset()) -> bool:
        """Python: is the function only ever run while the service starts (or never run by the service)?

        True when every use of its name in the service is a call from module level, a start-up hook, code
        handed the app, or a function that itself only runs at boot (two levels); also when nothing in the
        service uses a registration-shaped name (`register_*`, `remove_*`: a plugin API, or dead code). Names a framework calls by
        convention (`get`, `dispatch`, `on_*`, dunders) and names used as values (callbacks) are never boot-only.
        """
        if name.startswith("__") or name in FRAMEWORK_ENTRY_POINTS or name.startswith(("on_", "handle_", "do_")) \
                or name in self.dispatched:
            return False
        calls = self.calls_to.get(name, [])
        uses = self.name_refs.get(name, 0)
        if uses == 0:
            # Unused in the service: a registration API that plugins call while they load, or dead code.
            # Only registration-shaped names count; anything else may be an API the service's users call.
            return bool(REGISTRATION_NAME.match(name))
        if uses > len(calls):
            return False
        for context, caller in calls:
            if context in ("module", "startup"):
                continue
            if depth < 2 and caller and caller != name and caller not in seen and \
                    self.runs_only_at_boot(caller, depth + 1, seen | {name}):
                continue
            return False
        return True

    def lifetime(self, name: str | None, file: str | None = None) -> tuple[str, str]:
        """('process'|'request'|'unknown', the evidence in words)."""
        if not name:
            return "process", "module scope lives as long as the process"
        info = self.lookup(name, file)
        if info and info.request_scoped:
            return "request", f"{name} is a request-scoped provider"
        if info and info.has_static_instance:
            return "process", f"{name} keeps a static singleton instance"
        if info and info.long_lived_decorator:
            return "process", f"{name} is an @{info.decorators[0] if info.decorators else 'framework'} provider (singleton scope)"
        contexts = self.sites.get(name, set())
        strong = sorted(contexts & PROCESS_CONTEXTS)
        if strong:
            if strong[0] == "registry":
                return "process", f"{name} instances are kept in a long-lived registry (module or static collection)"
            return "process", f"{name} is instantiated at {strong[0]} level"
        if contexts and contexts <= {"handler"}:
            return "request", f"{name} is only instantiated inside request handlers"
        if contexts:
            return "unknown", f"{name} is instantiated inside functions"
        return "unknown", f"no instantiation of {name} found"
