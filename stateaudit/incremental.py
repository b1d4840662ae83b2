"""Stages 3 and 4 with a cache: per-file records, and each service's join, recomputed only where files changed.

A service's classification reads only the records of its own files, the config and the rules. The cache
keeps, per service, each join it made (findings, reviewed candidates and errors, with the key of every member
file), under the digest of its members' keys, and beside it the service index it was made with and every
member's share of it (ServiceIndexes); a small pointer names the latest join. Once every file's content
hash is known:

- a service whose files are exactly those of a stored join (nothing changed, or a tree switched back to one
  scanned before) gets its findings from that join, and its files' records are not even loaded;
- a service with changed files has only those parsed. When their share of the service index (classes,
  instantiations, writes through singletons, calls...) is what it was, the unchanged files' findings
  cannot have changed: classification of a file reads nothing of the other files but that index. So only
  the changed files' candidates are classified, against the index of the whole service as stored;
- when the index changed, or an entry is missing or damaged, the service is joined again from all its
  files' records, cached or fresh, so cross-file facts follow the change. Such services are joined one by
  one as their records arrive (ServiceJoiner), their files' matches waiting on disk until then (MatchSpill).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import TYPE_CHECKING, BinaryIO

from .cache import ResultCache, gc_paused
from .config import Config
from .model import DegradedFile, Finding, InternalError, Match, ParseError, Reviewed, SourceFile
from .ruleset import RuleSet
from .services import ServiceMap
from .suppressions import Suppression

# The fact index (facts), the per-file matching (match) and the process pool (pool), with multiprocessing,
# are imported where a file is parsed or a service joined: a rescan with nothing changed does neither, and
# importing them was a tenth of its time.
if TYPE_CHECKING:
    from .facts import FileIndex, ServiceIndex
    from .match import FileResult, PackedResult
    from .pool import FileWork

Progress = Callable[[int], None]  # as pool.Progress: n more files are done
# scan.classify_service: (files, index, matches_of, broken, services, ruleset, config, internal)
Classifier = Callable[[list[SourceFile], "ServiceIndex", Callable[[str], list[Match]], set[str], ServiceMap, RuleSet,
                       Config, list[InternalError]], tuple[list[Finding], list[Reviewed]]]

INDEXES = "indexes"  # the cache part holding each service's per-file index shares
LATEST = "latest"  # the cache part naming, per service, the members digest of its latest join


@dataclass(frozen=True)
class FileOutcome:
    """What the report needs of one file's record (a match.FileResult without its matches and index share).

    Joins keep these, so loading a join needs neither the fact index nor the matching code.
    """

    lines: int = 0
    error: ParseError | None = None
    warnings: list[str] = field(default_factory=list)
    suppressions: tuple[Suppression, ...] = ()
    excluded: str | None = None
    degraded: list[DegradedFile] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)

    @classmethod
    def of(cls, record: FileResult) -> FileOutcome:
        return cls(record.lines, record.error, record.warnings, record.suppressions, record.excluded,
                   record.degraded, record.internal_errors)

    @property
    def has_syntax_errors(self) -> bool:
        return any(d.reason == "syntax-error" for d in self.degraded)


@dataclass(frozen=True)
class ServiceJoin:
    """What a service's join produced, kept per service: its findings and what its files reported."""

    keys: dict[str, str]  # member file -> its cache key, as joined
    shares: str  # the `members` of the ServiceIndexes entry that goes with this join (the key it is stored under)
    findings: tuple[Finding, ...]
    reviewed: tuple[Reviewed, ...]
    internal: tuple[InternalError, ...]  # errors of ours while classifying
    files: dict[str, FileOutcome]  # per file, what the report needs of its record (errors, lines...)


@dataclass(frozen=True)
class ServiceIndexes:
    """The service index a join was made with, and each member's share of it, stored apart from the join:
    only a rescan with changed files reads it. `members` ties it to the join it was written with.

    Both are kept pickled: a rescan unpickles the changed files' shares, to compare them with their new
    ones, and, when they are equal, the whole index as it was built (on saleor, 4,327 files, a third of
    the time of unpickling every share and adding each to a new index); every share only when files were
    added or removed.
    """

    members: str  # members_digest of the keys of the join it was written with
    shares: dict[str, bytes]  # per member file, its FileIndex pickled
    index: bytes  # the ServiceIndex of all the members, pickled

    def share(self, rel: str) -> FileIndex | None:
        """A member's share; None when it is not one or its entry is damaged."""
        return _unpickled(self.shares.get(rel))

    def whole(self) -> ServiceIndex | None:
        return _unpickled(self.index)


