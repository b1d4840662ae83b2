"""Stages 3 and 4 with a cache: per-file records, and each service's join, recomputed only where files changed.

A service's classification reads only the records of its own files, the config and the rules. The cache
keeps, per service, its last join (findings, reviewed candidates and errors, with the key of every member
file) and beside it every member's share of the service index. Once every file's content hash is known:

- a service none of whose files changed gets its findings from its join, and its files' records are not
  even loaded;
- a service with changed files has only those parsed. When their share of the service index (classes,
  instantiations, writes through singletons, calls...) is what it was, the unchanged files' findings
  cannot have changed: classification of a file reads nothing of the other files but that index. So only
  the changed files' candidates are classified, against the index of the whole service;
- when the index changed, or an entry is missing or damaged, the service is joined again from all its
  files' records, cached or fresh, so cross-file facts follow the change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from .cache import ResultCache
from .config import Config
from .facts import FileIndex, ServiceIndex
from .match import FileResult
from .model import Finding, InternalError, Reviewed, SourceFile
from .pool import FileWork, Progress, gc_paused, match_with_cache
from .ruleset import RuleSet
from .services import ServiceMap

Classifier = Callable[[list[SourceFile], dict[str, FileResult], ServiceMap, RuleSet, Config, list[InternalError]],
                      tuple[list[Finding], list[Reviewed]]]

INDEXES = "indexes"  # the cache part holding each service's per-file index shares


@dataclass(frozen=True)
class ServiceJoin:
    """What a service's join produced, kept per service: its findings and what its files reported."""

    keys: dict[str, str]  # member file -> its cache key, as joined
    shares: str  # the `members` of the ServiceIndexes entry that goes with this join
    findings: tuple[Finding, ...]
    reviewed: tuple[Reviewed, ...]
    internal: tuple[InternalError, ...]  # errors of ours while classifying
    files: dict[str, FileResult]  # per file, its record without matches and index (errors, lines...)


@dataclass(frozen=True)
class ServiceIndexes:
    """Each member's share of the service index, stored apart from the join: only a rescan with changed
    files reads it. `members` ties it to the join it was written with."""

    members: str  # members_digest of the keys of the join it was written with
    indexes: dict[str, FileIndex]


@dataclass(frozen=True)
class Collected:
    results: dict[str, FileResult]  # every file; records of services taken whole from the cache are slim
    findings: list[Finding]
    reviewed: list[Reviewed]
    internal: list[InternalError]  # from the files and from classification
    parsed: tuple[str, ...]  # files parsed in this scan
    rejoined: tuple[str, ...]  # service paths whose join was computed (wholly or for changed files) in this scan


@dataclass
class _Plan:
    """What one scan does with each service."""

    kept: dict[str, ServiceJoin]  # unchanged: the stored join as it is
    partial: dict[str, tuple[ServiceJoin, ServiceIndexes]]  # changed files whose index share did not change
    full: list[str]  # joined again from every file's record


