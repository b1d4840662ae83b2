"""Per-file results kept between scans, so an unchanged file is read and hashed but never parsed again.

An entry is one file's PackedResult (its record with its share of the service index, and its matches with
their local facts, pickled apart so that loading an entry does not unpickle them),
stored under a key made of the file's content hash, its path, language and test flag, and a context
digest: the tool version and its own source, the grammar versions, every rule file and vocabulary file
(`vocabulary/*.yaml` of every rule folder, the team's too), and the settings
that change a per-file result (the file budget). Anything that can
change a per-file result changes the key, so an entry is never stale, only unused. The join across a
service's files and the classification read only these records and are recomputed on every scan, so a
changed file updates the cross-file facts of the files beside it.

Entries are written in packs (RecordPacks): each worker writes the records of a batch of files into one
new, uniquely named file, moved into place whole and never modified after, and the scan writes once, at its
end, an index naming where each key's record lies (pack, offset, size). A file per record cost a temporary
file and a rename each (a fifth of a cold scan's time on medusa). The index is merged with the one on disk
when it is written, so two scans at once lose at most the other's newest entries (the last writer wins),
never a record's bytes: a pack is whole or absent. A pack or index that is missing or cannot be read, and an
entry that cannot be unpickled, is a miss: the file is matched and stored again. When the index is written,
entries unused for RECORD_KEEP_S are dropped and packs that no entry names and older than PACK_GRACE_S
(a scan still running may not have written its index yet) are deleted: the cache's only eviction.

Joins and the other per-service entries are one file each, written to a temporary file and moved into place
with os.replace (atomic.write_atomic): a reader sees a whole entry or none.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .atomic import write_atomic, write_atomic_with
from .config import Config
from .model import SourceFile
from .ruleset import RuleSet
from .syntax import known_good_queries, trust_queries

if TYPE_CHECKING:  # match (with the fact extractors) is imported when a per-file record is first read
    from .match import PackedResult

CACHE_DIR_NAME = ".stateaudit-cache"
LAYOUT = "v2"  # bump when the entry format changes
RECORDS = "records"  # the folder of record packs and their index
RECORD_INDEX = "index.pickle"
PACK_SUFFIX = ".pack"
PACK_BYTES = 4 << 20  # a process's records are written as a pack once this many bytes wait
RECORD_KEEP_S = 14 * 86400  # an index entry unused (by the file's current content) this long is dropped
PACK_GRACE_S = 6 * 3600  # a pack no entry names is deleted once this old: a running scan's are younger
REFRESH_S = 86400  # a used entry's time is written again when it is older than this
Location = tuple[str, int, int, int]  # pack name, offset, size, last used (seconds since the epoch)
GRAMMAR_PACKAGES = ("tree-sitter", "tree-sitter-typescript", "tree-sitter-javascript", "tree-sitter-python")
_PACKAGE = Path(__file__).resolve().parent


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class ResultCache:
    """A folder of per-file results for one rule set and one build of the tool."""

    def __init__(self, directory: Path, ruleset: RuleSet, settings: str = "") -> None:
        self.directory = directory
        self.context = context_digest(ruleset, settings)
        self.entries = directory / LAYOUT
        self.records = RecordPacks(self.entries / RECORDS)
        self._folders: set[str] = set()  # entry folders known to exist, in this process

    def open(self) -> str | None:
        """Create the folder; a one-line reason when it cannot be used (the scan then runs without it)."""
        try:
            self.entries.mkdir(parents=True, exist_ok=True)
            marker = self.directory / ".gitignore"
            if not marker.exists():
                # git never lists the cache, wherever it is; CACHEDIR.TAG tells backup tools to skip it.
                write_atomic(marker, b"# written by stateaudit\n*\n")
                write_atomic(self.directory / "CACHEDIR.TAG",
                              b"Signature: 8a477f597d28d172789f06886806bc55\n# stateaudit per-file results\n")
        except OSError as err:
            return f"cache {self.directory}: cannot write ({err.strerror or err}); scanning without it"
        return None

    @classmethod
    def for_config(cls, directory: Path, ruleset: RuleSet, config: Config) -> ResultCache:
        """Of the config, only the file budget, the size limit and include_browser change a per-file record
        (disabled rules change the rule set); the rest acts on the join and the classification, recomputed
        on every scan."""
        return cls(directory, ruleset,
                   settings=f"file_budget={config.file_budget!r} include_browser={config.include_browser!r} "
                            f"max_file_bytes={config.max_file_bytes!r}")

    def key(self, file: SourceFile, digest: str) -> str:
        """The entry name of one file's content under this context."""
        text = "\0".join((self.context, file.rel, file.language, str(file.is_test), digest))
        return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()

    def key_of(self, file: SourceFile) -> str | None:
        """Read and hash the file now; None if it cannot be read (it is then matched, which reports why)."""
        try:
            return self.key(file, content_digest(file.path.read_bytes()))
        except OSError:
            return None

    def get(self, key: str) -> PackedResult | None:
        """The stored result, or None if missing, unreadable or corrupt (it will be rebuilt)."""
        from .match import PackedResult

        blob = self.records.read(key)
        if blob is None:
            return None
        try:
            result = pickle.loads(blob)
        except Exception:  # noqa: BLE001 - any damage to an entry means "rebuild it", never a failed scan
            return None
        return result if isinstance(result, PackedResult) else None

    def put(self, key: str, result: PackedResult) -> None:
        """Keep the result for this process's next pack (RecordPacks.flush). Failures only cost speed."""
        self.records.add(key, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))

    def join_key(self, parts: list[str]) -> str:
        """The entry name of one service's join: this context and the given parts (service, config)."""
        digest = hashlib.blake2b(self.context.encode() + b"\0", digest_size=20)
        for part in parts:
            digest.update(part.encode() + b"\0")
        return digest.hexdigest()

    def get_join(self, key: str, part: str = "joins") -> object | None:
        """A service's stored join, or another per-service `part` (the caller checks its type), or None."""
        return _load(self.entries / part / key[:2] / f"{key}.pickle")

    def put_join(self, key: str, join: object, part: str = "joins") -> None:
        self._store(self.entries / part / key[:2] / f"{key}.pickle", join)

    def _store(self, target: Path, value: object) -> None:
        try:
            if str(target.parent) not in self._folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._folders.add(str(target.parent))
            # streamed: a large service's index shares (saleor's: 20 MB) are not copied whole in memory first
            write_atomic_with(target, lambda handle: pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL),
                              durable=False)
        except OSError:
            return  # a full disk or a vanished folder costs speed, never the scan


