"""The whole pipeline in one place: discover -> services -> match -> classify -> aggregate."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import __version__
from .aggregate import aggregate
from .baseline import Baseline, BaselineOutcome, apply_baseline
from .cache import ResultCache
from .classify import classify, complete_facts, review
from .conditions import holds
from .config import Config
from .discover import discover_files
from .facts import ServiceIndex
from .fingerprints import unique_fingerprints
from .incremental import collect
from .interrupt import reraise_if_interrupted
from .match import FileResult, describe_exception
from .model import CONFIDENCES, Finding, InternalError, Match, ParseError, Report, Reviewed, Risk, Service, SourceFile
from .pool import FileWork, Progress
from .ruleset import RuleSet
from .services import ServiceMap, detect_services
from .suppressions import apply_suppressions, policy_for, with_builtin_rules, without_builtin_rules
from .vocabulary import install as install_vocabulary


@dataclass(frozen=True)
class ScanResult:
    report: Report
    warnings: tuple[str, ...]
    parsed: tuple[str, ...] = ()  # files parsed by this scan; the others' records came from the cache
    rejoined: tuple[str, ...] = ()  # services whose join was computed; the others' came from the cache
    baseline: BaselineOutcome | None = None  # what the baseline covered, when one was given


def scan(root: Path, config: Config, ruleset: RuleSet, paths: list[Path] | None = None,
         baseline: Baseline | None = None, jobs: int = 1, progress: Progress | None = None,
         cache_dir: Path | None = None, on_files: Callable[[int], None] | None = None,
         keep: Callable[[Finding], bool] | None = None) -> ScanResult:
    """Scan `paths` (default: root).

    Per-file work runs on `jobs` processes; with `cache_dir`, unchanged files' records are reused.
    `on_files(total)` is called once the files are known, `progress(n)` as n more are done.
    `keep` narrows the reported findings (--diff-base), after suppressions and the baseline saw them all.
    """
    started = time.perf_counter()
    per_file_rules = without_builtin_rules(ruleset).without(config.disable)  # what per-file results depend on
    ruleset = with_builtin_rules(ruleset).without(config.disable)
    install_vocabulary(ruleset.vocabulary)  # the join and the classification read it too
    discovery = discover_files(root, config, paths, ruleset.roles)
    files = list(discovery.files)
    if on_files is not None:
        on_files(len(files))
    services = detect_services(root, files, config.service_roots, discovery.manifests)
    cache, warnings = _open_cache(cache_dir, per_file_rules, config)
    work = FileWork(ruleset, cache, config.file_budget, config.include_browser, config.max_file_bytes)
    collected = collect(files, services, work, config, jobs, classify_service, progress, discovery.digests)
    results = collected.results
    excluded = list(discovery.excluded) + [(rel, r.excluded) for rel, r in results.items() if r.excluded]
    internal, reviewed = collected.internal, collected.reviewed
    languages = {f.rel: f.language for f in files}
    findings = apply_suppressions(
        list(collected.findings), {rel: r.suppressions for rel, r in results.items() if r.suppressions},
        policy_for(ruleset, config.unsuppressible, config.risk_overrides),
        lambda rel: (services.owner_of(rel).name, languages[rel]))
    findings, outcome = apply_baseline(unique_fingerprints(findings), baseline)
    if keep is not None:
        findings = [f for f in findings if keep(f)]
    errors = [ParseError(*skip) for skip in discovery.skipped] + [r.error for r in results.values() if r.error]
    warnings += [w for r in results.values() for w in r.warnings]
    report = aggregate(
        findings, services.services, ruleset, root=_display_root(root), version=__version__,
        files=sum(1 for r in results.values() if r.error is None and not r.excluded),
        lines=sum(r.lines for r in results.values() if not r.excluded), errors=errors,
        duration=round(time.perf_counter() - started, 2), min_confidence=config.min_confidence,
        excluded=tuple(excluded), reviewed=tuple(reviewed),
        degraded=[d for r in results.values() for d in r.degraded], internal_errors=internal,
    )
    return ScanResult(report, tuple(warnings), collected.parsed, collected.rejoined, outcome)


def _open_cache(cache_dir: Path | None, ruleset: RuleSet, config: Config) -> tuple[ResultCache | None, list[str]]:
    if cache_dir is None:
        return None, []
    cache = ResultCache.for_config(cache_dir, ruleset, config)
    problem = cache.open()
    return (None, [problem]) if problem else (cache, [])


def _display_root(root: Path) -> str:
    try:
        return root.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return root.resolve().as_posix()


def classify_all(files: list[SourceFile], results: dict[str, FileResult], services: ServiceMap,
                 ruleset: RuleSet, config: Config,
                 internal: list[InternalError] | None = None) -> tuple[list[Finding], list[Reviewed]]:
    """Pass 2 over records held whole in memory (matches included): every service of `files` joined.

    A scan does not hold them all: it joins each service as its records arrive (incremental.collect).
    """
    internal = [] if internal is None else internal
    members: dict[str, list[SourceFile]] = {}
    for file in files:
        members.setdefault(services.owner_of(file.rel).path, []).append(file)
    findings: list[Finding] = []
    reviewed: list[Reviewed] = []
    for group in members.values():
        index = ServiceIndex()
        for file in group:
            index.add(results[file.rel].index, file.rel)
        broken = {f.rel for f in group if results[f.rel].has_syntax_errors}
        found, stateless = classify_service(group, index, lambda rel: results[rel].matches, broken, services,
                                            ruleset, config, internal)
        findings += found
        reviewed += stateless
    return findings, reviewed


def classify_service(files: list[SourceFile], index: ServiceIndex, matches_of: Callable[[str], list[Match]],
                     broken: set[str], services: ServiceMap, ruleset: RuleSet, config: Config,
                     internal: list[InternalError]) -> tuple[list[Finding], list[Reviewed]]:
    """Pass 2 for one service: with its files' index in hand, resolve lifetimes, filter by `where`, classify.

    `matches_of(path)` hands out one file's matches; it is asked once per file, in file order, and
    nothing here keeps a match that did not become a finding. Candidates the `reviewed` table finds
    stateless come back apart from the findings. An exception while classifying one match is recorded
    in `internal` (file, rule) and the others go on. Findings in `broken` files (syntax errors) get one
    step lower confidence: their tree was partly guessed.
    """
    findings, reviewed = _classify_matches(files, index, matches_of, services, ruleset, config, internal)
    return [_less_certain(f) if f.location.path in broken else f for f in findings], reviewed


def _less_certain(finding: Finding) -> Finding:
    lower = CONFIDENCES[max(0, CONFIDENCES.index(finding.confidence) - 1)]
    return replace(finding, confidence=lower, reasons=(*finding.reasons, "the file has syntax errors"))


def _classify_matches(files: list[SourceFile], index: ServiceIndex, matches_of: Callable[[str], list[Match]],
                      services: ServiceMap, ruleset: RuleSet, config: Config,
                      internal: list[InternalError]) -> tuple[list[Finding], list[Reviewed]]:
    findings: list[Finding] = []
    reviewed: list[Reviewed] = []
    deferred: list[tuple[Match, Mapping[str, Any]]] = []
    for file in files:
        service = services.owner_of(file.rel)
        for match in matches_of(file.rel):
            rule = ruleset.rules[match.rule_id]
            try:
                facts = _service_facts(match, service, index, file.is_test)
                if not holds(rule.where, facts):
                    continue
                stateless = review(match, facts, ruleset, service)
                if stateless is not None:
                    reviewed.append(stateless)
                    continue
                if match.kind == "timer":
                    deferred.append((match, facts))
                    continue
                findings.append(classify(match, facts, rule, ruleset, service, config))
            except Exception as err:  # noqa: BLE001 - our own bug, contained to this match
                reraise_if_interrupted(err)
                internal.append(InternalError(file.rel, rule.id, describe_exception(err)))
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
        try:
            findings.append(classify(match, facts, ruleset.rules[match.rule_id], ruleset, service, config))
        except Exception as err:  # noqa: BLE001 - our own bug, contained to this match
            reraise_if_interrupted(err)
            internal.append(InternalError(match.location.path, match.rule_id, describe_exception(err)))
    return findings, reviewed


def _service_facts(match: Match, service: Service, index: ServiceIndex, in_test: bool) -> Mapping[str, Any]:
    """The match's facts completed with what the service knows, read-only: classification builds new
    mappings from them, so no step can change what a later step (or another finding) sees."""
    facts = complete_facts(match, service, index.lifetime(match.facts.get("class_name"), match.location.path), in_test)
    facts = _resolve_imported_cache(_resolve_imported_class(facts, index), index)
    facts = _boot_time_writes(_writes_at_boot_only(facts, index), index)
    facts = _writes_through_singleton(facts, index)
    facts = _collection_class_holder(facts, index)
    facts = {**facts, "calls_file_writer": _calls_file_writer(facts, index)}
    facts = _wraps_memory_limiter(facts, index)
    return MappingProxyType(_verify_clients(facts, index))


def _resolve_imported_class(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """A singleton of a class defined in another file takes that class's statefulness: a new mapping.

    `class_known` says whether the class's body was seen at all (in the file or through the index):
    only then can a singleton be called stateless.
    """
    if facts.get("class_in_file", True):
        return {**facts, "class_known": True}
    info = index.lookup(facts.get("class_name"))
    if info is None:
        return {**facts, "class_known": False}
    return {**facts, "stateful_fields": info.stateful_fields, "stateful": bool(info.stateful_fields),
            "clients": info.clients, "own_class": True, "class_known": True}


def _writes_through_singleton(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """A field written in other files through its class's singleton (`server.monitors[id] = m`) is written at
    runtime: a new mapping with what the other files say."""
    if facts.get("scope") not in ("instance", "static") or not facts.get("class_name"):
        return facts
    info = index.lookup(facts["class_name"], facts.get("path"))
    changes: dict[str, Any] = {"owner_singleton": bool(info and info.has_static_instance)}
    ops = index.field_writes.get((facts["class_name"], facts.get("name")), set())
    rebinds = {op.split(":", 1)[1] for op in ops if op.startswith("rebind:")}
    if ops - {f"rebind:{kind}" for kind in rebinds}:
        changes["written_after_init"] = True
    if rebinds:
        changes.update(rebound_at_runtime=True, rebound=True,
                       rebound_to=frozenset(facts.get("rebound_to") or ()) | rebinds)
    return {**facts, **changes}


def _calls_file_writer(facts: Mapping[str, Any], index: ServiceIndex) -> bool:
    """A call of the project's own helper that writes a file at the path it is given (`ImageDataURI.outputFile`)."""
    if facts.get("kind") != "file-write" or facts.get("callee_name") not in index.file_writers:
        return False
    return str(facts.get("callee_module", "")).startswith(".") or str(facts.get("callee_object", ""))[:1].isupper() \
        or (not facts.get("callee_object") and not facts.get("callee_module"))


