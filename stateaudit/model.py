"""The records that flow between pipeline stages: pure data, no behaviour beyond ordering."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
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
class ParseError:
    path: str
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
