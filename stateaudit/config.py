"""Load `.stateaudit.yml` (or `[tool.stateaudit]` in pyproject.toml); DEFAULTS doubles as the schema."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import write_atomic
from .manifests import toml_parser
from .model import CONFIDENCES, Risk
from .resources import templates_dir

# PyYAML and the TOML parser are imported where a config file is read: most scans have none (each costs
# start-up time, and a warm scan is mostly start-up).
if TYPE_CHECKING:
    from .ruleset import RuleSet

CONFIG_NAMES = (".stateaudit.yml", ".stateaudit.yaml")
STARTER_TEMPLATE = "starter.stateaudit.yml"
_PYPROJECT_TABLE = re.compile(r"^\s*\[tool\.stateaudit[\].]", re.M)

MAX_FILE_BYTES = 2_000_000  # larger source files are skipped with a notice (generated code, data dumps)

DEFAULTS: dict[str, Any] = {
    "fail_on": "CRITICAL",  # CRITICAL|HIGH|MEDIUM|LOW|none
    "exclude": [],  # gitignore-style globs, relative to the scan root
    "include_tests": False,
    "include_browser": False,  # also scan front-end code (static/, assets/, themes, files using window)
    "include_vendored": False,  # also scan vendored third-party folders (vendor/, third_party/)
    "service_roots": [],  # folders (relative to the config file) that are services
    "rules": [],  # extra rule directories (relative to the config file)
    "disable": [],  # rule ids to switch off
    "risk_overrides": {},  # rule id -> risk
    "category_risk": {},  # category -> risk, e.g. {metrics: LOW}
    "min_confidence": "low",  # hide findings below this confidence
    "unsuppressible": [],  # risks inline comments may not suppress, e.g. [CRITICAL]
    "baseline": "",  # the baseline file whose findings are accepted (relative to the config file)
    "max_file_bytes": MAX_FILE_BYTES,  # larger files are skipped and listed as too-large
    "file_budget": 2.0,  # CPU seconds one file may take before it is cut short and reported; 0: no limit
}


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class Config:
    fail_on: Risk | None = Risk.CRITICAL
    exclude: tuple[str, ...] = ()
    include_tests: bool = False
    include_browser: bool = False
    include_vendored: bool = False
    service_roots: tuple[Path, ...] = ()
    rule_dirs: tuple[Path, ...] = ()
    disable: frozenset[str] = frozenset()
    risk_overrides: dict[str, Risk] = field(default_factory=dict)
    category_risk: dict[str, Risk] = field(default_factory=dict)
    min_confidence: str = "low"
    baseline: Path | None = None
    unsuppressible: frozenset[Risk] = frozenset()
    max_file_bytes: int = MAX_FILE_BYTES
    file_budget: float = 2.0  # CPU seconds per file (bounds.DEFAULT_FILE_BUDGET_S); 0 for no limit
    source: Path | None = None  # the file this came from, if any

    def includes_role(self, role: str) -> bool:
        """Whether browser or vendored code (a source_roles role) is scanned."""
        return {"browser": self.include_browser, "vendored": self.include_vendored}.get(role, True)

    def merged(self, **overrides: Any) -> Config:
        """CLI flags win over the file; None means 'not given'."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def parse_fail_on(value: str) -> Risk | None:
    if str(value).lower() == "none":
        return None
    try:
        return Risk.parse(str(value))
    except KeyError:
        raise ConfigError(f"fail_on must be one of CRITICAL, HIGH, MEDIUM, LOW, none (got {value!r})") from None


def find_config(root: Path) -> Path | None:
    base = root if root.is_dir() else root.parent
    for name in CONFIG_NAMES:
        if (base / name).is_file():
            return base / name
    pyproject = base / "pyproject.toml"
    try:
        if pyproject.is_file() and _PYPROJECT_TABLE.search(pyproject.read_text(encoding="utf-8", errors="replace")):
            return pyproject
    except OSError as err:
        raise ConfigError(f"{pyproject}:1: cannot read ({err.strerror})") from None
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    raw = _read_raw(path)
    return _build(raw, path)


