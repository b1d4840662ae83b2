"""Stage 1: walk the given paths and return the source files worth scanning."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import content_digest
from .config import Config
from .manifests import ManifestLookup
from .model import SourceFile
from .services import MANIFESTS
from .source_roles import SourceRoles
from .syntax import EXTENSIONS
from .walkmemory import WalkMemory, WalkRecord

# pathspec is imported where .gitignore patterns are compiled: a rescan of an unchanged tree replays the
# last walk (walkmemory) and never needs it.
if TYPE_CHECKING:
    import pathspec

SKIPPED_DIRS = frozenset({
    "node_modules", "dist", "build", "coverage", ".git", ".hg", ".svn", "__pycache__",
    ".venv", "venv", "env", ".env", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".next", ".nuxt", ".turbo", ".cache", "site-packages", "bower_components", ".yarn",
    ".stateaudit-cache",  # our own per-file results (cache.CACHE_DIR_NAME)
})
TEST_DIRS = frozenset({"test", "tests", "__tests__", "__mocks__", "spec", "e2e", "testing"})
_TEST_FILE = re.compile(r"(\.(test|spec|e2e-spec)\.[cm]?[jt]sx?$)|(^test_.*\.py$)|(_test\.py$)|(^conftest\.py$)")
_GENERATED = re.compile(r"(\.d\.[cm]?ts$)|(\.min\.[cm]?js$)|([.-]bundle\.[cm]?js$)|(\.chunk\.js$)")
_MINIFIED_LINE = 3000  # a first line this long means a bundle, not source


@dataclass(frozen=True)
class Discovery:
    files: tuple[SourceFile, ...]
    skipped: tuple[tuple[str, str, str], ...]  # (path, one-line message, reason code) for what we could not take
    excluded: tuple[tuple[str, str], ...] = ()  # (path, role) for browser or vendored code left out by policy
    manifests: ManifestLookup | None = None  # which manifest files each folder holds, from the walk's listings
    digests: dict[str, str] | None = None  # rel -> content hash (cache.content_digest) of the files found
    read: tuple[str, ...] | None = None  # with a WalkMemory, the files read and hashed (the others' status was as
    # recorded); None without one (every file was read)


def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    return bool(_TEST_FILE.search(parts[-1])) or any(p in TEST_DIRS for p in parts[:-1])


def discover_files(root: Path, config: Config, paths: list[Path] | None = None,
                   roles: SourceRoles | None = None, memory: WalkMemory | None = None) -> Discovery:
    """Source files under `paths` (default: root), sorted, honouring .gitignore and excludes.

    With `roles`, browser and vendored code is left out (and listed) unless the config includes it.
    Paths are handled as strings: a Path object per folder entry cost more than the walk itself.
    With `memory` (walkmemory), a tree whose folders, .gitignore and manifest files are as the last walk
    found them is not walked again, and files as they were are not read again; `memory.now` is then the
    record to keep for the next scan.
    """
    root = root.resolve()
    roles = roles or SourceRoles()
    manifests = ManifestLookup(root, MANIFESTS + tuple(roles.manifest_names))
    picker = _Picker(root, config, roles, manifests, memory)
    last = memory.still_valid() if memory is not None else None
    if last is not None:
        _replay(last, root, picker, memory)
    else:
        _walk_paths(root, paths, picker, manifests)
    found = picker.found
    if memory is not None:
        memory.now.excluded = list(picker.excluded)
        memory.now.listings = manifests.listings()
    return Discovery(tuple(found[k] for k in sorted(found)), tuple(picker.skipped), tuple(sorted(picker.excluded)),
                     manifests, picker.digests, tuple(memory.read) if memory is not None else None)


def _walk_paths(root: Path, paths: list[Path] | None, picker: _Picker, manifests: ManifestLookup) -> None:
    for start in paths or [root]:
        start = start.resolve()
        if start.is_file():
            picker.consider(str(start), _rel(start, root))
            continue
        if not start.is_dir():
            picker.skipped.append((str(start), "no such file or directory", "not-found"))
            continue
        _walk(start, root, picker, manifests)


def _replay(last: WalkRecord, root: Path, picker: _Picker, memory: WalkMemory) -> None:
    """The last walk's outcome, its files' read checks taken again (from their status where it is as it was)."""
    memory.now = WalkRecord(folders=last.folders, watched=last.watched, kept=last.kept, listings=last.listings)
    picker.manifests.restore(last.listings)
    picker.excluded = list(last.excluded)
    base = str(root)
    for rel, language, test in last.kept:
        picker.take(os.path.join(base, rel), rel, language, test)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class _Picker:
    """Decides, file by file, what discovery keeps, skips (cannot read) or excludes (by policy)."""

    def __init__(self, root: Path, config: Config, roles: SourceRoles, manifests: ManifestLookup,
                 memory: WalkMemory | None = None) -> None:
        self.root, self.config, self.roles, self.manifests, self.memory = root, config, roles, manifests, memory
        self.excludes = _spec(config.exclude) if config.exclude else None
        self.found: dict[str, SourceFile] = {}
        self.skipped: list[tuple[str, str, str]] = []
        self.excluded: list[tuple[str, str]] = []
        self._roles: dict[tuple[str, str], str | None] = {}  # (folder, language) -> role by path
        self.digests: dict[str, str] = {}  # rel -> content hash of the bytes read

    def _role(self, rel: str, language: str) -> str | None:
        """The file's role by its path: the same for every file of a folder and language, so asked once."""
        key = (rel.rpartition("/")[0], language)
        if key not in self._roles:
            self._roles[key] = self.roles.role_by_path(self.manifests, rel, language)
        return self._roles[key]

    def wanted(self, rel: str) -> tuple[str, bool] | None:
        """(language, is a test) when the checks by name alone (language, generated, excludes, tests) keep the
        file, else None; cheap enough to run before the .gitignore patterns, which cost most of a walk."""
        name = rel.rpartition("/")[2]
        language = EXTENSIONS.get(os.path.splitext(name)[1].lower())
        if language is None or _GENERATED.search(name):
            return None
        if self.excludes is not None and self.excludes.match_file(rel):
            return None
        test = is_test_path(rel)
        return None if test and not self.config.include_tests else (language, test)

    def consider(self, path: str, rel: str, wanted: tuple[str, bool] | None = None) -> None:
        """`path` as the file system takes it, `rel` its POSIX path relative to the root; `wanted`, what
        `wanted(rel)` said if it was asked already."""
        wanted = wanted or self.wanted(rel)
        if wanted is None:
            return
        language, test = wanted
        role = self._role(rel, language)
        if role is not None and not self.config.includes_role(role):
            self.excluded.append((rel, role))
            return
        if self.memory is not None:
            self.memory.now.kept.append((rel, language, test))
        self.take(path, rel, language, test)

    def take(self, path: str, rel: str, language: str, test: bool) -> None:
        """Read-check a file that the checks by name and role keep: found, or skipped with the reason."""
        max_bytes = self.config.max_file_bytes
        if self.memory is None:
            problem, digest = _read_check(path, max_bytes)
        else:
            problem, digest = self.memory.read_check(path, rel, lambda status: _read_check(path, max_bytes, status))
        if problem:
            self.skipped.append((rel, *problem))
            return
        self.found[rel] = SourceFile(path, rel, language, test)
        self.digests[rel] = digest


