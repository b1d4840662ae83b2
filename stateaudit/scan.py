"""The whole pipeline in one place: discover -> services -> match -> classify -> aggregate."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from . import __version__
from .aggregate import aggregate
from .baseline import Baseline, BaselineOutcome, apply_baseline
from .cache import ResultCache
from .classify import classify, review
from .conditions import holds
from .config import Config
from .discover import Discovery, discover_files
from .fingerprints import unique_fingerprints
from .incremental import Progress, collect, stable_repr
from .interrupt import reraise_if_interrupted
from .model import CONFIDENCES, Finding, InternalError, Match, ParseError, Report, Reviewed, Risk, SourceFile
from .ruleset import RuleError, RuleSet, check_rule_queries
from .services import ServiceMap, detect_services
from .suppressions import apply_suppressions, policy_for, with_builtin_rules, without_builtin_rules
from .vocabulary import install as install_vocabulary
from .walkmemory import WalkMemory, load_memory, save_memory

if TYPE_CHECKING:  # imported where files are matched or services joined: a rescan of an unchanged tree does neither
    from .facts import ServiceIndex
    from .match import FileResult
    from .pool import FileWork

T = TypeVar("T")


@dataclass(frozen=True)
class ScanResult:
    report: Report
    warnings: tuple[str, ...]
    parsed: tuple[str, ...] = ()  # files parsed by this scan; the others' records came from the cache
    rejoined: tuple[str, ...] = ()  # services whose join was computed; the others' came from the cache
    baseline: BaselineOutcome | None = None  # what the baseline covered, when one was given
    read: tuple[str, ...] | None = None  # with a cache, the files read and hashed (the others' status was as before)


def scan(root: Path, config: Config, ruleset: RuleSet, paths: list[Path] | None = None,
         baseline: Baseline | None = None, jobs: int | None = 1, progress: Progress | None = None,
         cache_dir: Path | None = None, on_files: Callable[[int], None] | None = None,
         keep: Callable[[Finding], bool] | None = None) -> ScanResult:
    """Scan `paths` (default: root).

    Per-file work runs on `jobs` processes (None: the cores available); with `cache_dir`, unchanged files'
    records are reused.
    `on_files(total)` is called once the files are known, `progress(n)` as n more are done.
    `keep` narrows the reported findings (--diff-base), after suppressions and the baseline saw them all.
    """
    started = time.perf_counter()
    per_file_rules = without_builtin_rules(ruleset).without(config.disable)  # what per-file results depend on
    ruleset = with_builtin_rules(ruleset).without(config.disable)
    install_vocabulary(ruleset.vocabulary)  # the join and the classification read it too
    cache, warnings = _open_cache(cache_dir, per_file_rules, config)
    memory, memory_key = _walk_memory(cache, root, paths, config, ruleset)

    def discover() -> tuple[Discovery, ServiceMap, WalkMemory | None]:
        found = discover_files(root, config, paths, ruleset.roles, memory)
        return found, _services(root, list(found.files), config, found, memory), memory

    if _cold(cache, memory, jobs):
        discovery, services, memory = _discover_while_compiling(discover, ruleset, root)
    else:
        discovery, services, memory = discover()
    files = list(discovery.files)
    check_rule_queries(ruleset, {f.language for f in files})  # RuleError: a query of a grammar in use is broken
    if on_files is not None:
        on_files(len(files))
    if memory is not None:
        save_memory(cache, memory_key, memory)
    collected = collect(files, services, lambda: _file_work(ruleset, cache, config), cache, ruleset, config, jobs,
                        classify_service, progress, discovery.digests)
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
    return ScanResult(report, tuple(warnings), collected.parsed, collected.rejoined, outcome, discovery.read)


def _walk_memory(cache: ResultCache | None, root: Path, paths: list[Path] | None, config: Config,
                 ruleset: RuleSet) -> tuple[WalkMemory | None, str]:
    """What the last walk of these paths with this config found (walkmemory), from the cache's folder.

    Only a walk of the whole scan root may be replayed; a walk of some paths below it keeps the files'
    statuses, so unchanged files are not read again.
    """
    if cache is None:
        return None, ""
    root = root.resolve()
    starts = [p.resolve() for p in paths] if paths else [root]
    key = cache.join_key(["walk", str(root), *map(str, starts), stable_repr(config), stable_repr(ruleset.roles)])
    return load_memory(cache, key, starts == [root]), key


def _cold(cache: ResultCache | None, memory: WalkMemory | None, jobs: int | None) -> bool:
    """Will this scan walk the whole tree and then match every file, on more than one core?

    Only then is discovery worth running beside the queries' compiling (beside.py): a rescan replays its
    walk in a blink and matches few files, if any.
    """
    if jobs == 1 or (cache is not None and cache.records.has_any()) or (memory is not None and memory.previous is not None):
        return False
    from .beside import can_fork
    from .pool import default_jobs

    return can_fork() and (jobs or default_jobs()) > 1


def _discover_while_compiling(discover: Callable[[], T], ruleset: RuleSet, root: Path) -> T:
    """`discover()` in a forked child while this process compiles the rules' joined queries, which the
    pool's workers then inherit; a grammar's compile error is left for check_rule_queries to raise, and
    only when the scan's files use that grammar, so what is reported never depends on which finished first."""
    from .beside import run_beside
    from .match import prepare

    def compile_grammar(grammar: str) -> None:
        try:
            check_rule_queries(ruleset, [grammar])
        except RuleError:
            return
        prepare(ruleset, [grammar])

    grammars = [g for g in _likely_grammars(root) if g in ruleset.grammars()]
    return run_beside(discover, [partial(compile_grammar, g) for g in grammars])


