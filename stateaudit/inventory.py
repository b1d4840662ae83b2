"""Stage 7 helper: the state inventory's view model, built from a Report and the YAML report tables.

Pure functions only: the Markdown formatter renders what this module returns. Every list keeps the
report's finding order (services by name, then file, line, rule) unless a docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from .conditions import holds
from .model import Finding, Report, Reviewed, Risk

ALIKE_MIN_FINDINGS = 3  # a P3 group of at least this many alike findings in several services is one row
ALIKE_ISSUES_SHOWN = 3
WRITE_SITES_SHOWN = 4


@dataclass(frozen=True)
class Row:
    """One finding as a row of a service table."""

    finding: Finding
    component: str  # `File.ts:41`
    owner: str  # the class holding the state, else the file's base name
    target: str  # the symbol, else the owner
    writes: tuple[str, ...]  # `L57` for the finding's own file, `Other.ts:12` otherwise
    more_writes: int  # write sites beyond those shown
    shared: str  # "yes" | "partial" | "no" | "n/a"


@dataclass(frozen=True)
class ReviewedRow:
    """A candidate reviewed and found stateless, shown beside the findings of its kind."""

    item: Reviewed
    component: str  # `File.ts:41`
    target: str  # the symbol, else the file's base name


def make_reviewed_row(r: Reviewed) -> ReviewedRow:
    base = PurePosixPath(r.location.path).name
    return ReviewedRow(item=r, component=f"{base}:{r.location.line}", target=r.symbol or base)


@dataclass(frozen=True)
class Change:
    action: str
    risk: Risk
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Requirement:
    """An infrastructure prerequisite that the findings call for."""

    requirement: str
    notes: str
    step: str
    rows: tuple[Row, ...]
    services: tuple[str, ...]


@dataclass(frozen=True)
class ServiceView:
    name: str
    path: str
    language: str
    readiness: str  # "ready" | "needs-work" | "stateful"
    rows: tuple[Row, ...]
    by_risk: Mapping[str, int]
    changes: tuple[Change, ...]
    blockers: tuple[str, ...]
    needs: tuple[str, ...]  # infrastructure requirements its findings call for


@dataclass(frozen=True)
class PriorityRow:
    service: str  # a service name, or "" for a group of alike findings across services
    component: str
    issue: str
    solution: str
    effort: str
    rows: tuple[Row, ...]
    services: tuple[str, ...]
    alike: bool = False  # one row for many alike findings in several services

    @property
    def needs_work(self) -> bool:
        return self.effort != "none"


@dataclass(frozen=True)
class Priority:
    name: str  # P0..P3
    title: str
    phase: str
    label: str  # what the priority means; P0's says why it comes first
    risks: tuple[str, ...]
    rows: tuple[PriorityRow, ...]


@dataclass(frozen=True)
class RiskLevel:
    risk: str
    priority: str
    label: str
    count: int


@dataclass(frozen=True)
class Check:
    item: str
    failing: tuple[Row, ...]

    @property
    def ok(self) -> bool:
        return not self.failing

    @property
    def by_service(self) -> tuple[tuple[str, tuple[Row, ...]], ...]:
        return group_by_service(self.failing)


@dataclass(frozen=True)
class ArchitectureChange:
    title: str
    change: str
    diagram: str
    rows: tuple[Row, ...]

    @property
    def by_service(self) -> tuple[tuple[str, tuple[Row, ...]], ...]:
        return group_by_service(self.rows)


@dataclass(frozen=True)
class TimerCategory:
    category: str
    acceptable: int
    attention: int


@dataclass(frozen=True)
class Inventory:
    title: str
    root: str
    tool_version: str
    files_scanned: int
    lines_scanned: int
    languages: tuple[str, ...]
    excluded: Mapping[str, int]  # role (browser, vendored) -> files left out by policy
    reviewed: tuple[ReviewedRow, ...]  # stateless candidates: listed, never findings
    total: int
    suppressed: int
    levels: tuple[RiskLevel, ...]
    readiness: Mapping[str, int]
    critical: tuple[Row, ...]
    partial: tuple[Row, ...]
    services: tuple[ServiceView, ...]
    requirements: tuple[Requirement, ...]
    priorities: tuple[Priority, ...]
    checklist: tuple[Check, ...]
    singletons: tuple[Row, ...]
    timers_acceptable: tuple[Row, ...]
    timers_attention: tuple[Row, ...]
    timer_categories: tuple[TimerCategory, ...]
    architecture: tuple[ArchitectureChange, ...]
    rules: tuple[tuple[Any, int], ...]  # (Rule, number of findings)
    errors: tuple[Any, ...]
    degraded: tuple[Any, ...] = ()
    internal_errors: tuple[Any, ...] = ()


def finding_facts(f: Finding) -> dict[str, Any]:
    """The facts a report-table `when` may test."""
    return {"kind": f.kind, "category": f.category, "storage": f.storage, "shared": f.shared,
            "risk": f.risk.name, "rule": f.rule_id, "language": f.language, "service": f.service}


def matching(row: Mapping[str, Any], rows: Iterable[Row]) -> tuple[Row, ...]:
    """The rows whose finding satisfies the table row's `when` and reaches its `risk` threshold."""
    floor = Risk.parse(row["risk"]) if "risk" in row else Risk.LOW
    return tuple(r for r in rows if r.finding.risk >= floor and holds(row.get("when"), finding_facts(r.finding)))