_TOML_LINE = re.compile(r"at line (\d+)")


def _read_raw(path: Path) -> dict[str, Any]:
    """The settings of a config file; every problem is a ConfigError `path:line: message`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}:1: cannot read config ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}:1: cannot read config (not UTF-8: byte {err.start})") from None
    if path.name == "pyproject.toml":
        tomllib = toml_parser()
        try:
            tool = tomllib.loads(text).get("tool", {})
        except tomllib.TOMLDecodeError as err:
            found = _TOML_LINE.search(str(err))
            raise ConfigError(f"{path}:{found.group(1) if found else 1}: invalid TOML ({err})") from None
        data = tool.get("stateaudit", {}) if isinstance(tool, dict) else None
    else:
        data = _load_yaml(path, text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _load_yaml(path: Path, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConfigError(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML "
                          f"({getattr(err, 'problem', None) or err})") from None
    except RecursionError:  # PyYAML composes recursively
        raise ConfigError(f"{path}:1: invalid YAML (nested too deeply)") from None


def _build(raw: dict[str, Any], path: Path) -> Config:
    for key, value in raw.items():
        if key not in DEFAULTS:
            hint = difflib.get_close_matches(key, DEFAULTS, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            raise ConfigError(f"{_where(path, key)}: unknown setting '{key}'{suggestion}")
        expected = type(DEFAULTS[key])
        accepted = (int, float) if expected is float else expected
        if not isinstance(value, accepted) or (isinstance(value, bool) and expected is not bool):
            raise ConfigError(f"{_where(path, key)}: '{key}' must be {_KIND_NAMES[expected]}, "
                              f"got {_KIND_NAMES.get(type(value), type(value).__name__)}")
        if expected is list and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{_where(path, key)}: '{key}' must be a list of strings")
    base = path.parent
    try:
        return Config(
            fail_on=parse_fail_on(raw.get("fail_on", DEFAULTS["fail_on"])),
            exclude=tuple(str(x) for x in raw.get("exclude", [])),
            include_tests=bool(raw.get("include_tests", False)),
            include_browser=bool(raw.get("include_browser", False)),
            include_vendored=bool(raw.get("include_vendored", False)),
            service_roots=tuple((base / str(p)).resolve() for p in raw.get("service_roots", [])),
            rule_dirs=_rule_dirs(path, raw.get("rules", [])),
            disable=frozenset(str(x) for x in raw.get("disable", [])),
            risk_overrides={str(k): _risk(path, "risk_overrides", k, v) for k, v in raw.get("risk_overrides", {}).items()},
            category_risk={str(k): _risk(path, "category_risk", k, v) for k, v in raw.get("category_risk", {}).items()},
            min_confidence=_confidence(path, raw.get("min_confidence", "low")),
            baseline=(base / str(raw["baseline"])).resolve() if raw.get("baseline") else None,
            unsuppressible=frozenset(_risk(path, "unsuppressible", v, v) for v in raw.get("unsuppressible", [])),
            max_file_bytes=_positive(path, "max_file_bytes", raw.get("max_file_bytes", MAX_FILE_BYTES)),
            file_budget=_budget(path, raw.get("file_budget", DEFAULTS["file_budget"])),
            source=path,
        )
    except ConfigError as err:
        message = str(err)  # parse_fail_on does not know the file; name it here
        raise ConfigError(message if message.startswith(str(path)) else f"{_where(path, 'fail_on')}: {message}") from None


_KIND_NAMES = {str: "a string", list: "a list", dict: "a mapping", bool: "true or false", int: "a number",
               float: "a number", type(None): "empty"}


def _where(path: Path, key: str) -> str:
    """`path:line` of a setting in a config file (line 1 when it cannot be found)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"{path}:1"
    if path.name == "pyproject.toml":
        return f"{path}:{_toml_line(text, key)}"
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return f"{path}:1"
    for k, _ in getattr(node, "value", []) if isinstance(node, yaml.MappingNode) else []:
        if str(getattr(k, "value", "")).replace("-", "_") == key:
            return f"{path}:{k.start_mark.line + 1}"
    return f"{path}:1"


