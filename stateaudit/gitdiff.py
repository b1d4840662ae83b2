"""`--diff-base REF`: which lines were added or changed since REF, asked of git itself.

The working tree is compared with REF (`git diff --unified=0 REF`, so staged and unstaged edits both
count), and files git does not track yet but does not ignore (`git ls-files --others
--exclude-standard`) count as changed in full. The scan itself still reads the whole service, so
cross-file facts (lifetimes, clients, sibling risks) are as without the flag; only the findings
reported are narrowed to those whose code, or one of whose write sites, is on a changed line.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .model import Finding

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
WHOLE_FILE = None  # marks an untracked file: every line is new


class GitDiffError(Exception):
    """git is missing, the folder is not in a repository, or the ref does not name a commit."""


def _git(cwd: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=cwd, capture_output=True,
                                text=True, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise GitDiffError("--diff-base needs git on PATH") from None
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
        raise GitDiffError(f"git {args[0]} failed: {message}")
    return result.stdout


@dataclass(frozen=True)
class ChangedLines:
    """Lines added or changed since a ref, by path relative to the scan root; WHOLE_FILE for new files."""

    ref: str
    files: dict[str, frozenset[int] | None]

    def touches(self, path: str, line: int, end_line: int | None = None) -> bool:
        if path not in self.files:
            return False
        lines = self.files[path]
        return lines is WHOLE_FILE or any(n in lines for n in range(line, (end_line or line) + 1))

    def covers(self, f: Finding) -> bool:
        """The finding's own lines changed, or one of its write sites (`path:line`) did."""
        if self.touches(f.location.path, f.location.line, f.location.end_line):
            return True
        for site in f.write_sites:
            path, _, line = site.rpartition(":")
            if line.isdigit() and self.touches(path, int(line)):
                return True
        return False


def parse_diff(text: str) -> dict[str, set[int]]:
    """Added line numbers per new-side path of a `git diff --unified=0` patch (paths as git prints them)."""
    changed: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip().strip('"')
            current = None if target == "/dev/null" else changed.setdefault(target[2:], set())
            continue
        hunk = HUNK.match(line)
        if hunk and current is not None:
            start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
            current.update(range(start, start + count))
    return changed


def changed_lines(root: Path, ref: str) -> ChangedLines:
    """What changed under `root` since `ref`, in git's own words, with paths relative to `root`."""
    folder = root if root.is_dir() else root.parent
    top = Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitDiffError:
        raise GitDiffError(f"--diff-base {ref}: not a commit in {top} (fetch it first, e.g. "
                           f"`git fetch origin {ref}`)") from None
    patch = _git(top, "diff", "--unified=0", "--no-color", "--no-ext-diff", "--find-renames", ref, "--")
    untracked = _git(top, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
    prefix = PurePosixPath(folder.resolve().relative_to(top.resolve()).as_posix())
    files: dict[str, frozenset[int] | None] = {}
    for path, lines in parse_diff(patch).items():
        rel = _under(prefix, path)
        if rel is not None and lines:
            files[rel] = frozenset(lines)
    for path in filter(None, untracked):
        rel = _under(prefix, path)
        if rel is not None:
            files[rel] = WHOLE_FILE
    return ChangedLines(ref, files)


def _under(prefix: PurePosixPath, path: str) -> str | None:
    """A repository path relative to the scan root, or None when it lies outside it."""
    if str(prefix) in ("", "."):
        return path
    try:
        return PurePosixPath(path).relative_to(prefix).as_posix()
    except ValueError:
        return None
