"""Which manifest files (package.json, pyproject.toml ...) each folder of the scan holds, asked once per folder.

Services are the nearest folders with a manifest, and the browser and vendored checks look for the nearest
package.json above each file. Asking the file system for every name in every ancestor of every file cost
tens of thousands of `stat` calls on a large monorepo; discovery already lists each folder it walks, so it
hands those listings in here and only folders it did not list (those above a scanned subfolder, or of a
file named on the command line) are asked of the file system, once each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any


class ManifestLookup:
    """Manifest names present per folder (POSIX path relative to the scan root, "." for the root)."""

    def __init__(self, root: Path, names: Iterable[str]) -> None:
        self.root = root
        self.names = frozenset(names)
        self._present: dict[str, frozenset[str]] = {}
        self._listed: dict[str, frozenset[str]] = {}  # what discovery's listings said, apart from file system asks
        self._json: dict[str, Mapping[str, Any] | None] = {}
        self._nearest: dict[tuple[str, frozenset[str]], str | None] = {}
        self._verdicts: dict[tuple[str, Callable[[Mapping[str, Any]], bool]], bool] = {}

    def note_listing(self, folder: str, files: Iterable[str]) -> None:
        """The names of the (non-folder) entries discovery found in `folder`; symlinks to files count, as
        `Path.is_file` would count them."""
        self._present[folder] = self._listed[folder] = self.names.intersection(files)

    def listings(self) -> dict[str, frozenset[str]]:
        """What the listings said, per folder: a replayed walk (walkmemory) hands it back to `restore`."""
        return dict(self._listed)

    def restore(self, listings: dict[str, frozenset[str]]) -> None:
        """The listings of a walk that is not done again because nothing it listed changed."""
        for folder, names in listings.items():
            self._present[folder] = self._listed[folder] = frozenset(names)

    def present(self, folder: str) -> frozenset[str]:
        """The manifest names `folder` holds."""
        known = self._present.get(folder)
        if known is None:
            base = self.root if folder == "." else self.root / folder
            known = self._present[folder] = frozenset(n for n in self.names if (base / n).is_file())
        return known

    def nearest(self, folder: str, wanted: frozenset[str]) -> str | None:
        """The nearest folder at or above `folder`, up to the root, holding any of `wanted`; None if none.

        Remembered for every folder on the way up, so the files of a tree's folders walk each folder once.
        """
        visited = []
        found = None
        for candidate in folders_up(folder):
            key = (candidate, wanted)
            if key in self._nearest:
                found = self._nearest[key]
                break
            visited.append(key)
            if self.present(candidate) & wanted:
                found = candidate
                break
        for key in visited:
            self._nearest[key] = found
        return found

    def package_json(self, folder: str) -> Mapping[str, Any] | None:
        """The parsed package.json of `folder` (one that holds one), read once; None when unreadable."""
        if folder not in self._json:
            path = os.path.join(self.root, folder, "package.json") if folder != "." \
                else os.path.join(self.root, "package.json")
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    data = json.loads(handle.read() or "{}")
            except (OSError, ValueError):
                data = None
            self._json[folder] = data if isinstance(data, dict) else None
        return self._json[folder]

    def package_says(self, folder: str, verdict: Callable[[Mapping[str, Any]], bool]) -> bool:
        """`verdict` of `folder`'s package.json (False when it has none or it cannot be read), asked once per
        folder: every folder below a package asks about the same package.json."""
        key = (folder, verdict)
        if key not in self._verdicts:
            manifest = self.package_json(folder)
            self._verdicts[key] = manifest is not None and verdict(manifest)
        return self._verdicts[key]


def toml_parser():
    """The TOML parser module (tomllib; tomli before Python 3.11), imported when a pyproject.toml is read:
    most scans read none, and a warm scan is mostly start-up."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def folders_up(folder: str) -> list[str]:
    """`folder`, then each folder above it, ending with the root ".": `a/b` -> [`a/b`, `a`, `.`]."""
    out = []
    while folder not in (".", ""):
        out.append(folder)
        folder = folder.rpartition("/")[0]
    out.append(".")
    return out


def folder_of(rel: str) -> str:
    """The folder of a file's POSIX path relative to the root; "." for a file at the root."""
    return rel.rpartition("/")[0] or "."


__all__ = ["ManifestLookup", "folder_of", "folders_up", "toml_parser"]
