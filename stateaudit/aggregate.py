"""Stage 6: group findings by service, order them, and judge each service's readiness."""

from __future__ import annotations

from .model import (
    CONFIDENCES,
    DegradedFile,
    Finding,
    InternalError,
    ParseError,
    Report,
    Reviewed,
    Risk,
    Service,
    ServiceSummary,
)
from .ruleset import RuleSet


def finding_order(f: Finding) -> tuple:
    """The findings contract's order: file, then line, then rule."""
    return (f.location.path, f.location.line, f.rule_id, f.location.column)


def readiness(findings: list[Finding]) -> str:
    """stateful: a CRITICAL blocks replicas; needs-work: HIGH or MEDIUM state; ready: only LOW or none."""
    active = [f.risk for f in findings if not f.suppressed]
    if not active or max(active) == Risk.LOW:
        return "ready"
    return "stateful" if max(active) == Risk.CRITICAL else "needs-work"


def visible(findings: list[Finding], min_confidence: str) -> list[Finding]:
    floor = CONFIDENCES.index(min_confidence)
    return [f for f in findings if CONFIDENCES.index(f.confidence) >= floor]


def aggregate(findings: list[Finding], services: tuple[Service, ...], ruleset: RuleSet, *, root: str,
              version: str, files: int, lines: int, errors: list[ParseError], duration: float = 0.0,
              min_confidence: str = "low", excluded: tuple[tuple[str, str], ...] = (),
              degraded: list[DegradedFile] = (), internal_errors: list[InternalError] = (),
              reviewed: tuple[Reviewed, ...] = ()) -> Report:
    shown = sorted(visible(findings, min_confidence), key=finding_order)
    summaries = []
    by_service: dict[str, list[Finding]] = {}  # grouped once: a pass over every finding per service was
    for finding in shown:                       # quadratic (0.85 s of a 1,031-service rescan)
        by_service.setdefault(finding.service, []).append(finding)
    for service in sorted(services, key=lambda s: s.name):
        own = by_service.get(service.name, [])
        if not own and not service.languages:
            continue
        language = "+".join(service.languages) if service.languages else "unknown"
        summaries.append(ServiceSummary(service, tuple(own), readiness(own), language))
    fired = {f.rule_id for f in shown}
    return Report(
        root=root, tool_version=version, findings=tuple(shown), services=tuple(summaries),
        rules={rid: ruleset.rules[rid] for rid in sorted(fired) if rid in ruleset.rules},
        files_scanned=files, lines_scanned=lines, errors=tuple(sorted(errors, key=lambda e: (e.path, e.reason, e.message))),
        duration_s=duration, guidance=ruleset.tables, excluded=tuple(sorted(excluded)),
        reviewed=tuple(sorted(reviewed, key=lambda r: (r.location.path, r.location.line, r.rule_id))),
        degraded=tuple(sorted(degraded, key=lambda d: (d.path, d.reason))),
        internal_errors=tuple(sorted(internal_errors, key=lambda e: (e.path, e.rule or "", e.message))),
    )