def _unpickled(blob: bytes | None):
    if not isinstance(blob, bytes):
        return None
    try:
        with gc_paused():
            return pickle.loads(blob)
    except Exception:  # noqa: BLE001 - a damaged entry means "join again", never a failed scan
        return None


@dataclass(frozen=True)
class Collected:
    results: dict[str, FileOutcome]  # every file's record, slim
    findings: list[Finding]
    reviewed: list[Reviewed]
    internal: list[InternalError]  # from the files and from classification
    parsed: tuple[str, ...]  # files parsed in this scan
    rejoined: tuple[str, ...]  # service paths whose join was computed (wholly or for changed files) in this scan


def collect(files: list[SourceFile], services: ServiceMap, work: Callable[[], FileWork], cache: ResultCache | None,
            ruleset: RuleSet, config: Config, jobs: int | None, classify_service: Classifier,
            progress: Progress | None = None, digests: dict[str, str] | None = None) -> Collected:
    """Records and classification for every file, from the cache where nothing changed.

    Services to join whole are joined one by one, each as soon as its last file's record arrives; until
    then their files' matches wait on disk (MatchSpill), and of each record only what the report needs
    stays. `digests` are the files' content hashes where discovery took them; the others are read here.
    `work()` gives what files are matched with (`cache` its cache, `ruleset` its rules), asked for only
    when a file is; `jobs` None means the cores available.
    """
    work = _Work(work, jobs)
    digests = digests or {}
    keys = {f.rel: cache.key(f, digests[f.rel]) if f.rel in digests else cache.key_of(f)
            for f in files} if cache is not None else {}
    by_service: dict[str, list[SourceFile]] = {}
    for file in files:
        by_service.setdefault(services.owner_of(file.rel).path, []).append(file)
    settings = stable_repr(config)  # the same for every service: written once, not once per service
    service_keys = {path: _service_key(cache, services, members[0].rel, settings)
                    for path, members in by_service.items()} if cache is not None else {}
    kept, stored = _stored_joins(cache, by_service, service_keys, keys, progress) if cache is not None else ({}, {})
    partly = _partly_changed(cache, by_service, service_keys, stored, keys, work, progress, services, ruleset,
                             config, classify_service)
    todo = {path: members for path, members in by_service.items() if path not in kept and path not in partly.done}
    joins = ServiceJoiner(todo, services, ruleset, config, classify_service, keep_shares=cache is not None)
    with MatchSpill() as spill:
        for rel, record in partly.fallback.items():  # changed files of services whose index changed
            _add(joins, rel, record, spill, cache, service_keys, keys)
        rest = [f for members in todo.values() for f in members if f.rel not in partly.fallback]
        records = work.records(rest, progress, keys)
        with closing(records):
            for rel, record, fresh in records:
                if fresh:
                    partly.parsed.append(rel)
                _add(joins, rel, record, spill, cache, service_keys, keys)
    done = {**joins.done, **partly.done}
    results = dict(joins.records)
    for join in partly.done.values():
        results.update(join.files)
    findings = [f for join in done.values() for f in join.findings]
    reviewed = [r for join in done.values() for r in join.reviewed]
    internal = [e for join in done.values() for e in join.internal]
    for join in kept.values():
        results.update(join.files)
        findings.extend(join.findings)
        reviewed.extend(join.reviewed)
        internal.extend(join.internal)
    if cache is not None:
        cache.records.commit({key for key in keys.values() if key is not None})
    file_internal = [e for r in results.values() for e in r.internal_errors]
    return Collected(results, findings, reviewed, file_internal + internal, tuple(sorted(partly.parsed)),
                     tuple(sorted(done)))