def _read_check(path: str, max_bytes: int, status: os.stat_result | None = None) -> tuple[tuple[str, str] | None, str]:
    """(message, reason code) when a source file is not worth or not able to be parsed, else None; and the
    hash of its content (cache.content_digest), taken while the file is open anyway: the cache's look-up
    then needs no second read. `status`: the file's os.stat, when the caller took it already."""
    try:
        size = (status or os.stat(path)).st_size
        if size > max_bytes:
            return (f"skipped: {size} bytes, over the {max_bytes}-byte limit (max_file_bytes)", "too-large"), ""
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as err:
        return (f"cannot read ({err.strerror})", "unreadable"), ""
    head = data[:4096]
    first_line = head.split(b"\n", 1)[0]
    if len(first_line) >= _MINIFIED_LINE or (len(head) == 4096 and b"\n" not in head):
        return ("skipped: looks minified or generated", "minified"), ""
    return None, content_digest(data)


# A .gitignore's folder (as a string ending in the separator) and its patterns.
_Ignores = list[tuple[str, "pathspec.GitIgnoreSpec"]]


def _walk(start: Path, root: Path, picker: _Picker, manifests: ManifestLookup) -> None:
    """Iterative walk handing each file to `picker`; each folder's .gitignore applies below it, as in git.

    Each folder's listing also tells `manifests` which manifest files it holds.
    """
    stack: list[tuple[str, str, _Ignores]] = [(str(start), _rel(start, root), _inherited_ignores(start, root))]
    memory = picker.memory
    while stack:
        folder, folder_rel, ignores = stack.pop()
        if memory is not None:
            memory.folder(folder)  # its status before its listing: a later change shows in the next status
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            picker.skipped.append((folder_rel, f"cannot read folder ({err.strerror})", "unreadable"))
            if memory is not None:
                memory.give_up_replay()
            continue
        if memory is not None:
            _watch_read_files(memory, folder, entries, manifests)
        ignores = ignores + _gitignore_of(folder, entries)
        prefix = "" if folder_rel == "." else folder_rel + "/"
        files: list[str] = []  # every file's name, for the manifest look-ups
        kept: list[tuple[str, str, tuple[str, bool]]] = []  # (path, rel, what wanted() said) of files kept
        for entry in entries:
            path = entry.path
            try:
                if entry.is_symlink():
                    if memory is not None:
                        memory.give_up_replay()  # what a link points at has no status of its own here
                    if entry.name in manifests.names and os.path.isfile(path):
                        files.append(entry.name)  # a manifest may be a link, as Path.is_file() sees it
                    if entry.name not in SKIPPED_DIRS and not _ignored(path, ignores, False):
                        _note_symlink(Path(path), root, picker.skipped)
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_file:
                files.append(entry.name)
            if is_dir and (entry.name in SKIPPED_DIRS or _ignored(path, ignores, True)):
                continue
            if is_dir:
                stack.append((path, prefix + entry.name, ignores))
            elif is_file and (wanted := picker.wanted(prefix + entry.name)) \
                    and not _ignored(path, ignores, False):
                kept.append((path, prefix + entry.name, wanted))
        manifests.note_listing(folder_rel, files)  # before the files, whose checks look here first
        for path, rel, wanted in kept:
            picker.consider(path, rel, wanted)