def collect(files: list[SourceFile], services: ServiceMap, work: FileWork, config: Config, jobs: int,
            classify_all: Classifier, progress: Progress | None = None,
            digests: dict[str, str] | None = None) -> Collected:
    """Records and classification for every file, from the cache where nothing changed.

    `digests` are the files' content hashes where discovery took them; the others are read and hashed here.
    """
    cache = work.cache
    digests = digests or {}
    keys = {f.rel: cache.key(f, digests[f.rel]) if f.rel in digests else cache.key_of(f)
            for f in files} if cache is not None else {}
    by_service: dict[str, list[SourceFile]] = {}
    for file in files:
        by_service.setdefault(services.owner_of(file.rel).path, []).append(file)
    service_keys = {path: _service_key(cache, services, members[0].rel, config)
                    for path, members in by_service.items()} if cache is not None else {}
    stored = _stored_joins(cache, by_service, service_keys, keys, progress) if cache is not None else {}
    kept = {path: join for path, join in stored.items() if join.keys == _member_keys(by_service[path], keys)}

    def changed(file: SourceFile) -> bool:
        join = stored.get(services.owner_of(file.rel).path)
        return join is None or join.keys.get(file.rel) != keys[file.rel]

    todo = [f for f in files if changed(f)]  # in file order
    matched = match_with_cache(todo, work, jobs, progress, keys=keys)
    results = dict(matched.results)
    plan = _plan(cache, by_service, service_keys, stored, kept, results)
    fallback = [f for path in plan.full if path in stored for f in by_service[path] if f.rel not in results]
    if fallback:  # services whose index changed: every file's record, from the cache where it is there
        again = match_with_cache(fallback, work, jobs, progress, keys=keys)
        results.update(again.results)
        matched = replace(matched, parsed=tuple(sorted((*matched.parsed, *again.parsed))))
    if progress is not None:
        progress(sum(len(by_service[path]) - len(_changed(join, by_service[path], keys))
                     for path, (join, _) in plan.partial.items()))

    joined = [f for f in files if services.owner_of(f.rel).path not in kept]
    internal: list[InternalError] = []
    findings, reviewed = classify_all(joined, _with_kept_indexes(results, plan, by_service, keys),
                                      services, work.ruleset, config, internal)
    file_internal = [e for r in results.values() for e in r.internal_errors]
    for path, (join, _) in plan.partial.items():
        unchanged = {f.rel for f in by_service[path]} - set(_changed(join, by_service[path], keys))
        findings.extend(f for f in join.findings if f.location.path in unchanged)
        reviewed.extend(r for r in join.reviewed if r.location.path in unchanged)
        internal.extend(e for e in join.internal if e.path in unchanged)
        for rel in unchanged:
            results[rel] = join.files[rel]
            file_internal.extend(join.files[rel].internal_errors)
    for join in kept.values():
        results.update(join.files)
        findings.extend(join.findings)
        reviewed.extend(join.reviewed)
        internal.extend(join.internal)
        file_internal.extend(e for r in join.files.values() for e in r.internal_errors)
    rejoined = sorted(path for path in by_service if path not in kept)
    if cache is not None:
        _store_joins(cache, services, rejoined, by_service, service_keys, keys, results, plan, findings, reviewed,
                     internal)
    return Collected(results, findings, reviewed, file_internal + internal, matched.parsed, tuple(rejoined))


def _stored_joins(cache: ResultCache, by_service: dict[str, list[SourceFile]], service_keys: dict[str, str | None],
                  keys: dict[str, str | None], progress: Progress | None) -> dict[str, ServiceJoin]:
    """Each service's last join, where there is one and none of its files is unreadable."""
    stored: dict[str, ServiceJoin] = {}
    with gc_paused():
        for path, members in by_service.items():
            key = service_keys[path]
            if not key or any(keys[f.rel] is None for f in members):
                continue
            entry = cache.get_join(key)
            if isinstance(entry, ServiceJoin) and isinstance(entry.keys, dict) and isinstance(entry.files, dict) \
                    and entry.files.keys() == entry.keys.keys():
                stored[path] = entry
                if progress is not None and entry.keys == _member_keys(members, keys):
                    progress(len(members))
    return stored


def _plan(cache: ResultCache | None, by_service: dict[str, list[SourceFile]], service_keys: dict[str, str | None],
          stored: dict[str, ServiceJoin], kept: dict[str, ServiceJoin], results: dict[str, FileResult]) -> _Plan:
    """Which changed services can keep their unchanged files' findings: those whose index did not change."""
    plan = _Plan(kept, {}, [])
    for path, members in by_service.items():
        if path in kept:
            continue
        join = stored.get(path)
        shares = _load_indexes(cache, service_keys[path], join) if join is not None else None
        if join is None or shares is None or not _same_index(shares.indexes, members, results):
            plan.full.append(path)
        else:
            plan.partial[path] = (join, shares)
    return plan


def _load_indexes(cache: ResultCache | None, key: str | None, join: ServiceJoin) -> ServiceIndexes | None:
    if cache is None or not key:
        return None
    with gc_paused():
        entry = cache.get_join(key, INDEXES)
    if not isinstance(entry, ServiceIndexes) or entry.members != join.shares:
        return None
    return entry


def _same_index(old: dict[str, FileIndex], members: list[SourceFile], results: dict[str, FileResult]) -> bool:
    """Is the service index built from the members now the one built from the stored shares?

    With the same files, it is when every changed file's share is equal to its stored one. With files added
    or removed, both indexes are built and compared. Equality of the index dataclasses covers everything
    classification reads of them.
    """
    new = {f.rel: results[f.rel].index if f.rel in results else old.get(f.rel) for f in members}
    if any(share is None for share in new.values()):
        return False
    if new.keys() == old.keys():
        return all(old[rel] == results[rel].index for rel in new if rel in results)
    before, after = ServiceIndex(), ServiceIndex()
    for rel in sorted(old):
        before.add(old[rel])
    for rel in sorted(new):
        after.add(new[rel])
    return before == after