def _add(joins: ServiceJoiner, rel: str, record: PackedResult, spill: MatchSpill, cache: ResultCache | None,
         service_keys: dict[str, str | None], keys: dict[str, str | None]) -> None:
    """One record into the joiner; a service it completes is stored with its index shares."""
    path = joins.add(rel, record, spill)
    if path is None or cache is None or not service_keys.get(path):
        return
    members = _member_keys(joins.members[path], keys)
    shares, index = joins.shares.pop(path, None), joins.pickled_indexes.pop(path, None)
    if any(k is None for k in members.values()) or shares is None or index is None:
        return
    digest = members_digest(members)
    _store_join(cache, service_keys[path], replace(joins.done[path], keys=members, shares=digest),
                ServiceIndexes(digest, shares, index))


class _Work:
    """pool.packed_records, with the FileWork and the process count made (and pool imported) on first use."""

    def __init__(self, make: Callable[[], FileWork], jobs: int | None) -> None:
        self._make, self._jobs, self._work = make, jobs, None

    def records(self, files: list[SourceFile], progress: Progress | None, keys: dict[str, str | None]):
        """(rel, PackedResult, parsed now) for each of `files` as it is done; nothing to import for none."""
        if not files:
            return
        from .pool import default_jobs, packed_records

        if self._work is None:
            self._work = self._make()
        yield from packed_records(files, self._work, self._jobs or default_jobs(), progress, keys=keys)


@dataclass
class _Partly:
    """Services with changed files whose index shares were as stored: joined here from the changed files."""

    done: dict[str, ServiceJoin]
    fallback: dict[str, PackedResult]  # changed files' records of services whose index changed
    parsed: list[str]


def _partly_changed(cache: ResultCache | None, by_service: dict[str, list[SourceFile]],
                    service_keys: dict[str, str | None], stored: dict[str, ServiceJoin], keys: dict[str, str | None],
                    work: _Work, progress: Progress | None, services: ServiceMap, ruleset: RuleSet, config: Config,
                    classify_service: Classifier) -> _Partly:
    """Parse the changed files of services with a stored join; where their index shares are as stored, classify
    only their candidates, against the whole service's index, and keep the other files' findings."""
    partly = _Partly({}, {}, [])
    shares_of = {path: _load_indexes(cache, service_keys[path], join) for path, join in stored.items()}
    shares_of = {path: shares for path, shares in shares_of.items() if shares is not None}
    changed = {path: [f for f in by_service[path] if stored[path].keys.get(f.rel) != keys[f.rel]] for path in shares_of}
    fresh: dict[str, PackedResult] = {}
    records = work.records([f for files in changed.values() for f in files], progress, keys)
    with closing(records):
        for rel, record, parsed in records:
            fresh[rel] = record
            if parsed:
                partly.parsed.append(rel)
    for path, shares in shares_of.items():
        members, join = by_service[path], stored[path]
        new = {rel: fresh[rel].record.index for rel in (f.rel for f in changed[path])}
        index = _index_if_same(shares, members, new)
        if index is None:
            partly.fallback.update((f.rel, fresh[f.rel]) for f in changed[path])
            continue
        # pickled before classification reads it: what is stored is the index as built
        pickled = shares.index if shares.shares.keys() == {f.rel for f in members} else _pickled_index(index)
        partly.done[path] = _rejoin_changed(members, join, index, changed[path], fresh, services, ruleset, config,
                                            classify_service)
        if progress is not None:
            progress(len(members) - len(changed[path]))
        if cache is not None and service_keys[path]:
            _store_partial(cache, service_keys[path], partly.done[path], join, shares, members, new, pickled, keys)
    return partly


def _rejoin_changed(members: list[SourceFile], join: ServiceJoin, index: ServiceIndex, changed: list[SourceFile],
                    fresh: dict[str, PackedResult], services: ServiceMap, ruleset: RuleSet, config: Config,
                    classify_service: Classifier) -> ServiceJoin:
    """The service's join with only `changed` files classified again, against `index`, that of all its files."""
    names = {f.rel for f in changed}
    records = {rel: fresh[rel].record for rel in names}
    broken = {rel for rel, record in records.items() if record.has_syntax_errors}
    internal: list[InternalError] = []
    findings, reviewed = classify_service(changed, index, lambda rel: pickle.loads(fresh[rel].matches), broken,
                                          services, ruleset, config, internal)
    unchanged = {f.rel for f in members} - names
    return ServiceJoin(
        keys={}, shares="",  # set when stored
        findings=tuple(f for f in join.findings if f.location.path in unchanged) + tuple(findings),
        reviewed=tuple(r for r in join.reviewed if r.location.path in unchanged) + tuple(reviewed),
        internal=tuple(e for e in join.internal if e.path in unchanged) + tuple(internal),
        files={f.rel: join.files[f.rel] if f.rel in unchanged else FileOutcome.of(records[f.rel]) for f in members},
    )