def group_by_service(rows: Iterable[Row]) -> tuple[tuple[str, tuple[Row, ...]], ...]:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.finding.service, []).append(r)
    return tuple((name, tuple(items)) for name, items in sorted(groups.items()))


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def make_row(f: Finding) -> Row:
    base = PurePosixPath(f.location.path).name
    writes = []
    for site in f.write_sites:
        path, _, line = site.rpartition(":")
        writes.append(f"L{line}" if path == f.location.path else f"{PurePosixPath(path).name}:{line}")
    owner = f.owner or base
    return Row(
        finding=f, component=f"{base}:{f.location.line}", owner=owner, target=f.symbol or owner,
        writes=tuple(writes[:WRITE_SITES_SHOWN]), more_writes=max(0, len(writes) - WRITE_SITES_SHOWN),
        shared="n/a" if f.storage == "instance" else f.shared,
    )


def required_changes(rows: Iterable[Row]) -> tuple[Change, ...]:
    """CRITICAL and HIGH actions, one per distinct action, highest risk first, then report order."""
    urgent = sorted((r for r in rows if r.finding.risk >= Risk.HIGH), key=lambda r: -r.finding.risk)
    changes: dict[str, list[Row]] = {}
    for r in urgent:
        changes.setdefault(r.finding.action, []).append(r)
    return tuple(Change(action, items[0].finding.risk, unique(r.target for r in items)) for action, items in changes.items())


def service_views(report: Report, requirements: tuple[Requirement, ...]) -> tuple[ServiceView, ...]:
    views = []
    for summary in report.services:
        rows = tuple(make_row(f) for f in summary.findings if not f.suppressed)
        urgent = sorted((r for r in rows if r.finding.risk >= Risk.HIGH), key=lambda r: -r.finding.risk)
        name = summary.service.name
        views.append(ServiceView(
            name=name, path=summary.service.path, language=summary.language, readiness=summary.readiness,
            rows=rows, by_risk=summary.by_risk, changes=required_changes(rows),
            blockers=unique(r.owner for r in urgent),
            needs=tuple(q.requirement for q in requirements if name in q.services),
        ))
    return tuple(views)


def _grouped(rows: Iterable[Row]) -> list[PriorityRow]:
    """One priority row per (service, owner, action), in report order."""
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.finding.service, r.owner, r.finding.action), []).append(r)
    return [PriorityRow(service=service, component=owner, issue=", ".join(unique(r.finding.state_type for r in items)),
                        solution=action, effort=", ".join(unique(r.finding.effort for r in items)),
                        rows=tuple(items), services=(service,))
            for (service, owner, action), items in groups.items()]


def _some(values: tuple[str, ...]) -> str:
    shown = ", ".join(values[:ALIKE_ISSUES_SHOWN])
    return shown + (f" and {len(values) - ALIKE_ISSUES_SHOWN} more" if len(values) > ALIKE_ISSUES_SHOWN else "")


def _alike(rows: list[Row]) -> tuple[list[PriorityRow], list[Row]]:
    """Groups of many alike findings (kind, category, action) spread over several services, and the rest."""
    def key(r: Row) -> tuple[str, str, str]:
        return (r.finding.kind, r.finding.category, r.finding.action)

    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    merged = {}
    for (kind, category, action), items in groups.items():
        services = tuple(sorted(unique(r.finding.service for r in items)))
        if len(items) >= ALIKE_MIN_FINDINGS and len(services) > 1:
            merged[(kind, category, action)] = PriorityRow(
                service="", component=f"{kind} ({category})", issue=_some(unique(r.finding.state_type for r in items)),
                solution=action, effort=", ".join(unique(r.finding.effort for r in items)), rows=tuple(items),
                services=services, alike=True)
    return list(merged.values()), [r for r in rows if key(r) not in merged]


