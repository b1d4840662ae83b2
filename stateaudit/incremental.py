"""Stages 3 and 4 with a cache: per-file records, and each service's join, recomputed only where files changed.

A service's classification reads only the records of its own files, the config and the rules. So once
every file's content hash is known, a service none of whose files changed (and whose config, rules and
manifest did not) gets its findings from the cache, and its files' records are not even loaded. A service
with a changed file is joined again from its files' records, cached or fresh, so cross-file facts stay right.
"""

from __future__ import annotations

import io
import pickle
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, fields, replace
from typing import BinaryIO

from .cache import ResultCache
from .config import Config
from .facts import FileIndex, ServiceIndex
from .match import FileResult, PackedResult
from .model import Finding, InternalError, Match, Reviewed, SourceFile
from .pool import FileWork, Progress, gc_paused, packed_records
from .ruleset import RuleSet
from .services import ServiceMap

# scan.classify_service: (files, index, matches_of, broken, services, ruleset, config, internal)
Classifier = Callable[[list[SourceFile], ServiceIndex, Callable[[str], list[Match]], set[str], ServiceMap, RuleSet,
                       Config, list[InternalError]], tuple[list[Finding], list[Reviewed]]]


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
            classify_service: Classifier, progress: Progress | None = None) -> Collected:
    """Records and classification for every file, from the cache where nothing changed.

    Services to join are joined one by one, each as soon as its last file's record arrives; until then
    their files' matches wait on disk (MatchSpill), and of each record only what the report needs stays.
    """
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
    todo = {path: members for path, members in by_service.items() if path not in kept}
    joins = ServiceJoiner(todo, services, work.ruleset, config, classify_service)
    parsed: list[str] = []
    with MatchSpill() as spill:
        records = packed_records([f for members in todo.values() for f in members], work, jobs, progress, keys=keys)
        with closing(records):
            for rel, record, fresh in records:
                if fresh:
                    parsed.append(rel)
                path = joins.add(rel, record, spill)
                if path is not None and cache is not None and join_keys.get(path):
                    cache.put_join(join_keys[path], joins.done[path])
    results = dict(joins.records)
    findings = [f for join in joins.done.values() for f in join.findings]
    reviewed = [r for join in joins.done.values() for r in join.reviewed]
    internal = [e for join in joins.done.values() for e in join.internal]
    for join in kept.values():
        results.update(join.files)
        findings.extend(join.findings)
        reviewed.extend(join.reviewed)
        internal.extend(join.internal)
    file_internal = [e for r in results.values() for e in r.internal_errors]
    return Collected(results, findings, reviewed, file_internal + internal, tuple(sorted(parsed)), tuple(sorted(todo)))


class ServiceJoiner:
    """Joins each service as soon as the records of all its files are in.

    Of a record it keeps the slim part (errors, lines, suppressions: what the report needs), merges its
    index into its service's index and writes its matches to the spill; a joined service's index is let go.
    So what stays in memory is one index per service not yet joined, a slim record per file, and the findings.
    """

    def __init__(self, todo: dict[str, list[SourceFile]], services: ServiceMap, ruleset: RuleSet, config: Config,
                 classify_service: Classifier) -> None:
        self.members = todo
        self.waiting = {path: len(members) for path, members in todo.items()}
        self.indexes: dict[str, ServiceIndex] = {}
        self.records: dict[str, FileResult] = {}  # slim: no matches, no index
        self.done: dict[str, ServiceJoin] = {}
        self._services, self._ruleset, self._config, self._classify = services, ruleset, config, classify_service

    def add(self, rel: str, packed: PackedResult, spill: MatchSpill) -> str | None:
        """Take one file's record; the service's path when this was its last file (it is then joined)."""
        path = self._services.owner_of(rel).path
        self.indexes.setdefault(path, ServiceIndex()).add(packed.record.index, rel)
        self.records[rel] = replace(packed.record, index=FileIndex())
        spill.put(rel, packed.matches)
        self.waiting[path] -= 1
        if self.waiting[path]:
            return None
        self._join(path, spill)
        return path

    def _join(self, path: str, spill: MatchSpill) -> None:
        members = self.members[path]
        index = self.indexes.pop(path, ServiceIndex())
        broken = {f.rel for f in members if self.records[f.rel].has_syntax_errors}
        internal: list[InternalError] = []
        findings, reviewed = self._classify(members, index, spill.take, broken, self._services, self._ruleset,
                                            self._config, internal)
        self.done[path] = ServiceJoin(tuple(findings), tuple(reviewed), tuple(internal),
                                      {f.rel: self.records[f.rel] for f in members})


class MatchSpill:
    """The matches of files whose service is not joined yet, in an anonymous temporary file.

    A file's pickled matches are appended as its record arrives and read back, once, when its service is
    joined, so the scan's memory does not grow with the number of matches (most of which the rules'
    `where` drop). Without a usable temporary folder they stay in memory and the scan goes on.
    """

    def __init__(self) -> None:
        self._where: dict[str, tuple[int, int]] = {}
        try:
            self._file: BinaryIO = tempfile.TemporaryFile(prefix="stateaudit-matches-")
        except OSError:
            self._file = io.BytesIO()
        self._end = 0

    def __enter__(self) -> MatchSpill:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()

    def put(self, rel: str, blob: bytes) -> None:
        self._file.seek(self._end)
        self._file.write(blob)
        self._where[rel] = (self._end, len(blob))
        self._end += len(blob)

    @property
    def waiting(self) -> int:
        """How many files' matches are on disk, not taken yet."""
        return len(self._where)

    def take(self, rel: str) -> list[Match]:
        """The file's matches, forgotten here once handed out."""
        offset, size = self._where.pop(rel)
        self._file.seek(offset)
        return pickle.loads(self._file.read(size))


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


__all__ = ["Collected", "MatchSpill", "ServiceJoin", "ServiceJoiner", "collect"]