def _store_partial(cache: ResultCache, key: str, join: ServiceJoin, before: ServiceJoin, shares: ServiceIndexes,
                   members: list[SourceFile], new: dict[str, FileIndex], index: bytes,
                   keys: dict[str, str | None]) -> None:
    """Store a partly rejoined service (`index`: its service index, pickled). With the same files, each
    changed one's share equal to its stored one, the stored shares and index still hold and are not written
    again."""
    member_keys = _member_keys(members, keys)
    if before.keys.keys() == member_keys.keys():
        _store_join(cache, key, replace(join, keys=member_keys, shares=before.shares))
        return
    digest = members_digest(member_keys)
    all_shares = {f.rel: _pickled(new[f.rel]) if f.rel in new else shares.shares[f.rel] for f in members}
    _store_join(cache, key, replace(join, keys=member_keys, shares=digest), ServiceIndexes(digest, all_shares, index))


def _store_join(cache: ResultCache, key: str, join: ServiceJoin, shares: ServiceIndexes | None = None) -> None:
    """A service's join under the digest of its members' keys, its index shares (when new) under theirs, and
    the pointer to it as the service's latest join."""
    digest = members_digest(join.keys)
    cache.put_join(_exact_key(cache, key, digest), join)
    if shares is not None:
        cache.put_join(_exact_key(cache, key, shares.members), shares, INDEXES)
    cache.put_join(key, digest, LATEST)


def _exact_key(cache: ResultCache, key: str, digest: str) -> str:
    """The entry name of a service's join (or index shares) for one set of member files and contents."""
    return cache.join_key([key, digest])


def _stored_joins(cache: ResultCache, by_service: dict[str, list[SourceFile]], service_keys: dict[str, str | None],
                  keys: dict[str, str | None],
                  progress: Progress | None) -> tuple[dict[str, ServiceJoin], dict[str, ServiceJoin]]:
    """(kept, latest): per service none of whose files is unreadable, the join of exactly its files as they are
    now, else its latest join (to be redone for the files that differ)."""
    kept: dict[str, ServiceJoin] = {}
    latest: dict[str, ServiceJoin] = {}
    with gc_paused():
        for path, members in by_service.items():
            key = service_keys[path]
            if not key or any(keys[f.rel] is None for f in members):
                continue
            member_keys = _member_keys(members, keys)
            digest = members_digest(member_keys)
            entry = _join_entry(cache, _exact_key(cache, key, digest))
            if entry is not None and entry.keys == member_keys:
                kept[path] = entry
                if progress is not None:
                    progress(len(members))
                if cache.get_join(key, LATEST) != digest:  # back on a tree scanned before: it is the latest again
                    cache.put_join(key, digest, LATEST)
                continue
            pointer = cache.get_join(key, LATEST)
            entry = _join_entry(cache, _exact_key(cache, key, pointer)) if isinstance(pointer, str) else None
            if entry is not None:
                latest[path] = entry
    return kept, latest


def _join_entry(cache: ResultCache, key: str) -> ServiceJoin | None:
    entry = cache.get_join(key)
    if isinstance(entry, ServiceJoin) and isinstance(entry.keys, dict) and isinstance(entry.files, dict) \
            and entry.files.keys() == entry.keys.keys():
        return entry
    return None


def _load_indexes(cache: ResultCache | None, key: str | None, join: ServiceJoin) -> ServiceIndexes | None:
    if cache is None or not key:
        return None
    with gc_paused():
        entry = cache.get_join(_exact_key(cache, key, join.shares), INDEXES)
    if not isinstance(entry, ServiceIndexes) or entry.members != join.shares or not isinstance(entry.shares, dict):
        return None
    return entry


