"""The whole pipeline in one place: discover -> services -> match -> classify -> aggregate."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import __version__
from .aggregate import aggregate
from .baseline import apply_baseline
from .classify import classify, complete_facts
from .conditions import holds
from .config import Config
from .discover import discover_files
from .facts import ServiceIndex
from .match import FileResult, match_file
from .model import Finding, Match, ParseError, Report, Risk, Service, SourceFile
from .ruleset import RuleSet
from .services import ServiceMap, detect_services


@dataclass(frozen=True)
class ScanResult:
    report: Report
    warnings: tuple[str, ...]


def scan(root: Path, config: Config, ruleset: RuleSet, paths: list[Path] | None = None,
         baseline: frozenset[str] = frozenset()) -> ScanResult:
    started = time.perf_counter()
    ruleset = ruleset.without(config.disable)
    discovery = discover_files(root, config, paths)
    files = list(discovery.files)
    services = detect_services(root, files, config.service_roots)
    results = {f.rel: match_file(f, ruleset) for f in files}
    findings = apply_baseline(classify_all(files, results, services, ruleset, config), baseline)
    errors = [ParseError(p, m) for p, m in discovery.skipped] + [r.error for r in results.values() if r.error]
    warnings = [w for r in results.values() for w in r.warnings]
    report = aggregate(
        findings, services.services, ruleset, root=_display_root(root), version=__version__,
        files=sum(1 for r in results.values() if r.error is None),
        lines=sum(r.lines for r in results.values()), errors=errors,
        duration=round(time.perf_counter() - started, 2), min_confidence=config.min_confidence,
    )
    return ScanResult(report, tuple(warnings))


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
    deferred: list[tuple[Match, Mapping[str, Any]]] = []
    for file in files:
        service = services.owner_of(file.rel)
        index = indexes[service.path]
        for match in results[file.rel].matches:
            rule = ruleset.rules[match.rule_id]
            facts = _service_facts(match, service, index, tests[file.rel])
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
        # A timer beside CRITICAL in-memory state of its own class maintains that state, so timers are
        # classified last, once every other finding of the file has its risk.
        risks = unshared_by_owner.get((match.location.path, facts.get("class_name")), [])
        facts = MappingProxyType({**facts, "sibling_max_risk": max(risks).name if risks else "NONE"})
        service = services.owner_of(match.location.path)
        findings.append(classify(match, facts, ruleset.rules[match.rule_id], ruleset, service, config))
    return findings


def _service_facts(match: Match, service: Service, index: ServiceIndex, in_test: bool) -> Mapping[str, Any]:
    """The match's facts completed with what the service knows, read-only: classification builds new
    mappings from them, so no step can change what a later step (or another finding) sees."""
    facts = complete_facts(match, service, index.lifetime(match.facts.get("class_name"), match.location.path), in_test)
    return MappingProxyType(_verify_clients(_resolve_imported_class(facts, index), index))


def _resolve_imported_class(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """A singleton of a class defined in another file takes that class's statefulness: a new mapping, or
    `facts` itself when there is nothing to resolve."""
    if facts.get("subject_class_resolved") or facts.get("class_in_file", True):
        return facts
    info = index.lookup(facts.get("class_name"))
    if info is None:
        return facts
    return {**facts, "stateful_fields": info.stateful_fields, "stateful": bool(info.stateful_fields),
            "clients": info.clients, "own_class": True}


def _verify_clients(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """Drop project classes that only look like clients (`FilesRepository` kept in a Map) by their own facts:
    a new mapping, or `facts` itself when it names no client."""
    refs = facts.get("client_refs")
    if not refs:
        return facts
    kept = frozenset((kind, name, needs_check) for kind, name, needs_check in refs
                     if not needs_check or (info := index.lookup(name)) is None or info.clients)
    return {**facts, "client_refs": kept, "clients": frozenset(kind for kind, _n, _v in kept)}


__all__ = ["ScanResult", "scan", "Risk"]