def _likely_grammars(root: Path) -> tuple[str, ...]:
    """The grammars worth compiling before discovery says which the files use: those the manifests nearest the
    root point to, else all, cheapest first (the one still compiling when discovery ends may go unused).

    Where those manifests point to both families (saleor's root holds a `package.json` for its tooling beside
    `pyproject.toml`), the family of the source files seen on the way, when only one was, is taken: the
    TypeScript compile begun on saleor before its walk ended held the pool up by up to 0.2 s.
    """
    manifests, seen = _look_near(root)
    likely = {g for name in manifests for g in _MANIFEST_GRAMMARS[name]}
    families = _families(likely)
    if len(families) > 1:
        with_files = [family for family in families if family & seen]
        if len(with_files) == 1:
            likely &= with_files[0]
    return tuple(g for g in _COMPILE_ORDER if g in likely) if likely else _COMPILE_ORDER


PEEK_FOLDERS = 64  # folders listed at most while looking for the manifests nearest the root


def _look_near(root: Path) -> tuple[set[str], set[str]]:
    """The manifest names of the shallowest level that holds any (the root, its folders, or theirs), and the
    grammars of the source files in the folders listed.

    A monorepo often keeps its manifests a level or two down (`packages/svc-a/package.json`): with none at the
    root, every grammar was guessed, Python first, and compiling it (0.13 to 0.23 s) held up a TypeScript-only
    tree whose walk was done in 0.08 s. Breadth first, at most PEEK_FOLDERS folders, skipped folders
    (discover.SKIPPED_DIRS) and hidden ones left out; an unreadable folder is passed over.
    """
    from .discover import SKIPPED_DIRS
    from .syntax import EXTENSIONS

    manifests: set[str] = set()
    seen: set[str] = set()
    level, listed = [str(root)], 0
    for _depth in range(3):
        found: set[str] = set()
        below: list[str] = []
        for folder in level:
            if listed == PEEK_FOLDERS:
                break
            listed += 1
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name in _MANIFEST_GRAMMARS:
                            found.add(entry.name)
                        elif entry.name.startswith(".") or entry.name in SKIPPED_DIRS:
                            continue
                        elif entry.is_dir(follow_symlinks=False):
                            below.append(entry.path)
                        else:
                            grammar = EXTENSIONS.get(os.path.splitext(entry.name)[1].lower())
                            if grammar is not None:
                                seen.add(grammar)
            except OSError:
                continue
        if found and not manifests:
            manifests = found
            if len(_families({g for name in found for g in _MANIFEST_GRAMMARS[name]})) == 1:
                break  # one family: the files seen would not change the guess
        level = sorted(below)
    return manifests, seen


def _families(grammars: set[str]) -> list[set[str]]:
    """The grammar families (Python; JavaScript and TypeScript) that some of `grammars` belong to."""
    return [set(family) for family in (_PYTHON, _NODE) if grammars & set(family)]


_COMPILE_ORDER = ("python", "javascript", "typescript", "tsx")  # by the time their joined queries take
_NODE, _PYTHON = ("javascript", "typescript", "tsx"), ("python",)
_MANIFEST_GRAMMARS = {"package.json": _NODE, "tsconfig.json": _NODE, "pyproject.toml": _PYTHON, "setup.py": _PYTHON,
                      "setup.cfg": _PYTHON, "requirements.txt": _PYTHON, "manage.py": _PYTHON, "Pipfile": _PYTHON}


def _services(root: Path, files: list[SourceFile], config: Config, discovery: Discovery,
              memory: WalkMemory | None) -> ServiceMap:
    """The services of `files`; a replayed walk's, when it found them from the same files (walkmemory), which
    spares reading every manifest again. Not with `service_roots`: the walk may not have listed those."""
    def detect() -> ServiceMap:
        return detect_services(root, files, config.service_roots, discovery.manifests)

    if memory is None or config.service_roots:
        return detect()
    return memory.services([(f.rel, f.language) for f in files], detect)


def _file_work(ruleset: RuleSet, cache: ResultCache | None, config: Config) -> FileWork:
    """What files are matched with; asked for only when a file is (pool, with multiprocessing, loads then)."""
    from .pool import FileWork

    return FileWork(ruleset, cache, config.file_budget, config.include_browser, config.max_file_bytes)


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
    from .facts import ServiceIndex

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
    from .join import service_facts
    from .match import describe_exception

    findings: list[Finding] = []
    reviewed: list[Reviewed] = []
    deferred: list[tuple[Match, Mapping[str, Any]]] = []
    for file in files:
        service = services.owner_of(file.rel)
        for match in matches_of(file.rel):
            rule = ruleset.rules[match.rule_id]
            try:
                facts = service_facts(match, service, index, file.is_test)
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


__all__ = ["ScanResult", "scan", "Risk"]