def priorities(table: tuple[Mapping[str, Any], ...], rows: tuple[Row, ...]) -> tuple[Priority, ...]:
    """P0..P3 from the `name` rows of the infrastructure table; each finding goes where its risk is listed.

    Priorities of MEDIUM and LOW findings fold many alike findings of several services into one row.
    """
    defs: dict[str, dict[str, Any]] = {}
    for row in table:
        if "name" not in row:
            continue
        entry = defs.setdefault(row["name"], {"title": "", "phase": "", "label": "", "risks": []})
        for key in ("title", "phase", "label"):
            entry[key] = entry[key] or row.get(key, "")
        risk = Risk.parse(row["risk"]).name if "risk" in row else None
        # A risk belongs to the first priority that lists it (a team's own rows come first).
        if risk and all(risk not in other["risks"] for other in defs.values()):
            entry["risks"].append(risk)
    result = []
    for name, entry in defs.items():
        own = [r for r in rows if r.finding.risk.name in entry["risks"]]
        if entry["risks"] and all(Risk[k] <= Risk.MEDIUM for k in entry["risks"]):
            merged, rest = _alike(own)
            grouped = _grouped(rest) + merged
        else:
            grouped = _grouped(own)
        result.append(Priority(name, entry["title"], entry["phase"], entry["label"], tuple(entry["risks"]),
                               tuple(grouped)))
    return tuple(result)


def risk_levels(table: tuple[Mapping[str, Any], ...], counts: Mapping[str, int]) -> tuple[RiskLevel, ...]:
    labels: dict[str, tuple[str, str]] = {}
    for r in table:
        if "name" in r and "risk" in r:
            labels.setdefault(Risk.parse(r["risk"]).name, (r["name"], r.get("label", "")))
    return tuple(RiskLevel(risk.name, *labels.get(risk.name, ("", "")), counts.get(risk.name, 0))
                 for risk in sorted(Risk, reverse=True))


def requirements(table: tuple[Mapping[str, Any], ...], rows: tuple[Row, ...]) -> tuple[Requirement, ...]:
    found = []
    for row in table:
        if "requirement" not in row:
            continue
        hits = matching(row, rows)
        if hits:
            found.append(Requirement(row["requirement"], row.get("notes", ""), row.get("action", ""), hits,
                                     tuple(sorted(unique(r.finding.service for r in hits)))))
    return tuple(found)


def timer_categories(timers: list[Row]) -> tuple[TimerCategory, ...]:
    """Timers per category (sorted by name): LOW ones are acceptable, the others need attention."""
    counts: dict[str, list[int]] = {}
    for r in timers:
        counts.setdefault(r.finding.category, [0, 0])[r.finding.risk > Risk.LOW] += 1
    return tuple(TimerCategory(c, ok, attention) for c, (ok, attention) in sorted(counts.items()))


def build_inventory(report: Report) -> Inventory:
    """The whole inventory of a report; sections follow the hand-written inventory our users keep."""
    tables = report.guidance
    infrastructure = tuple(tables.get("infrastructure", ()))
    rows = tuple(make_row(f) for f in report.active)
    needed = requirements(infrastructure, rows)
    services = service_views(report, needed)
    readiness = {"stateful": 0, "needs-work": 0, "ready": 0}
    for s in services:
        readiness[s.readiness] = readiness.get(s.readiness, 0) + 1
    timers = [r for r in rows if r.finding.kind == "timer"]
    fired = {rid: 0 for rid in report.rules}
    for r in rows:
        if r.finding.rule_id in fired:
            fired[r.finding.rule_id] += 1
    root = report.root.rstrip("/")
    return Inventory(
        title=PurePosixPath(root).name if root not in ("", ".") else "",
        root=report.root, tool_version=report.tool_version, files_scanned=report.files_scanned,
        lines_scanned=report.lines_scanned, languages=tuple(sorted(unique(r.finding.language for r in rows))),
        excluded=report.excluded_by_role(),
        reviewed=tuple(make_reviewed_row(r) for r in report.reviewed),
        total=len(rows), suppressed=len(report.findings) - len(rows),
        levels=risk_levels(infrastructure, report.by_risk()), readiness=readiness,
        critical=tuple(r for r in rows if r.finding.risk == Risk.CRITICAL),
        partial=tuple(r for r in rows if r.finding.shared == "partial"),
        services=services, requirements=needed, priorities=priorities(infrastructure, rows),
        checklist=tuple(Check(row["checklist"], matching(row, rows)) for row in tables.get("checklist", ())
                        if "checklist" in row),
        singletons=tuple(r for r in rows if r.finding.kind == "singleton"),
        timers_acceptable=tuple(r for r in timers if r.finding.risk == Risk.LOW),
        timers_attention=tuple(r for r in timers if r.finding.risk > Risk.LOW),
        timer_categories=timer_categories(timers),
        architecture=tuple(ArchitectureChange(row.get("title", ""), row.get("change", ""), row.get("diagram", "").rstrip("\n"), hits)
                           for row in tables.get("architecture", ()) if (hits := matching(row, rows))),
        rules=tuple((rule, fired[rid]) for rid, rule in report.rules.items()),
        errors=tuple(report.errors),
        degraded=tuple(report.degraded),
        internal_errors=tuple(report.internal_errors),
    )