def _watch_read_files(memory: WalkMemory, folder: str, entries: list[os.DirEntry],
                      manifests: ManifestLookup) -> None:
    """Take the status of the folder's .gitignore and manifest files before anything reads them."""
    for entry in entries:
        if entry.name == ".gitignore" or entry.name in manifests.names:
            memory.watch(entry.path)


def _note_symlink(path: Path, root: Path, skipped: list) -> None:
    """Symlinks are never followed. One into the scan root points at files scanned in their own place;
    a broken or looping one, or one out of the root (a folder, or a source file), is listed as skipped."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        skipped.append((_rel(path, root), "broken or looping symlink, not followed", "symlink"))
        return
    if target == root or root in target.parents:
        return
    if target.is_dir() or target.suffix.lower() in EXTENSIONS:
        skipped.append((_rel(path, root), "symlink out of the scan root, not followed", "symlink"))


def _gitignore_of(folder: str, entries: list[os.DirEntry] | None = None) -> _Ignores:
    """The folder's .gitignore patterns; `entries`, the folder's listing when known, spares a stat."""
    if entries is not None and not any(e.name == ".gitignore" for e in entries):
        return []
    gitignore = os.path.join(folder, ".gitignore")
    if not os.path.isfile(gitignore):
        return []
    try:
        with open(gitignore, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    return [(os.path.join(folder, ""), _spec(lines))]


def _spec(lines):
    """Gitignore-style patterns, compiled (pathspec is imported on first use)."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _inherited_ignores(start: Path, root: Path) -> _Ignores:
    """.gitignore files of the folders between the scan root and a start path below it."""
    if start == root or root not in start.parents:
        return []
    chain = [p for p in reversed(start.parents) if p == root or root in p.parents]
    return [spec for folder in chain for spec in _gitignore_of(str(folder))]


def _ignored(path: str, ignores: _Ignores, is_dir: bool) -> bool:
    """As git: the deepest .gitignore with a matching pattern decides, so `!pattern` can re-include."""
    verdict = False
    for base, spec in ignores:
        rel = path[len(base):]
        if os.sep != "/":
            rel = rel.replace(os.sep, "/")
        include = spec.check_file(rel + "/" if is_dir else rel).include
        if include is not None:
            verdict = include
    return verdict
