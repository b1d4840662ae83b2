"""Stages 3 and 4 with a cache: per-file records, and each service's join, recomputed only where files changed.

A service's classification reads only the records of its own files, the config and the rules. So once
every file's content hash is known, a service none of whose files changed (and whose config, rules and
manifest did not) gets its findings from the cache, and its files' records are not even loaded. A service
with a changed file is joined again from its files' records, cached or fresh, so cross-file facts stay right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from .cache import ResultCache
from .config import Config
from .facts import FileIndex
from .match import FileResult
from .model import Finding, InternalError, Reviewed, SourceFile
from .pool import FileWork, Progress, gc_paused, match_with_cache
from .ruleset import RuleSet
from .services import ServiceMap

Classifier = Callable[[list[SourceFile], dict[str, FileResult], ServiceMap, RuleSet, Config, list[InternalError]],
                      tuple[list[Finding], list[Reviewed]]]


@dataclass(frozen=True)
class ServiceJoin:
    """What a service's join produced, kept per service: its findings and what its files reported."""

    findings: tuple[Finding, ...]
    reviewed: tuple[Reviewed, ...]
    internal: tuple[InternalError, ...]  # errors of ours while classifying
    files: dict[str, FileResult]  # per file, its record without matches and index (errors, lines...)


@dataclass(frozen=True)
class Collected:
    results: dict[str, FileResult]  # every file; records of services taken whole from the cache are slim
    findings: list[Finding]
    reviewed: list[Reviewed]
    internal: list[InternalError]  # from the files and from classification
    parsed: tuple[str, ...]  # files parsed in this scan
    rejoined: tuple[str, ...]  # service paths whose join was computed in this scan


def collect(files: list[SourceFile], services: ServiceMap, work: FileWork, config: Config, jobs: int,
            classify_all: Classifier, progress: Progress | None = None) -> Collected:
    """Records and classification for every file, from the cache where nothing changed."""
    cache = work.cache
    keys = {f.rel: cache.key_of(f) for f in files} if cache is not None else {}
    by_service: dict[str, list[SourceFile]] = {}
    for file in files:
        by_service.setdefault(services.owner_of(file.rel).path, []).append(file)
    kept: dict[str, ServiceJoin] = {}
    join_keys: dict[str, str] = {}
    if cache is not None:
        with gc_paused():
            for path, members in by_service.items():
                join_keys[path] = _join_key(cache, services, path, members, keys, config)
                entry = cache.get_join(join_keys[path]) if join_keys[path] else None
                if isinstance(entry, ServiceJoin):
                    kept[path] = entry
                    if progress is not None:
                        progress(len(members))
    todo = [f for f in files if services.owner_of(f.rel).path not in kept]  # in file order
    matched = match_with_cache(todo, work, jobs, progress, keys=keys)
    internal: list[InternalError] = []
    findings, reviewed = classify_all(todo, matched.results, services, work.ruleset, config, internal)
    results = dict(matched.results)
    file_internal = [e for r in matched.results.values() for e in r.internal_errors]
    for join in kept.values():
        results.update(join.files)
        findings.extend(join.findings)
        reviewed.extend(join.reviewed)
        internal.extend(join.internal)
        file_internal.extend(e for r in join.files.values() for e in r.internal_errors)
    rejoined = sorted(path for path in by_service if path not in kept)
    if cache is not None:
        _store_joins(cache, services, rejoined, by_service, join_keys, matched.results, findings, reviewed, internal)
    return Collected(results, findings, reviewed, file_internal + internal, matched.parsed, tuple(rejoined))


def _join_key(cache: ResultCache, services: ServiceMap, path: str, members: list[SourceFile],
              keys: dict[str, str | None], config: Config) -> str | None:
    """The service's manifest facts, the config, and every member file's key; None if a file is unreadable."""
    member_keys = [keys.get(f.rel) for f in members]
    if any(k is None for k in member_keys):
        return None
    service = services.owner_of(members[0].rel)
    parts = [stable_repr(service), stable_repr(config),
             *(f"{f.rel}={k}" for f, k in zip(members, member_keys, strict=True))]
    return cache.join_key(parts)


def stable_repr(record: object) -> str:
    """A dataclass's fields as text that is the same in every process: sets are sorted.

    repr() of a frozenset of strings changes from one process to the next (hash randomisation), which
    would make every key miss in the next scan.
    """
    def text(value: object) -> str:
        if isinstance(value, (set, frozenset)):
            return "{" + ", ".join(sorted(text(v) for v in value)) + "}"
        if isinstance(value, dict):
            return "{" + ", ".join(sorted(f"{text(k)}: {text(v)}" for k, v in value.items())) + "}"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(text(v) for v in value) + "]"
        return repr(value)

    return type(record).__name__ + "(" + ", ".join(
        f"{f.name}={text(getattr(record, f.name))}" for f in fields(record)) + ")"


def _store_joins(cache: ResultCache, services: ServiceMap, rejoined: list[str], by_service: dict[str, list[SourceFile]],
                 join_keys: dict[str, str], results: dict[str, FileResult], findings: list[Finding],
                 reviewed: list[Reviewed], internal: list[InternalError]) -> None:
    def owner(rel: str) -> str:
        return services.owner_of(rel).path

    for path in rejoined:
        key = join_keys.get(path)
        if not key:
            continue
        members = {f.rel for f in by_service[path]}
        cache.put_join(key, ServiceJoin(
            findings=tuple(f for f in findings if owner(f.location.path) == path),
            reviewed=tuple(r for r in reviewed if owner(r.location.path) == path),
            internal=tuple(e for e in internal if owner(e.path) == path),
            files={rel: replace(results[rel], matches=[], index=FileIndex()) for rel in members},
        ))


__all__ = ["Collected", "ServiceJoin", "collect"]
