"""Cross-file facts: which classes a service instantiates where, and what they hold."""

from __future__ import annotations

from dataclasses import dataclass, field

# Where an instantiation happens, strongest evidence of process lifetime first.
PROCESS_CONTEXTS = frozenset({"module", "startup", "provider", "singleton", "app-state"})


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


@dataclass
class ServiceIndex:
    classes: dict[str, list[ClassInfo]] = field(default_factory=dict)
    sites: dict[str, set[str]] = field(default_factory=dict)

    def add(self, file_index: FileIndex) -> None:
        for info in file_index.classes:
            self.classes.setdefault(info.name, []).append(info)
        for name, context in file_index.instantiations:
            self.sites.setdefault(name, set()).add(context)

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
            return "process", f"{name} is instantiated at {strong[0]} level"
        if contexts and contexts <= {"handler"}:
            return "request", f"{name} is only instantiated inside request handlers"
        if contexts:
            return "unknown", f"{name} is instantiated inside functions"
        return "unknown", f"no instantiation of {name} found"