def _index_if_same(stored: ServiceIndexes, members: list[SourceFile], new: dict[str, FileIndex]) -> ServiceIndex | None:
    """The service index of the members now, when it is the one built from the stored shares; else None.

    With the same files, it is when every changed file's share is equal to its stored one: the stored index
    is then the index now. With files added or removed, both indexes are built and compared. Equality of
    the index dataclasses covers everything classification reads of them. A damaged share or index: None.
    """
    if stored.shares.keys() == {f.rel for f in members}:
        if any(stored.share(rel) != share for rel, share in new.items()):
            return None
        return _checked_index(stored.whole())
    from .facts import ServiceIndex

    now = {f.rel: new[f.rel] if f.rel in new else stored.share(f.rel) for f in members}
    old = {rel: stored.share(rel) for rel in stored.shares}
    if any(share is None for share in (*now.values(), *old.values())):
        return None
    before, after = ServiceIndex(), ServiceIndex()
    with gc_paused():
        for rel in sorted(old):
            before.add(old[rel], rel)
        for rel in sorted(now):
            after.add(now[rel], rel)
    return after if before == after else None


def _checked_index(index: object) -> ServiceIndex | None:
    from .facts import ServiceIndex

    return index if isinstance(index, ServiceIndex) else None


def _pickled(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _pickled_index(index: ServiceIndex) -> bytes:
    """A service index to store: its equal strings and tuples made one object first (in place).

    Each file's record arrives in its own pickle, so the index built from them holds a string object per
    use of every name; pickle writes each in full. Made one, saleor's index is 3.7 MB instead of 10.6 MB,
    pickles in a seventh of the time and loads in a quarter: together cheaper than pickling it as it is.
    Values one or two levels down (a dict's keys and values, the members of its lists, sets and tuples)
    are shared; anything else is kept as it is.
    """
    memo: dict = {}
    same = memo.setdefault

    def one(value):
        kind = type(value)
        if kind is str:
            return same(value, value)
        if kind is tuple:
            try:
                return same(value, tuple([same(member, member) for member in value]))
            except TypeError:  # an unhashable member (a FileIndex): kept as it is
                return value
        return value

    def members(value):
        kind = type(value)
        if kind is list or kind is set or kind is frozenset:
            return kind([one(member) for member in value])
        return one(value)

    for name in _field_names(type(index)):
        value = getattr(index, name)
        kind = type(value)
        if kind is dict or kind is Counter:
            setattr(index, name, kind({one(key): members(member) for key, member in value.items()}))
        elif kind is list or kind is set or kind is frozenset:
            setattr(index, name, members(value))
    return _pickled(index)


# From this many member files, a service's index is pickled in a forked child while the parent classifies
# the service (beside.py): on saleor (4,327 files, one service) pickling took 0.66 s and classifying 0.41 s,
# one after the other, after the pool had ended. A smaller index pickles in less time than a fork costs.
PICKLE_BESIDE_FROM_FILES = 1_000


def _pickled_and_classified(index: ServiceIndex, classify: Callable[[], tuple[list[Finding], list[Reviewed]]],
                            files: int) -> tuple[bytes, tuple[list[Finding], list[Reviewed]]]:
    """The service index pickled to store (_pickled_index), and `classify()`.

    What is stored is the index as built: pickled first, or in a child forked before classification reads it.
    A child that dies without an answer leaves the pickling to this process (run_beside), after classifying,
    which only reads the index.
    """
    from .beside import can_fork, run_beside

    if files < PICKLE_BESIDE_FROM_FILES or not can_fork():
        pickled = _pickled_index(index)
        return pickled, classify()
    classified: list[tuple[list[Finding], list[Reviewed]]] = []
    pickled = run_beside(lambda: _pickled_index(index), [lambda: classified.append(classify())])
    if not classified:  # the child answered before the chore began
        classified.append(classify())
    return pickled, classified[0]


@cache
def _field_names(record_type: type) -> tuple[str, ...]:
    """A dataclass's field names, once: dataclasses.fields() builds its answer on every call."""
    return tuple(f.name for f in fields(record_type))


def _member_keys(members: list[SourceFile], keys: dict[str, str | None]) -> dict[str, str | None]:
    return {f.rel: keys[f.rel] for f in members}


def members_digest(keys: dict[str, str]) -> str:
    """One digest of a join's member files and their keys."""
    digest = hashlib.blake2b(digest_size=16)
    for rel in sorted(keys):
        digest.update(f"{rel}\0{keys[rel]}\0".encode())
    return digest.hexdigest()


def _service_key(cache: ResultCache, services: ServiceMap, member: str, settings: str) -> str:
    """The entry name of a service's join: its manifest facts and the config (`settings`, its stable_repr;
    its files are in the entry)."""
    return cache.join_key([stable_repr(services.owner_of(member)), settings])


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


class ServiceJoiner:
    """Joins each service as soon as the records of all its files are in.

    Of a record it keeps the slim part (errors, lines, suppressions: what the report needs), merges its
    index into its service's index and writes its matches to the spill; a joined service's index is let go.
    So what stays in memory is one index per service not yet joined, a slim record per file, and the findings;
    with `keep_shares`, also each file's share of its service's index, pickled, until the service is joined
    and its shares and index stored (a later scan with changed files classifies only those against them).
    """

    def __init__(self, todo: dict[str, list[SourceFile]], services: ServiceMap, ruleset: RuleSet, config: Config,
                 classify_service: Classifier, keep_shares: bool = False) -> None:
        self.members = todo
        self.waiting = {path: len(members) for path, members in todo.items()}
        self.indexes: dict[str, ServiceIndex] = {}
        self.shares: dict[str, dict[str, bytes]] = {}  # per service not stored yet, its files' shares pickled
        self.pickled_indexes: dict[str, bytes] = {}  # per service joined, not stored yet, its index pickled
        self.records: dict[str, FileOutcome] = {}  # slim: no matches, no index
        self.done: dict[str, ServiceJoin] = {}
        self._keep_shares = keep_shares
        self._services, self._ruleset, self._config, self._classify = services, ruleset, config, classify_service

    def add(self, rel: str, packed: PackedResult, spill: MatchSpill) -> str | None:
        """Take one file's record; the service's path when this was its last file (it is then joined)."""
        from .facts import ServiceIndex

        path = self._services.owner_of(rel).path
        if self._keep_shares:  # pickled as it arrives: a large service's shares wait here until its join
            self.shares.setdefault(path, {})[rel] = _pickled(packed.record.index)
        self.indexes.setdefault(path, ServiceIndex()).add(packed.record.index, rel)
        self.records[rel] = FileOutcome.of(packed.record)
        spill.put(rel, packed.matches)
        self.waiting[path] -= 1
        if self.waiting[path]:
            return None
        self._join(path, spill)
        return path

    def _join(self, path: str, spill: MatchSpill) -> None:
        from .facts import ServiceIndex

        members = self.members[path]
        index = self.indexes.pop(path, ServiceIndex())
        broken = {f.rel for f in members if self.records[f.rel].has_syntax_errors}
        internal: list[InternalError] = []

        def classify() -> tuple[list[Finding], list[Reviewed]]:
            return self._classify(members, index, spill.take, broken, self._services, self._ruleset, self._config,
                                  internal)

        if self._keep_shares:
            self.pickled_indexes[path], (findings, reviewed) = _pickled_and_classified(index, classify, len(members))
        else:
            findings, reviewed = classify()
        self.done[path] = ServiceJoin({}, "", tuple(findings), tuple(reviewed), tuple(internal),
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
        self._at_end = True  # where the file's position is, so a run of puts seeks (and flushes) once

    def __enter__(self) -> MatchSpill:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()

    def put(self, rel: str, blob: bytes) -> None:
        if not self._at_end:  # a seek flushes the write buffer: a write per record cost 28 µs of the parent's
            self._file.seek(self._end)
            self._at_end = True
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
        self._at_end = False
        return pickle.loads(self._file.read(size))


__all__ = ["Collected", "FileOutcome", "MatchSpill", "ServiceIndexes", "ServiceJoin", "ServiceJoiner", "collect", "members_digest",
           "stable_repr"]
