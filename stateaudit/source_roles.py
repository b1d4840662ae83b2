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

from .manifests import ManifestLookup, folder_of
from .syntax import ParsedFile, browser_global_uses
from .vocabulary import Vocabulary, VocabularyError, load_vocabulary

_PACKAGE_JSON = frozenset({"package.json"})

BROWSER = "browser"
VENDORED = "vendored"
EXCLUDED_REASONS = {
    BROWSER: "browser code (front-end assets, theme bundles, pages using window)",
    VENDORED: "vendored third-party code",
}

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
        if nearest is not None and manifests.package_says(nearest, self._is_browser_package):
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
    return source_roles_of(load_vocabulary(dirs))


def source_roles_of(vocabulary: Vocabulary) -> SourceRoles:
    """The browser and vendored markers of a merged vocabulary."""
    return SourceRoles(
        browser_folders=vocabulary.names("browser.folders"),
        browser_languages=vocabulary.names("browser.languages"),
        manifest_fields=vocabulary.names("browser.manifest_fields"),
        front_end_packages=vocabulary.names("browser.front_end_packages"),
        server_packages=vocabulary.names("browser.server_packages"),
        browser_globals=vocabulary.names("browser.globals"),
        document_members=vocabulary.names("browser.document_members"),
        vendored_folders=vocabulary.names("vendored.folders"),
        python_manifests=vocabulary.names("vendored.python_manifests"),
        javascript_manifests=vocabulary.names("vendored.javascript_manifests"),
    )


__all__ = ["BROWSER", "EXCLUDED_REASONS", "SourceRoles", "VENDORED", "VocabularyError", "load_source_roles",
           "source_roles_of"]
