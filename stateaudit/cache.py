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

Each entry is written to a temporary file and moved into place with os.replace (atomic.write_atomic): a reader sees a whole
entry or none, and two scans writing the same entry at once both write the same bytes. An entry that cannot
be read or unpickled is treated as missing and written again.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .atomic import write_atomic
from .config import Config
from .model import SourceFile
from .ruleset import RuleSet
from .syntax import known_good_queries, trust_queries

if TYPE_CHECKING:  # match (with the fact extractors) is imported when a per-file record is first read
    from .match import PackedResult

CACHE_DIR_NAME = ".stateaudit-cache"
LAYOUT = "v1"  # bump when the entry format changes
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

    def _path(self, key: str) -> Path:
        return self.entries / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> PackedResult | None:
        """The stored result, or None if missing, unreadable or corrupt (it will be rebuilt)."""
        from .match import PackedResult

        result = _load(self._path(key))
        return result if isinstance(result, PackedResult) else None

    def put(self, key: str, result: PackedResult) -> None:
        """Store atomically: a temporary file in the same folder, then os.replace. Failures only cost speed."""
        self._store(self._path(key), result)

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
            write_atomic(target, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), durable=False)
        except OSError:
            return  # a full disk or a vanished folder costs speed, never the scan


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
    try:
        return pickle.loads(path.read_bytes())
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


def grammar_versions() -> list[str]:
    """`name=version` of each grammar package, from its installed metadata."""
    return [f"{name}={_installed_version(name)}" for name in GRAMMAR_PACKAGES]


def _installed_version(name: str) -> str:
    """The version in the name of the package's `.dist-info` folder, looked for on sys.path as importlib.metadata
    does; that module and the email parser it loads cost 20 ms of every start-up. Falls back to it for any
    other layout (an egg, a zip), and says "?" when the package is not installed."""
    prefix = name.replace("-", "_").lower() + "-"
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            if entry.lower().startswith(prefix) and entry.endswith(".dist-info"):
                return entry[len(prefix):-len(".dist-info")]
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


__all__ = ["CACHE_DIR_NAME", "ResultCache", "cached_rules", "content_digest", "context_digest", "gc_paused",
           "load_known_queries", "save_known_queries"]
