"""The records that flow between pipeline stages: pure data, no behaviour beyond ordering."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class Risk(enum.IntEnum):
    """Ordered so that gates compare with >=."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Risk:
        return cls[text.strip().upper()]


CONFIDENCES = ("low", "medium", "high")
KINDS = ("collection", "cache", "singleton", "timer", "file-write", "global")
STORAGES = ("in-memory", "memory+redis", "memory+database", "redis", "database", "local-disk", "instance")
SHARED = ("no", "partial", "yes")
PRIORITIES = ("P0", "P1", "P2", "P3")


@dataclass(frozen=True, slots=True)
class Location:
    path: str  # POSIX, relative to the scan root
    line: int  # 1-based
    column: int  # 1-based, in characters
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to scan. `fs_path` is its absolute path as a string (a Path given is turned into one); `path`
    the same as a Path, made when asked: a scan makes one record per file, and a rescan of an unchanged tree
    asks none of them for it, while making thousands of Paths was a fifth of its walk."""

    fs_path: str  # absolute, as the file system takes it
    rel: str  # POSIX, relative to the scan root
    language: str  # "typescript" | "tsx" | "javascript" | "python"
    is_test: bool = False

    def __post_init__(self) -> None:
        if type(self.fs_path) is not str:
            object.__setattr__(self, "fs_path", os.fspath(self.fs_path))

    @property
    def path(self) -> Path:
        return Path(self.fs_path)


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    path: str  # POSIX, relative to the scan root; "." for the root
    manifest: str | None  # the file that made it a service
    dependencies: frozenset[str] = frozenset()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WriteSite:
    """A place where state is written after start-up."""

    line: int
    op: str  # "set", "push", "assign", "delete", "rebind", ...

    def label(self, path: str) -> str:
        return f"{path}:{self.line}"


class _Absent:
    """The value of a fact a subject does not compute: the record reads as a mapping without that key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"  # unpickles to the module's one instance


ABSENT: Any = _Absent()

