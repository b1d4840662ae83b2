"""Stage 1: walk the given paths and return the source files worth scanning."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pathspec

from .config import Config
from .model import SourceFile
from .source_roles import SourceRoles
from .syntax import EXTENSIONS

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


def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    return bool(_TEST_FILE.search(parts[-1])) or any(p in TEST_DIRS for p in parts[:-1])


def discover_files(root: Path, config: Config, paths: list[Path] | None = None,
                   roles: SourceRoles | None = None) -> Discovery:
    """Source files under `paths` (default: root), sorted, honouring .gitignore and excludes.

    With `roles`, browser and vendored code is left out (and listed) unless the config includes it.
    """
    root = root.resolve()
    picker = _Picker(root, config, roles or SourceRoles())
    for start in paths or [root]:
        start = start.resolve()
        if start.is_file():
            picker.consider(start)
            continue
        if not start.is_dir():
            picker.skipped.append((str(start), "no such file or directory", "not-found"))
            continue
        for file in _walk(start, root, picker.skipped):
            picker.consider(file)
    found = picker.found
    return Discovery(tuple(found[k] for k in sorted(found)), tuple(picker.skipped), tuple(sorted(picker.excluded)))


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class _Picker:
    """Decides, file by file, what discovery keeps, skips (cannot read) or excludes (by policy)."""

    def __init__(self, root: Path, config: Config, roles: SourceRoles) -> None:
        self.root, self.config, self.roles = root, config, roles
        self.excludes = pathspec.GitIgnoreSpec.from_lines(config.exclude) if config.exclude else None
        self.found: dict[str, SourceFile] = {}
        self.skipped: list[tuple[str, str, str]] = []
        self.excluded: list[tuple[str, str]] = []

    def consider(self, path: Path) -> None:
        language = EXTENSIONS.get(path.suffix.lower())
        rel = _rel(path, self.root)
        if language is None or _GENERATED.search(path.name):
            return
        if self.excludes is not None and self.excludes.match_file(rel):
            return
        test = is_test_path(rel)
        if test and not self.config.include_tests:
            return
        role = self.roles.role_by_path(self.root, rel, language)
        if role is not None and not self.config.includes_role(role):
            self.excluded.append((rel, role))
            return
        problem = _unreadable_reason(path, self.config.max_file_bytes)
        if problem:
            self.skipped.append((rel, *problem))
            return
        self.found[rel] = SourceFile(path, rel, language, test)


def _unreadable_reason(path: Path, max_bytes: int) -> tuple[str, str] | None:
    """(message, reason code) when a source file is not worth or not able to be parsed."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return f"skipped: {size} bytes, over the {max_bytes}-byte limit (max_file_bytes)", "too-large"
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as err:
        return f"cannot read ({err.strerror})", "unreadable"
    first_line = head.split(b"\n", 1)[0]
    if len(first_line) >= _MINIFIED_LINE or (len(head) == 4096 and b"\n" not in head):
        return "skipped: looks minified or generated", "minified"
    return None


def _walk(start: Path, root: Path, skipped: list) -> list[Path]:
    """Iterative walk; each folder's .gitignore applies below it, as in git."""
    out: list[Path] = []
    stack: list[tuple[Path, list[tuple[Path, pathspec.GitIgnoreSpec]]]] = [(start, _inherited_ignores(start, root))]
    while stack:
        folder, ignores = stack.pop()
        ignores = ignores + _gitignore_of(folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            skipped.append((_rel(folder, root), f"cannot read folder ({err.strerror})", "unreadable"))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    if entry.name not in SKIPPED_DIRS and not _ignored(path, ignores, False):
                        _note_symlink(path, root, skipped)
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_dir and (entry.name in SKIPPED_DIRS or _ignored(path, ignores, True)):
                continue
            if is_dir:
                stack.append((path, ignores))
            elif is_file and not _ignored(path, ignores, False):
                out.append(path)
    return out


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


def _gitignore_of(folder: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
    gitignore = folder / ".gitignore"
    if not gitignore.is_file():
        return []
    try:
        lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [(folder, pathspec.GitIgnoreSpec.from_lines(lines))]


def _inherited_ignores(start: Path, root: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
    """.gitignore files of the folders between the scan root and a start path below it."""
    if start == root or root not in start.parents:
        return []
    chain = [p for p in reversed(start.parents) if p == root or root in p.parents]
    return [spec for folder in chain for spec in _gitignore_of(folder)]


def _ignored(path: Path, ignores: list[tuple[Path, pathspec.GitIgnoreSpec]], is_dir: bool) -> bool:
    """As git: the deepest .gitignore with a matching pattern decides, so `!pattern` can re-include."""
    verdict = False
    for base, spec in ignores:
        rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        include = spec.check_file(rel).include
        if include is not None:
            verdict = include
    return verdict
