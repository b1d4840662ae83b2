"""The whole pipeline in one place: discover -> services -> match -> classify -> aggregate."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .aggregate import aggregate
from .baseline import Baseline, BaselineOutcome, apply_baseline
from .classify import classify, complete_facts
from .conditions import holds
from .config import Config
from .discover import discover_files
from .facts import ServiceIndex
from .fingerprints import unique_fingerprints
from .match import FileResult, match_file
from .model import Finding, Match, ParseError, Report, Risk, SourceFile
from .ruleset import RuleSet
from .services import ServiceMap, detect_services
from .suppressions import apply_suppressions, policy_for, with_builtin_rules


@dataclass(frozen=True)
class ScanResult:
    report: Report
    warnings: tuple[str, ...]
    baseline: BaselineOutcome | None = None  # what the baseline covered, when one was given


def scan(root: Path, config: Config, ruleset: RuleSet, paths: list[Path] | None = None,
         baseline: Baseline | None = None, keep: Callable[[Finding], bool] | None = None) -> ScanResult:
    """The whole pipeline; `keep` narrows the reported findings (after the baseline saw them all)."""
    started = time.perf_counter()
    ruleset = with_builtin_rules(ruleset).without(config.disable)
    discovery = discover_files(root, config, paths, ruleset.roles)
    files = list(discovery.files)
    services = detect_services(root, files, config.service_roots)
    results = {f.rel: match_file(f, ruleset, config.include_browser) for f in files}
    excluded = list(discovery.excluded) + [(rel, r.excluded) for rel, r in results.items() if r.excluded]
    findings = classify_all(files, results, services, ruleset, config)
    languages = {f.rel: f.language for f in files}
    findings = apply_suppressions(
        findings, {rel: r.suppressions for rel, r in results.items() if r.suppressions},
        policy_for(ruleset, config.unsuppressible, config.risk_overrides),
        lambda rel: (services.owner_of(rel).name, languages[rel]))
    findings = unique_fingerprints(findings)
    findings, outcome = apply_baseline(findings, baseline)
    if keep is not None:
        findings = [f for f in findings if keep(f)]
    errors = [ParseError(p, m) for p, m in discovery.skipped] + [r.error for r in results.values() if r.error]
    warnings = [w for r in results.values() for w in r.warnings]
    report = aggregate(
        findings, services.services, ruleset, root=_display_root(root), version=__version__,
        files=sum(1 for r in results.values() if r.error is None and not r.excluded),
        lines=sum(r.lines for r in results.values() if not r.excluded), errors=errors,
        duration=round(time.perf_counter() - started, 2), min_confidence=config.min_confidence,
        excluded=tuple(excluded),
    )
    return ScanResult(report, tuple(warnings), outcome)


def _display_root(root: Path) -> str:
    try:
        return root.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return root.resolve().as_posix()


def classify_all(files: list[SourceFile], results: dict[str, FileResult], services: ServiceMap,
                 ruleset: RuleSet, config: Config) -> list[Finding]:
    """Pass 2: with every file's index in hand, resolve lifetimes, filter by `where`, classify."""
    indexes: dict[str, ServiceIndex] = {}
    for file in files:
        owner = services.owner_of(file.rel)
        indexes.setdefault(owner.path, ServiceIndex()).add(results[file.rel].index)
    tests = {f.rel: f.is_test for f in files}
    findings: list[Finding] = []
    deferred: list[tuple[Match, dict]] = []
    for file in files:
        service = services.owner_of(file.rel)
        index = indexes[service.path]
        for match in results[file.rel].matches:
            rule = ruleset.rules[match.rule_id]
            facts = complete_facts(match, service, index.lifetime(match.facts.get("class_name"), file.rel), tests[file.rel])
            _resolve_imported_class(facts, index)
            _verify_clients(facts, index)
            if not holds(rule.where, facts):
                continue
            if match.kind == "timer":
                deferred.append((match, facts))
                continue
            findings.append(classify(match, facts, rule, ruleset, service, config))
    unshared_by_owner: dict[tuple[str, str | None], list[Risk]] = {}
    for f in findings:
        if f.kind != "timer" and f.shared == "no":
            unshared_by_owner.setdefault((f.location.path, f.owner), []).append(f.risk)
    for match, facts in deferred:
        # A timer beside CRITICAL in-memory state of its own class maintains that state.
        risks = unshared_by_owner.get((match.location.path, facts.get("class_name")), [])
        facts["sibling_max_risk"] = max(risks).name if risks else "NONE"
        service = services.owner_of(match.location.path)
        findings.append(classify(match, facts, ruleset.rules[match.rule_id], ruleset, service, config))
    return findings


def _resolve_imported_class(facts: dict, index: ServiceIndex) -> None:
    """A singleton of a class defined in another file takes that class's statefulness."""
    if facts.get("subject_class_resolved") or facts.get("class_in_file", True):
        return
    info = index.lookup(facts.get("class_name"))
    if info is not None:
        facts["stateful_fields"] = info.stateful_fields
        facts["stateful"] = bool(info.stateful_fields)
        facts["clients"] = info.clients
        facts["own_class"] = True


def _verify_clients(facts: dict, index: ServiceIndex) -> None:
    """Drop project classes that only look like clients (`FilesRepository` kept in a Map) by their own facts."""
    refs = facts.get("client_refs")
    if not refs:
        return
    kept = set()
    for kind, name, needs_check in refs:
        info = index.lookup(name) if needs_check else None
        if info is None or info.clients:
            kept.add((kind, name, needs_check))
    facts["client_refs"] = frozenset(kept)
    facts["clients"] = frozenset(kind for kind, _n, _v in kept)


__all__ = ["ScanResult", "scan", "Risk"]