@dataclass(frozen=True, eq=False, init=False)
class Facts(Mapping[str, Any]):
    """What the scanner knows about one candidate: one field per fact that `where:` conditions and
    classification tables may test (conditions.FACT_NAMES is derived from these fields), shared by both
    languages. Each subject computes its own subset; a field it leaves unset is absent, and the record reads
    as a mapping of the facts that are present, as the conditions expect (`facts.get(name)`).

    The extractors build a dict; `Facts.from_extractor` turns it into this record at the boundary
    (match._build_match), and a key that is not a field is our bug, raised there. It is the only way one is
    made: the class has no generated `__init__` (its 130 arguments took a tenth of the module's import). Classification adds
    service-wide facts by building new mappings from the record; the record itself never changes.

    An instance keeps only the facts that are present (about 30 of 110), in field order, in its `__dict__`;
    an absent one reads as the class default, ABSENT. Records cross from the workers to the parent by the
    thousand: pickling only what is present, without slots, made unpickling them several times cheaper
    (a slotted frozen record is rebuilt one `object.__setattr__` per field).
    """

    # Identity: every candidate
    rule: str = ABSENT
    kind: str = ABSENT
    language: str = ABSENT
    path: str = ABSENT
    service: str = ABSENT
    name: str = ABSENT
    symbol: str = ABSENT
    words: AbstractSet[str] = ABSENT
    class_name: str | None = ABSENT
    class_words: AbstractSet[str] = ABSENT
    # State: variables, fields, attributes, singletons, classes
    scope: str = ABSENT
    container: str | None = ABSENT
    frozen: bool = ABSENT
    declared_with: str | None = ABSENT
    writes: AbstractSet[str] = ABSENT
    written_after_init: bool = ABSENT
    rebound: bool = ABSENT
    exported: bool = ABSENT
    owner_kind: str = ABSENT
    lifetime: str = ABSENT
    lifetime_local: str = ABSENT
    clients: AbstractSet[str] = ABSENT
    stateful: bool = ABSENT
    stateful_fields: tuple[str, ...] = ABSENT
    own_class: bool = ABSENT
    class_in_file: bool = ABSENT
    class_known: bool = ABSENT
    has_instance_pattern: bool = ABSENT
    client_writes: bool = ABSENT
    in_startup: bool = ABSENT
    in_handler: bool = ABSENT
    # Rebinding after start-up, lazy holders, boot-time registries (TypeScript/JavaScript)
    rebound_at_runtime: bool = ABSENT
    rebound_to: AbstractSet[str] = ABSENT
    lazy_init: bool = ABSENT
    lazy_instance: bool = ABSENT
    holds_client: str = ABSENT
    one_way_flag: bool = ABSENT
    writer_methods: AbstractSet[str] = ABSENT
    boot_registry: bool = ABSENT
    owner_singleton: bool = ABSENT
    value_class: str | None = ABSENT
    # Python module-level objects and registries
    owns_connection: str = ABSENT
    client_manager: bool = ABSENT
    written_at_boot_only: bool = ABSENT
    rebound_at_startup: bool = ABSENT
    contextvar_shared_default: bool = ABSENT
    # Calls and decorators
    callee: str = ABSENT
    callee_name: str = ABSENT
    callee_object: str = ABSENT
    callee_module: str = ABSENT
    receiver: str = ABSENT
    fs_call: bool = ABSENT
    method: str = ABSENT
    callback: str = ABSENT
    rearmed: bool = ABSENT
    in_function: bool = ABSENT
    path_purpose: str = ABSENT
    deleted_in_same_function: bool = ABSENT
    writes_in_same_function: bool = ABSENT
    multer_memory: bool = ABSENT
    has_store_option: bool = ABSENT
    has_dest_option: bool = ABSENT
    daemon: bool = ABSENT
    target_loops: bool = ABSENT
    coroutine_loops: bool = ABSENT
    joined: bool = ABSENT
    awaited: bool = ABSENT
    write_mode: bool = ABSENT
    mode: str = ABSENT
    first_arg: str = ABSENT
    positional_count: int = ABSENT
    receiver_path: bool = ABSENT
    target_path: str = ABSENT
    memory_db: bool = ABSENT
    sqlite_url: bool = ABSENT
    decorator: str = ABSENT
    decorator_args: str = ABSENT
    decorates_class: bool = ABSENT
    is_method: bool = ABSENT
    # Timers and background work
    held_by: str = ABSENT
    in_promise_executor: bool = ABSENT
    clears_itself: bool = ABSENT
    stopped_at_once: bool = ABSENT
    schedule_store: str = ABSENT
    detached: bool = ABSENT
    handle_kept: bool = ABSENT
    # Caches
    cache_backend: str = ABSENT
    wraps_cache: bool = ABSENT
    constant_memo: bool = ABSENT
    applied_decorator: str = ABSENT
    # In-memory rate limiters (TypeScript/JavaScript)
    memory_limiter: bool = ABSENT
    wraps_memory_limiter: bool = ABSENT
    # File writes
    calls_file_writer: bool = ABSENT
    callee_is_project: bool = ABSENT
    default_if_missing: bool = ABSENT
    in_cli: bool = ABSENT
    persistent_temp: bool = ABSENT
    scratch_path: bool = ABSENT
    first_arg_path: bool = ABSENT
    # Inputs of the whole-service steps (join.service_facts): where to look in other files
    cache_ref: tuple[str, str] | None = ABSENT  # (module, name) of a cache object a decorator names
    wrapper_ref: tuple[str, str] | None = ABSENT  # (module, name) of a decorator that may wrap lru_cache
    writer_functions: tuple[tuple[str, bool], ...] = ABSENT  # (function, decorated) that write the state
    # Context: usage, and what the service and classification add
    duplicate: bool = ABSENT
    value_text: str = ABSENT
    type_words: AbstractSet[str] = ABSENT
    callback_io: bool = ABSENT
    client_refs: AbstractSet[tuple[str, str, bool]] = ABSENT
    increments: bool = ABSENT
    stored: AbstractSet[str] = ABSENT
    depends_on: AbstractSet[str] = ABSENT
    in_test_file: bool = ABSENT
    category: str = ABSENT
    storage: str = ABSENT
    shared: str = ABSENT
    sibling_max_risk: str = ABSENT

    @classmethod
    def from_extractor(cls, values: Mapping[str, Any]) -> Facts:
        unknown = sorted(set(values) - FACT_FIELDS)
        if unknown:
            raise ValueError(f"the fact extractor produced unknown facts {unknown}: declare them as fields of "
                             f"stateaudit.model.Facts and document them in docs/writing-rules.md")
        record = object.__new__(cls)
        record.__dict__.update((name, values[name]) for name in sorted(values, key=FACT_RANK.__getitem__)
                               if values[name] is not ABSENT)
        return record

    def __getitem__(self, key: str) -> Any:
        value = self.__dict__.get(key, ABSENT)
        if value is ABSENT:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """As Mapping.get, without raising and catching KeyError for every absent fact (most are)."""
        value = self.__dict__.get(key, ABSENT)
        return default if value is ABSENT else value

    def as_dict(self) -> dict[str, Any]:
        """The facts that are present, in field order: what `dict(facts)` gives."""
        return {name: value for name, value in self.__dict__.items() if value is not ABSENT}

    def __iter__(self) -> Iterator[str]:
        return (name for name, value in self.__dict__.items() if value is not ABSENT)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Facts({dict(self)!r})"


