"""Cross-file facts: which classes a service instantiates where, and what they hold."""

from __future__ import annotations

from dataclasses import dataclass, field

# Where an instantiation happens, strongest evidence of process lifetime first.
PROCESS_CONTEXTS = frozenset({"module", "startup", "provider", "singleton", "app-state", "registry"})


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


@dataclass
class ServiceIndex:
    classes: dict[str, list[ClassInfo]] = field(default_factory=dict)
    sites: dict[str, set[str]] = field(default_factory=dict)
    call_contexts: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    field_writes: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    file_writers: set[str] = field(default_factory=set)
    limiter_classes: set[str] = field(default_factory=set)

    def add(self, file_index: FileIndex) -> None:
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