def _wraps_memory_limiter(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """`new LoginLimiter(...)` of a project class whose constructor makes an in-memory rate limiter."""
    return {**facts, "wraps_memory_limiter": facts.get("callee_name") in index.limiter_classes} \
        if facts.get("rule") == "ts.memory-rate-limiter" else facts


def _collection_class_holder(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """`new LimitQueue()` is reported where it is held only when LimitQueue's own fields are not reported already."""
    if facts.get("container") == "collection":
        info = index.lookup(facts.get("value_class"))
        if info is not None and info.stateful_fields:
            return {**facts, "container": None}
    return facts


def _boot_time_writes(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """State written only by static methods that the service calls while it boots is a boot-time registry."""
    if facts.get("writer_methods") and index.only_called_at_boot(facts.get("class_name"), facts["writer_methods"]):
        return {**facts, "written_after_init": False, "rebound_at_runtime": False, "boot_registry": True}
    return facts


def _writes_at_boot_only(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """Python: every function that writes the state runs only at start-up (or is a registration API nothing
    in the service calls): a registry filled at boot, identical on every instance. A new mapping."""
    writers = facts.get("writer_functions")
    if not writers:
        return facts
    return {**facts, "written_at_boot_only": all(name and not decorated and index.runs_only_at_boot(name)
                                                 for name, decorated in writers)}


def _resolve_imported_cache(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """A decorator naming a cache object or an lru_cache wrapper defined in another module of the service:
    a new mapping with `cache_backend` / `wraps_cache` resolved, or `facts` itself."""
    extra: dict[str, Any] = {}
    ref = facts.get("cache_ref")
    if ref:
        target = index.module(ref[0])
        if target is not None and ref[1] in target.cache_objects:
            extra["cache_backend"] = target.cache_objects[ref[1]]
    ref = facts.get("wrapper_ref")
    if ref:
        target = index.module(ref[0])
        extra["wraps_cache"] = target is not None and ref[1] in target.cache_wrappers
    return {**facts, **extra} if extra else facts


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