class RecordPacks:
    """The per-file records of a cache: packs of pickled records, and the index of where each key's lies.

    `add` keeps a record in memory; `flush` writes those kept as one new pack (a temporary file renamed to
    a name no other process picks) and returns their locations; a pool worker sends them to the parent with
    its batch's records (`adopt`). `commit`, once per scan, writes the index: the one on disk now, with what
    this scan wrote, the current files' entries marked as used, stale entries and unnamed old packs removed.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stored: dict[str, Location] | None = None  # the index on disk, read when first needed
        self._written: dict[str, Location] = {}  # what this scan stored (here or in its workers)
        self._pending: list[tuple[str, bytes]] = []
        self._pending_bytes = 0
        self._open: dict[str, tuple[int, int]] = {}  # pack name -> (open file descriptor, size), for reading

    def add(self, key: str, blob: bytes) -> None:
        self._pending.append((key, blob))
        self._pending_bytes += len(blob)
        if self._pending_bytes >= PACK_BYTES:
            self.flush()

    def flush(self) -> list[tuple[str, Location]]:
        """Write the records kept so far as one pack; their locations (none if the pack could not be written)."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if not pending:
            return []
        name = f"{os.getpid()}-{secrets.token_hex(8)}{PACK_SUFFIX}"
        now = int(time.time())
        locations: list[tuple[str, Location]] = []
        offset = 0
        for key, blob in pending:
            locations.append((key, (name, offset, len(blob), now)))
            offset += len(blob)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / name, b"".join(blob for _, blob in pending), durable=False)
        except OSError:
            return []  # a full disk or a vanished folder costs speed, never the scan
        self._written.update(locations)
        return locations

    def adopt(self, locations: list[tuple[str, Location]]) -> None:
        """Records a worker wrote: they go into this scan's index."""
        self._written.update(locations)

    def has_any(self) -> bool:
        """Does the cache hold any record? (A cold scan then asks for none.)"""
        return bool(self._written) or bool(self._index())

    def read(self, key: str) -> bytes | None:
        """The bytes stored for `key`, or None when none are (or their pack is gone or short)."""
        location = self._written.get(key) or self._index().get(key)
        if location is None:
            return None
        name, offset, size, _used = location  # well formed: _read_index kept no other
        try:
            opened = self._open.get(name)
            if opened is None:
                if len(self._open) >= 64:
                    self.close()
                fd = os.open(self.folder / name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                opened = self._open[name] = (fd, os.fstat(fd).st_size)
            fd, length = opened
            if offset + size > length:  # a pack cut short, or an entry damaged: never read past the end
                return None
            data = _read_at(fd, offset, size)
        except (OSError, ValueError, OverflowError):
            return None
        return data if len(data) == size else None

    def close(self) -> None:
        for fd, _ in self._open.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._open.clear()

    def _index(self) -> dict[str, Location]:
        if self._stored is None:
            self._stored = self._read_index()
        return self._stored

    def _read_index(self) -> dict[str, Location]:
        """The index on disk; empty when there is none or it is damaged (every record is then a miss), without
        the entries that are not well formed (a pack name with no folder in it, three whole numbers)."""
        with gc_paused():
            index = _load(self.folder / RECORD_INDEX)
        if not isinstance(index, dict):
            return {}
        return {key: location for key, location in index.items() if _well_formed(key, location)}

    def commit(self, live: set[str], now: float | None = None) -> None:
        """Write the index once, at the end of a scan: the index on disk now (another scan's may have landed
        since this one read it) with this scan's records; `live` (the keys of the files as they are now)
        marked as used. Entries neither live nor used for RECORD_KEEP_S are dropped, then packs that no
        entry names and older than PACK_GRACE_S are deleted. Written only when something changed."""
        self.flush()
        now = int(time.time() if now is None else now)
        index = self._read_index()
        changed = bool(self._written)
        index.update(self._written)
        for key in live & index.keys():
            location = index[key]
            if now - location[3] > REFRESH_S:
                index[key] = (*location[:3], now)
                changed = True
        stale = [key for key, location in index.items() if now - location[3] > RECORD_KEEP_S and key not in live]
        for key in stale:
            del index[key]
        if not changed and not stale:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / RECORD_INDEX, pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL),
                         durable=False)
        except OSError:
            return
        self._stored, self._written = index, {}
        self._evict({location[0] for location in index.values()}, now)

    def _evict(self, named: set[str], now: float) -> None:
        """Delete packs that no entry names, and temporary files left by a killed process, once old enough
        that no running scan can still be about to name them."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            unnamed = entry.name.endswith(PACK_SUFFIX) and entry.name not in named
            leftover = entry.name.startswith(".") and entry.name.endswith(".tmp")
            if not (unnamed or leftover):
                continue
            try:
                if now - entry.stat().st_mtime > PACK_GRACE_S:
                    os.unlink(entry.path)
            except OSError:
                continue


def _well_formed(key: object, location: object) -> bool:
    if type(key) is not str or type(location) is not tuple or len(location) != 4:
        return False
    name, offset, size, used = location
    return type(name) is str and name.endswith(PACK_SUFFIX) and "/" not in name and "\\" not in name \
        and type(offset) is int and type(size) is int and type(used) is int and offset >= 0 and size >= 0


def _read_at(fd: int, offset: int, size: int) -> bytes:
    """`size` bytes at `offset`; os.pread where there is one (a forked worker shares no file position)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