FACT_ORDER: tuple[str, ...] = tuple(f.name for f in fields(Facts))
FACT_FIELDS: frozenset[str] = frozenset(FACT_ORDER)
FACT_RANK: dict[str, int] = {name: rank for rank, name in enumerate(FACT_ORDER)}


@dataclass(frozen=True, slots=True)
class Match:
    """A raw detection-rule hit with the facts the scanner computed, before classification."""

    rule_id: str
    kind: str
    location: Location
    language: str
    symbol: str | None
    snippet: str
    facts: Facts
    write_sites: tuple[WriteSite, ...] = ()


@dataclass(frozen=True, slots=True)
class SuppressionNote:
    """Why a finding is suppressed: an inline comment (`inline`) or the baseline (`baseline`)."""

    kind: str  # "inline" | "baseline"
    reason: str
    line: int | None = None  # the comment's line, for inline suppressions
    expires: str | None = None  # YYYY-MM-DD, when the comment sets one


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    kind: str
    category: str
    state_type: str
    storage: str
    shared: str
    risk: Risk
    priority: str
    confidence: str
    action: str
    effort: str
    message: str
    location: Location
    service: str
    language: str
    symbol: str | None
    snippet: str
    write_sites: tuple[str, ...] = ()  # "path:line" labels
    reasons: tuple[str, ...] = ()
    owner: str | None = None  # the class or module that holds the state
    suppressed: bool = False
    fingerprint: str = ""
    suppression: SuppressionNote | None = None  # set together with suppressed


@dataclass(frozen=True, slots=True)
class Reviewed:
    """A candidate looked at and found stateless: listed in reports, never a finding."""

    rule_id: str
    kind: str
    location: Location
    service: str
    symbol: str | None
    snippet: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParseError:
    """A file that was not scanned: `reason` is a short code the summary counts by, `message` says why."""

    path: str
    message: str
    reason: str = "unreadable"  # not-found | unreadable | binary | too-large | minified | budget | symlink


@dataclass(frozen=True, slots=True)
class DegradedFile:
    """A file that was scanned, but not as written: findings in it may be missing or less certain."""

    path: str
    reason: str  # encoding | syntax-error
    message: str


@dataclass(frozen=True, slots=True)
class InternalError:
    """An exception in our own analysis of one file (and one rule, when known); the rest was scanned."""

    path: str
    rule: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    service: Service
    findings: tuple[Finding, ...]
    readiness: str  # "ready" | "needs-work" | "stateful"
    language: str

    @property
    def by_risk(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            if not f.suppressed:
                counts[f.risk.name] = counts.get(f.risk.name, 0) + 1
        return counts

    @property
    def highest_risk(self) -> Risk | None:
        active = [f.risk for f in self.findings if not f.suppressed]
        return max(active) if active else None


@dataclass(frozen=True, slots=True)
class Report:
    root: str
    tool_version: str
    findings: tuple[Finding, ...]
    services: tuple[ServiceSummary, ...]
    rules: Mapping[str, Any]  # rule id -> Rule, only those that fired
    files_scanned: int
    lines_scanned: int
    errors: tuple[ParseError, ...]
    duration_s: float = 0.0
    guidance: Mapping[str, Any] = field(default_factory=dict)  # classification metadata for reports
    excluded: tuple[tuple[str, str], ...] = ()  # (path, role): browser or vendored code left out by policy
    reviewed: tuple[Reviewed, ...] = ()  # stateless candidates, outside the findings and the gate
    degraded: tuple[DegradedFile, ...] = ()
    internal_errors: tuple[InternalError, ...] = ()

    def excluded_by_role(self) -> dict[str, int]:
        """How many files each role (browser, vendored) left out of the scan."""
        counts: dict[str, int] = {}
        for _path, role in self.excluded:
            counts[role] = counts.get(role, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.suppressed)

    def by_risk(self) -> dict[str, int]:
        counts = {r.name: 0 for r in sorted(Risk, reverse=True)}
        for f in self.active:
            counts[f.risk.name] += 1
        return counts


def _reduce_by_position(self):
    """Pickle a frozen slots dataclass as its class and field values.

    The generated __setstate__ of slots dataclasses looks up fields() per object; cached per-file
    results hold tens of thousands of these records, and rebuilding them through __init__ is several
    times faster.
    """
    return (type(self), tuple(getattr(self, name) for name in _FIELDS[type(self)]))


_FIELDS = {cls: tuple(f.name for f in fields(cls))
           for cls in (Location, SourceFile, WriteSite, Match, ParseError, Finding, Reviewed, InternalError, DegradedFile)}
for _cls in _FIELDS:
    _cls.__reduce__ = _reduce_by_position