def _toml_line(text: str, key: str) -> int:
    """The line of `key = ...` (dashes or underscores) after the [tool.stateaudit] header, else that header's."""
    header = _PYPROJECT_TABLE.search(text)
    if header is None:
        return 1
    start = text.count("\n", 0, header.start()) + 1
    pattern = re.compile(rf"^\s*{re.escape(key).replace('_', '[-_]')}\s*=")
    for number, line in enumerate(text.splitlines()[start - 1:], start):
        if pattern.match(line):
            return number
    return start


def check_against_rules(config: Config, ruleset: RuleSet) -> None:
    """Rule ids and categories named in the config must exist, or a typo would silently do nothing."""
    def where(setting: str) -> str:
        return _where(config.source, setting) if config.source else "config"

    known = set(ruleset.rules) | set(ruleset.disabled)
    for setting, ids in (("disable", sorted(config.disable)), ("risk_overrides", sorted(config.risk_overrides))):
        for rule_id in ids:
            if rule_id not in known:
                hint = difflib.get_close_matches(rule_id, sorted(known), n=1)
                raise ConfigError(f"{where(setting)}: {setting} names unknown rule '{rule_id}'"
                                  + (f"; did you mean '{hint[0]}'?" if hint else "; `stateaudit rules` lists them"))
    categories = {str(row["category"]) for row in ruleset.tables.get("categories", ()) if "category" in row}
    categories |= {r.category for r in ruleset.rules.values() if r.category}
    for category in sorted(config.category_risk):
        if category not in categories:
            hint = difflib.get_close_matches(category, sorted(categories), n=1)
            raise ConfigError(f"{where('category_risk')}: category_risk names unknown category '{category}'"
                              + (f"; did you mean '{hint[0]}'?" if hint else f" (known: {', '.join(sorted(categories))})"))


def starter_config() -> str:
    """The commented `.stateaudit.yml` that `stateaudit init` writes; every value shown is the default."""
    return (templates_dir() / STARTER_TEMPLATE).read_text(encoding="utf-8")


def write_starter(folder: Path, force: bool = False) -> Path:
    """Write the starter config into `folder`; refuse to replace an existing one unless `force`."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder")
    target = folder / CONFIG_NAMES[0]
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists; use --force to overwrite it")
    try:
        write_atomic(target, starter_config())
    except OSError as err:
        raise ConfigError(f"{target}: cannot write ({err.strerror})") from None
    return target


def _rule_dirs(path: Path, entries: list[str]) -> tuple[Path, ...]:
    """Extra rule folders, relative to the config file; one that does not exist is named with its line."""
    folders = tuple((path.parent / str(p)).resolve() for p in entries)
    for entry, folder in zip(entries, folders, strict=True):
        if not folder.is_dir():
            raise ConfigError(f"{_where(path, 'rules')}: rule directory not found: '{entry}' ({folder})")
    return folders


def _risk(path: Path, setting: str, key: Any, value: Any) -> Risk:
    try:
        return Risk.parse(str(value))
    except KeyError:
        raise ConfigError(f"{_where(path, setting)}: risk for '{key}' must be CRITICAL, HIGH, MEDIUM or LOW "
                          f"(got {value!r})") from None


def _positive(path: Path, key: str, value: int) -> int:
    if value <= 0:
        raise ConfigError(f"{_where(path, key)}: '{key}' must be a positive number of bytes (got {value})")
    return value


def _confidence(path: Path, value: Any) -> str:
    if value not in CONFIDENCES:
        raise ConfigError(f"{_where(path, 'min_confidence')}: min_confidence must be low, medium or high "
                          f"(got {value!r})")
    return str(value)


def _budget(path: Path, value: Any) -> float:
    if value < 0:
        raise ConfigError(f"{_where(path, 'file_budget')}: file_budget must be 0 (no limit) or more seconds "
                          f"(got {value!r})")
    return float(value)
