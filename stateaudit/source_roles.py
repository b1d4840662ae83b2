"""Which files are the service's own server code, and which are browser or vendored code.

State in a theme's JavaScript lives in a visitor's browser tab, and a vendored library's caches
are the library's business: neither stops the service from running as many instances. The
vocabulary (folder names, manifest markers, browser globals) is policy and lives in
`rules/vocabulary/*.yaml`; this module only applies it. Path and manifest checks run during
discovery, before a file is read; the content check runs on the parsed tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .manifests import ManifestLookup, folder_of
from .syntax import ParsedFile, browser_global_uses

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PACKAGE_JSON = frozenset({"package.json"})

BROWSER = "browser"
VENDORED = "vendored"
EXCLUDED_REASONS = {
    BROWSER: "browser code (front-end assets, theme bundles, pages using window)",
    VENDORED: "vendored third-party code",
}

_LISTS = {
    BROWSER: ("folders", "languages", "manifest_fields", "front_end_packages", "server_packages", "globals",
              "document_members"),
    VENDORED: ("folders", "python_manifests", "javascript_manifests"),
}


class VocabularyError(ValueError):
    """A vocabulary file that cannot be used; the message starts with `path:line`."""


@dataclass(frozen=True)
class SourceRoles:
    """The vocabulary that tells browser and vendored code from the service's own."""

    browser_folders: frozenset[str] = frozenset()
    browser_languages: frozenset[str] = frozenset()
    manifest_fields: frozenset[str] = frozenset()
    front_end_packages: frozenset[str] = frozenset()
    server_packages: frozenset[str] = frozenset()
    browser_globals: frozenset[str] = frozenset()
    document_members: frozenset[str] = frozenset()
    vendored_folders: frozenset[str] = frozenset()
    python_manifests: frozenset[str] = frozenset()
    javascript_manifests: frozenset[str] = frozenset()

    def role_by_path(self, manifests: ManifestLookup, rel: str, language: str) -> str | None:
        """BROWSER or VENDORED when the file's folders or its package say so, else None.

        `manifests` knows which manifest files each folder holds (discovery's own listings).
        """
        folder = folder_of(rel)
        parts = folder.split("/")
        if any(part in self.vendored_folders for part in parts) or self._foreign(manifests, folder, language):
            return VENDORED
        if language not in self.browser_languages:
            return None
        if any(part in self.browser_folders for part in parts):
            return BROWSER
        nearest = manifests.nearest(folder, _PACKAGE_JSON)
        manifest = manifests.package_json(nearest) if nearest is not None else None
        if manifest is not None and self._is_browser_package(manifest):
            return BROWSER
        return None

    @property
    def manifest_names(self) -> frozenset[str]:
        """Every manifest file name the path checks look for."""
        return self.python_manifests | self.javascript_manifests | _PACKAGE_JSON

    def role_by_content(self, parsed: ParsedFile) -> str | None:
        """BROWSER for a script that uses browser globals and never checks `typeof window`."""
        if parsed.language not in self.browser_languages:
            return None
        if browser_global_uses(parsed, self.browser_globals, self.document_members):
            return BROWSER
        return None

    def _foreign(self, manifests: ManifestLookup, folder: str, language: str) -> bool:
        """A Python file whose nearest folder with a manifest declares JavaScript and no Python.

        Only this direction: a pyproject.toml often sits in a JavaScript repository just to configure
        tools (stateaudit among them), so it does not make the JavaScript beside it foreign.
        """
        if language != "python":
            return False
        names = self.python_manifests | self.javascript_manifests
        nearest = manifests.nearest(folder, names)
        present = manifests.present(nearest) & names if nearest is not None else frozenset()
        return bool(present & self.javascript_manifests) and not present & self.python_manifests

    def _is_browser_package(self, manifest: Mapping[str, Any]) -> bool:
        if any(key in manifest for key in self.manifest_fields):
            return True
        deps: set[str] = set()
        for section in ("dependencies", "devDependencies", "peerDependencies"):
            value = manifest.get(section)
            if isinstance(value, Mapping):
                deps.update(str(k) for k in value)
        return bool(deps & self.front_end_packages) and not deps & self.server_packages


def load_source_roles(dirs: Iterable[Path]) -> SourceRoles:
    """Merge every `vocabulary/*.yaml` of the rule folders; later folders add to the lists."""
    merged: dict[str, set[str]] = {f"{section}.{key}": set() for section, keys in _LISTS.items() for key in keys}
    for folder in dirs:
        vocab = folder / "vocabulary"
        for path in sorted(vocab.glob("*.y*ml")) if vocab.is_dir() else []:
            for name, values in _read_lists(path).items():
                merged[name].update(values)
    return SourceRoles(
        browser_folders=frozenset(merged["browser.folders"]),
        browser_languages=frozenset(merged["browser.languages"]),
        manifest_fields=frozenset(merged["browser.manifest_fields"]),
        front_end_packages=frozenset(merged["browser.front_end_packages"]),
        server_packages=frozenset(merged["browser.server_packages"]),
        browser_globals=frozenset(merged["browser.globals"]),
        document_members=frozenset(merged["browser.document_members"]),
        vendored_folders=frozenset(merged["vendored.folders"]),
        python_manifests=frozenset(merged["vendored.python_manifests"]),
        javascript_manifests=frozenset(merged["vendored.javascript_manifests"]),
    )


def _read_lists(path: Path) -> dict[str, list[str]]:
    """`section.key -> [names]` from one vocabulary file, checked against the known sections and keys."""
    try:
        loader = _SafeLoader(path.read_text(encoding="utf-8"))
        try:  # one parse: the node gives the lines, the same node the data
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError) as err:
        raise VocabularyError(f"{path}:1: cannot read ({err})") from None
    except yaml.YAMLError as err:
        line = err.problem_mark.line + 1 if getattr(err, "problem_mark", None) else 1
        raise VocabularyError(f"{path}:{line}: invalid YAML ({getattr(err, 'problem', err)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise VocabularyError(f"{path}:1: a vocabulary file maps sections ({', '.join(_LISTS)}) to lists")
    out: dict[str, list[str]] = {}
    for section, body in data.items():
        where = _line(node, section)
        if section not in _LISTS:
            raise VocabularyError(f"{path}:{where}: unknown section '{section}' (known: {', '.join(_LISTS)})")
        if not isinstance(body, dict):
            raise VocabularyError(f"{path}:{where}: '{section}' must map keys to lists of names")
        section_node = _value(node, section)
        for key, values in body.items():
            at = _line(section_node, key)
            if key not in _LISTS[section]:
                raise VocabularyError(f"{path}:{at}: unknown key '{section}.{key}' "
                                      f"(known: {', '.join(_LISTS[section])})")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise VocabularyError(f"{path}:{at}: '{section}.{key}' must be a list of names")
            out[f"{section}.{key}"] = values
    return out


def _line(node: yaml.Node | None, key: str) -> int:
    """The 1-based line of `key` in a YAML mapping node (1 when it cannot be found)."""
    if isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            if key_node.value == key:
                return key_node.start_mark.line + 1
    return 1


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if key_node.value == key:
                return value
    return None


__all__ = ["BROWSER", "EXCLUDED_REASONS", "SourceRoles", "VENDORED", "VocabularyError", "load_source_roles"]