@contextmanager
def gc_paused():
    """No cycle collection while many small acyclic records are unpickled.

    Each few hundred allocations would otherwise start a collection that walks every record loaded so
    far: on medusa's cached results that made loading four to five times slower. Here, not in pool, because
    a warm scan loads joins without importing pool; pool uses it for the records workers send.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(path: Path) -> object | None:
    """An entry unpickled (None when missing or damaged). Every entry is a tree of small acyclic records (the
    walk record, a service's join, the rule set): without cycle collections while they are made, as for the
    joins (gc_paused), whose walks of the young objects were about 2 % of a warm scan."""
    try:
        data = path.read_bytes()
        with gc_paused():
            return pickle.loads(data)
    except Exception:  # noqa: BLE001 - any damage to an entry means "rebuild it", never a failed scan
        return None


def _queries_file(directory: Path) -> Path:
    versions = hashlib.blake2b("\0".join(grammar_versions()).encode(), digest_size=8).hexdigest()
    return directory / LAYOUT / f"queries-{versions}.txt"


def load_known_queries(directory: Path) -> None:
    """Trust the queries that compiled in an earlier scan with the same grammar versions.

    Rule loading then validates them without compiling; they compile when a file first needs them.
    A missing or damaged list only means compiling again.
    """
    try:
        lines = _queries_file(directory).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return
    trust_queries(line for line in lines if len(line) == 32)


def save_known_queries(directory: Path) -> None:
    """Record the queries known to compile now, with those listed before (atomically; a failure only costs the
    next start-up). A rule set taken from the cache (cached_rules) validated none of its queries in this
    process: the list must not lose them."""
    target = _queries_file(directory)
    try:
        listed = set(target.read_text(encoding="ascii").split()) if target.is_file() else set()
        known = sorted(listed | known_good_queries())
        if len(listed) == len(known):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, "".join(f"{digest}\n" for digest in known).encode("ascii"), durable=False)
    except (OSError, UnicodeDecodeError):
        return



def cached_rules(directory: Path | None, dirs: list[Path], load: Callable[[list[Path]], RuleSet]) -> RuleSet:
    """`load(dirs)`, or the rule set it gave before for the same rule files, tool and grammars.

    Reading and validating the YAML of every rule, table and vocabulary file took 0.1 s of every start-up
    (more than unpickling the result, 6 ms). The key is the content of every YAML file under `dirs`, the
    tool's own source and the grammar versions (queries were validated against them). A rule error is
    raised by `load` and nothing is stored; an entry that cannot be read is loaded again.
    """
    if directory is None:
        return load(dirs)
    digest = hashlib.blake2b(_tool_digest().encode(), digest_size=20)
    for folder in dirs:
        digest.update(b"folder\0" + str(folder).encode() + b"\0")
        for path in sorted(Path(folder).rglob("*.y*ml")) if Path(folder).is_dir() else []:
            digest.update(str(path).encode() + b"\0" + _bytes(path) + b"\0")
    target = directory / LAYOUT / "rules" / f"{digest.hexdigest()}.pickle"
    stored = _load(target)
    if isinstance(stored, RuleSet):
        return stored
    ruleset = load(dirs)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, pickle.dumps(ruleset, protocol=pickle.HIGHEST_PROTOCOL), durable=False)
    except OSError:
        pass  # only the next start-up pays
    return ruleset


def context_digest(ruleset: RuleSet, settings: str = "") -> str:
    """What, besides a file's own bytes, decides its per-file result; `settings`: the config that does."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (LAYOUT, settings, _tool_digest()):
        digest.update(part.encode() + b"\0")
    for rule_id in sorted(ruleset.rules):
        digest.update(rule_id.encode() + b"\0")
    for path in _rule_files(ruleset.rules[r].path for r in ruleset.rules):
        digest.update(str(path).encode() + b"\0" + _bytes(path) + b"\0")
    # The vocabulary read, also from a team folder that holds no rule of its own (only `vocabulary/`).
    for path in ruleset.vocabulary.sources:
        digest.update(b"vocabulary\0" + str(path).encode() + b"\0" + _bytes(path) + b"\0")
    return digest.hexdigest()


@cache
def _tool_digest() -> str:
    """The tool's version, its own source and the grammar versions: what every cached result depends on."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (__version__, *grammar_versions()):
        digest.update(part.encode() + b"\0")
    for path in _source_files():
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def grammar_versions() -> tuple[str, ...]:
    """`name=version` of each grammar package, from its installed metadata; worked out once per process (the
    tool digest and the name of the list of known queries both ask)."""
    found = _dist_info_versions(GRAMMAR_PACKAGES)
    return tuple(f"{name}={found[name] if name in found else _metadata_version(name)}" for name in GRAMMAR_PACKAGES)


def _dist_info_versions(names: Iterable[str]) -> dict[str, str]:
    """Per package, the version in the name of its `.dist-info` folder, looked for on sys.path as
    importlib.metadata does (the first folder holding one wins), each folder listed once; that module and the
    email parser it loads cost 20 ms of every start-up."""
    prefixes = {name.replace("-", "_").lower() + "-": name for name in names}
    found: dict[str, str] = {}
    for folder in sys.path:
        if len(found) == len(prefixes):
            break
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            lower = entry.lower()
            for prefix, name in prefixes.items():
                if name not in found and lower.startswith(prefix):
                    found[name] = entry[len(prefix):-len(".dist-info")]
    return found


def _metadata_version(name: str) -> str:
    """The version importlib.metadata finds, for any layout but a `.dist-info` folder on sys.path (an egg, a
    zip); "?" when the package is not installed."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _source_files() -> list[Path]:
    """The tool's own modules: a development build changes its code without changing its version."""
    return sorted(_PACKAGE.rglob("*.py"))


def _rule_files(rule_paths: Iterable[Path]) -> list[Path]:
    """Every YAML file of every folder a rule came from, classification tables and vocabularies included."""
    folders = sorted({p.resolve().parent for p in rule_paths})
    return sorted({f for folder in folders for f in folder.rglob("*.y*ml")})


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


__all__ = ["CACHE_DIR_NAME", "RecordPacks", "ResultCache", "cached_rules", "content_digest", "context_digest", "gc_paused",
           "load_known_queries", "save_known_queries"]