def _with_kept_indexes(results: dict[str, FileResult], plan: _Plan, by_service: dict[str, list[SourceFile]],
                       keys: dict[str, str | None]) -> dict[str, FileResult]:
    """The records to classify: unchanged files of partly changed services stand in with their stored index
    share and no candidates, so the changed files are judged against the whole service's index."""
    records = dict(results)
    for path, (join, shares) in plan.partial.items():
        changed = set(_changed(join, by_service[path], keys))
        for file in by_service[path]:
            if file.rel not in changed:
                records[file.rel] = FileResult(index=shares.indexes[file.rel])
    return records


def _changed(join: ServiceJoin, members: list[SourceFile], keys: dict[str, str | None]) -> list[str]:
    return [f.rel for f in members if join.keys.get(f.rel) != keys[f.rel]]


def _member_keys(members: list[SourceFile], keys: dict[str, str | None]) -> dict[str, str | None]:
    return {f.rel: keys[f.rel] for f in members}


def members_digest(keys: dict[str, str]) -> str:
    """One digest of a join's member files and their keys."""
    digest = hashlib.blake2b(digest_size=16)
    for rel in sorted(keys):
        digest.update(f"{rel}\0{keys[rel]}\0".encode())
    return digest.hexdigest()


def _service_key(cache: ResultCache, services: ServiceMap, member: str, config: Config) -> str:
    """The entry name of a service's join: its manifest facts and the config (its files are in the entry)."""
    return cache.join_key([stable_repr(services.owner_of(member)), stable_repr(config)])


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
                 service_keys: dict[str, str | None], keys: dict[str, str | None], results: dict[str, FileResult],
                 plan: _Plan, findings: list[Finding], reviewed: list[Reviewed],
                 internal: list[InternalError]) -> None:
    """Each rejoined service's join and index shares (not when one of its files could not be read)."""
    def owner(rel: str) -> str:
        return services.owner_of(rel).path

    for path in rejoined:
        key = service_keys.get(path)
        members = _member_keys(by_service[path], keys)
        if not key or any(k is None for k in members.values()):
            continue
        partial = plan.partial.get(path)
        if partial is not None and partial[0].keys.keys() == members.keys():
            # Same files, and each changed one's share equal to its stored one: the stored shares still hold.
            shares_id, shares = partial[0].shares, None
        elif partial is not None:  # the unchanged files' records are slim: their shares are the stored ones
            changed = set(_changed(partial[0], by_service[path], keys))
            shares_id = members_digest(members)
            shares = {rel: results[rel].index if rel in changed else partial[1].indexes[rel] for rel in members}
        else:
            shares_id, shares = members_digest(members), {rel: results[rel].index for rel in members}
        cache.put_join(key, ServiceJoin(
            keys=members,
            shares=shares_id,
            findings=tuple(f for f in findings if owner(f.location.path) == path),
            reviewed=tuple(r for r in reviewed if owner(r.location.path) == path),
            internal=tuple(e for e in internal if owner(e.path) == path),
            files={rel: _slim(results[rel]) for rel in members},
        ))
        if shares is not None:
            _share_values(shares)
            cache.put_join(key, ServiceIndexes(shares_id, shares), INDEXES)


def _share_values(shares: dict[str, FileIndex]) -> None:
    """Make equal strings and tuples of the shares one object, so the pickle stores each once.

    Files name the same identifiers and calls over and over: on saleor this halved the entry (15 to 6 MB)
    and the time to load it. Values one or two levels down (a dict's keys and values, a list's tuples) are
    shared; anything else is kept as it is. In place, one file at a time: the shares are this scan's own
    records, about to be dropped, and a copy of them all would raise the peak memory of a cold scan.
    """
    memo: dict = {}

    def one(value):
        if isinstance(value, str):
            return memo.setdefault(value, value)
        if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            value = tuple(memo.setdefault(v, v) for v in value)
            return memo.setdefault(value, value)
        return value

    def shared(value):
        if type(value) is dict:
            return {one(k): one(v) for k, v in value.items()}
        if type(value) in (list, set, frozenset):
            return type(value)(one(v) for v in value)
        return one(value)

    for share in shares.values():
        for name in [f.name for f in fields(share)]:
            setattr(share, name, shared(getattr(share, name)))


def _slim(record: FileResult) -> FileResult:
    return replace(record, matches=[], index=FileIndex())


__all__ = ["Collected", "ServiceIndexes", "ServiceJoin", "collect", "members_digest", "stable_repr"]
