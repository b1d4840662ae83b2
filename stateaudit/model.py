"""The records that flow between pipeline stages: pure data, no behaviour beyond ordering."""

from __future__ import annotations

import enum
from collections.abc import Mapping
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
    path: Path  # absolute
    rel: str  # POSIX, relative to the scan root
    language: str  # "typescript" | "tsx" | "javascript" | "python"
    is_test: bool = False


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


@dataclass(frozen=True, slots=True)
class Match:
    """A raw detection-rule hit with the facts the scanner computed, before classification."""

    rule_id: str
    kind: str
    location: Location
    language: str
    symbol: str | None
    snippet: str
    facts: Mapping[str, Any]
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


_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in (Location, SourceFile, WriteSite, Match, ParseError)}
for _cls in _FIELDS:
    _cls.__reduce__ = _reduce_by_position

