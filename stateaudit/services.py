"""Stage 2: find the services (package roots) and the dependencies each declares."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .manifests import ManifestLookup, folder_of, folders_up, toml_parser
from .model import Service, SourceFile

MANIFESTS = ("package.json", "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt")
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class ServiceMap:
    services: tuple[Service, ...]  # sorted by name
    _by_path: dict[str, Service]
    _by_folder: dict[str, Service] = field(default_factory=dict, compare=False, repr=False)  # memo per folder

    def owner_of(self, rel: str) -> Service:
        """The service whose folder is the nearest ancestor of `rel` (remembered per folder)."""
        folder = folder_of(rel)
        owner = self._by_folder.get(folder)
        if owner is None:
            owner = self._by_folder[folder] = self._nearest(folder)
        return owner

    def _nearest(self, folder: str) -> Service:
        """The service of the nearest folder at or above `folder` holding one; an ancestor already answered
        for ends the climb (a tree's folders then cost one step each, not their depth)."""
        if folder.startswith("/"):
            return next((self._by_path[key] for key in _folders_up(folder) if key in self._by_path),
                        self._by_path["."])
        key = folder
        while key not in self._by_path:
            known = self._by_folder.get(key)
            if known is not None:
                return known
            if key in (".", ""):
                return self._by_path["."]
            key = key.rpartition("/")[0] or "."
        return self._by_path[key]


def detect_services(root: Path, files: list[SourceFile], extra_roots: tuple[Path, ...] = (),
                    manifests: ManifestLookup | None = None) -> ServiceMap:
    """The services of `files`: their nearest folders with a manifest, and the root.

    `manifests` (discovery's) says which folders hold a manifest without asking the file system again.
    """
    root = root.resolve()
    manifests = manifests or ManifestLookup(root, MANIFESTS)
    names = frozenset(MANIFESTS)
    folders = {"."}
    checked: set[str] = set()  # a folder looked at once had its ancestors looked at too
    for folder in dict.fromkeys(folder_of(file.rel) for file in files):  # each folder once, in file order
        if folder in checked:
            continue
        for key in _folders_up(folder):
            if key in folders or key in checked:
                break
            checked.add(key)
            if manifests.present(key) & names:
                folders.add(key)
    for extra in extra_roots:
        try:
            folders.add(extra.resolve().relative_to(root).as_posix() or ".")
        except ValueError:
            continue
    by_path = {key: _read_service(root, key, manifests.present(key)) for key in folders}
    languages: dict[str, set[str]] = {key: set() for key in folders}
    provisional = ServiceMap((), by_path)
    for file in files:
        owner = provisional.owner_of(file.rel)
        languages[owner.path].add("python" if file.language == "python" else "typescript")
    by_path = {
        key: Service(s.name, s.path, s.manifest, s.dependencies, tuple(sorted(languages[key])))
        for key, s in by_path.items()
    }
    used = {k: s for k, s in by_path.items() if s.languages or k == "."}
    ordered = tuple(sorted(used.values(), key=lambda s: (s.name, s.path)))
    return ServiceMap(ordered, by_path)


def _folders_up(folder: str) -> list[str]:
    """As `PurePosixPath(folder)` and its parents: plain string work for relative paths, which is all of them
    but a file given outside the scan root."""
    if folder.startswith("/"):
        path = PurePosixPath(folder)
        return [p.as_posix() for p in [path, *path.parents]]
    return folders_up(folder)


def _manifest(present: frozenset[str]) -> str | None:
    for name in MANIFESTS:
        if name in present:
            return name
    return None


def _read_service(root: Path, key: str, present: frozenset[str]) -> Service:
    """The service of the folder `key`; `present`: the manifest files it holds (ManifestLookup.present)."""
    folder = root if key == "." else root / key
    manifest = _manifest(present)
    name = folder.name if key != "." else root.name
    deps: set[str] = set()
    if "package.json" in present:
        pkg = _read_json(folder / "package.json")
        if isinstance(pkg.get("name"), str) and pkg["name"]:
            name = pkg["name"].split("/")[-1]
        for section in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
            if isinstance(pkg.get(section), dict):
                deps.update(pkg[section])
    if "pyproject.toml" in present:
        name_from_py, py_deps = _read_pyproject(folder / "pyproject.toml")
        if manifest == "pyproject.toml" and name_from_py:
            name = name_from_py
        deps.update(py_deps)
    if "requirements.txt" in present:
        deps.update(_requirement_names(_read_text(folder / "requirements.txt").splitlines()))
    if "setup.cfg" in present:
        deps.update(_read_setup_cfg(folder / "setup.cfg"))
    if "setup.py" in present:
        deps.update(re.findall(r"['\"]([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:[<>=!~][^'\"]*)?['\"]", _setup_requires(folder / "setup.py")))
    return Service(name, key, manifest, frozenset(d.lower() for d in deps))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(_read_text(path) or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _requirement_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _REQ_NAME.match(line)
        if match:
            names.add(match.group(1))
    return names


def _read_pyproject(path: Path) -> tuple[str | None, set[str]]:
    tomllib = toml_parser()
    try:
        data = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError:
        return None, set()
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    deps = _requirement_names([str(d) for d in project.get("dependencies", []) or []])
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    if isinstance(poetry.get("dependencies"), dict):
        deps.update(k for k in poetry["dependencies"] if k != "python")
    name = project.get("name") or poetry.get("name")
    return (str(name) if name else None), deps


def _read_setup_cfg(path: Path) -> set[str]:
    import configparser  # here: few services have a setup.cfg, and it costs every scan's start-up

    parser = configparser.ConfigParser()
    try:
        parser.read_string(_read_text(path))
    except configparser.Error:
        return set()
    return _requirement_names(parser.get("options", "install_requires", fallback="").splitlines())


def _setup_requires(path: Path) -> str:
    text = _read_text(path)
    match = re.search(r"install_requires\s*=\s*\[(.*?)\]", text, re.S)
    return match.group(1) if match else ""
