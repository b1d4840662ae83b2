"""Load and validate YAML rules: detection rules (one file each) and classification tables."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .conditions import ConditionError, validate
from .model import CONFIDENCES, KINDS, PRIORITIES, Risk
from .syntax import LANGUAGES, QUERY_LANGUAGE, QueryCompileError, compile_query

RULE_LANGUAGES = ("typescript", "javascript", "python")
SUBJECTS = ("auto", "state", "singleton", "call", "class", "decorator", "global")
RULE_KEYS = {
    "id": str, "title": str, "kind": str, "languages": list, "subject": str, "queries": dict, "where": dict,
    "risk": str, "confidence": str, "message": str, "state_type": str, "category": str, "assess": list,
    "docs": dict, "enabled": bool, "tags": list, "effort": str, "action": str, "priority": str,
}
REQUIRED_KEYS = ("id", "title", "kind", "languages", "queries", "risk", "message", "docs")
DOC_KEYS = {"what": str, "why": str, "fix": str, "bad": str, "good": str, "references": list}
REQUIRED_DOCS = ("what", "why", "fix")
ROW_KEYS = {"when": dict, "risk": str, "priority": str, "action": str, "effort": str, "message": str,
            "confidence": str, "category": str, "label": str, "storage": str, "shared": str, "reason": str,
            "requirement": str, "notes": str, "phase": str, "change": str, "title": str, "diagram": str,
            "checklist": str, "name": str}
TABLES = ("categories", "storage", "assessment", "confidence", "infrastructure", "architecture", "checklist")
GRAMMARS = {"typescript": ("typescript", "tsx"), "javascript": ("javascript",), "python": ("python",)}


class RuleError(Exception):
    """A rule file that cannot be used; str() is `path:line: message`."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    kind: str
    languages: tuple[str, ...]
    subject: str
    risk: Risk
    confidence: str
    message: str
    docs: Mapping[str, Any]
    where: Mapping[str, Any] | None
    assess: tuple[Mapping[str, Any], ...]
    state_type: str | None
    category: str | None
    path: Path
    queries: Mapping[str, Any] = field(default_factory=dict)  # grammar -> compiled Query
    query_text: Mapping[str, str] = field(default_factory=dict)  # family -> source
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    rules: Mapping[str, Rule]
    tables: Mapping[str, tuple[Mapping[str, Any], ...]]

    def for_grammar(self, grammar: str) -> list[Rule]:
        return [r for r in self.rules.values() if grammar in r.queries]

    def without(self, disabled: frozenset[str]) -> "RuleSet":
        return RuleSet({k: v for k, v in self.rules.items() if k not in disabled}, self.tables)


def _line_of(node: yaml.Node | None, key: str | None = None) -> int:
    """1-based line of a mapping key in a composed YAML node (the node itself when key is None)."""
    if node is None:
        return 1
    if key is not None and isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == key:
                return k.start_mark.line + 1
    return node.start_mark.line + 1


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleError(f"{path}:1: cannot read rule file ({err})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise RuleError(f"{path}:{line}: malformed YAML ({getattr(err, 'problem', None) or err})") from None
    return data, node


def _check_keys(path: Path, node: yaml.Node | None, data: Mapping, allowed: Mapping[str, type], where: str) -> None:
    for key, value in data.items():
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), list(allowed), n=1)
            raise RuleError(f"{path}:{_line_of(node, key)}: unknown key '{key}' in {where}"
                            + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if not isinstance(value, allowed[key]):
            raise RuleError(f"{path}:{_line_of(node, key)}: '{key}' must be a {allowed[key].__name__}, "
                            f"got {type(value).__name__}")


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == key:
                return v
    return None


def _enum(path: Path, node, key: str, value: str, allowed) -> str:
    if value not in allowed:
        raise RuleError(f"{path}:{_line_of(node, key)}: '{key}' must be one of {', '.join(map(str, allowed))} (got {value!r})")
    return value


def load_rule(path: Path) -> Rule:
    data, node = _read_yaml(path)
    if not isinstance(data, dict):
        raise RuleError(f"{path}:1: a rule file must be a mapping with at least {', '.join(REQUIRED_KEYS)}")
    _check_keys(path, node, data, RULE_KEYS, "rule")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise RuleError(f"{path}:1: missing required key '{missing[0]}'")
    if data["id"] != path.stem:
        raise RuleError(f"{path}:{_line_of(node, 'id')}: id '{data['id']}' must match the file name '{path.stem}'")
    _enum(path, node, "kind", data["kind"], KINDS)
    if "subject" in data:
        _enum(path, node, "subject", data["subject"], SUBJECTS)
    risk = Risk[_enum(path, node, "risk", str(data["risk"]).upper(), [r.name for r in Risk])]
    confidence = _enum(path, node, "confidence", data.get("confidence", "high"), CONFIDENCES)
    for language in data["languages"]:
        if language not in RULE_LANGUAGES:
            raise RuleError(f"{path}:{_line_of(node, 'languages')}: unknown language '{language}' "
                            f"(use {', '.join(RULE_LANGUAGES)})")
    docs_node = _child(node, "docs")
    _check_keys(path, docs_node, data["docs"], DOC_KEYS, "docs")
    for key in REQUIRED_DOCS:
        if not str(data["docs"].get(key, "")).strip():
            raise RuleError(f"{path}:{_line_of(node, 'docs')}: docs.{key} is required and must not be empty")
    for key in ("where",):
        if key in data:
            try:
                validate(data[key], key)
            except ConditionError as err:
                raise RuleError(f"{path}:{_line_of(node, key)}: {err}") from None
    assess = tuple(_check_rows(path, _child(node, "assess"), data.get("assess", []), "assess"))
    queries, texts = _compile_queries(path, node, data)
    return Rule(
        id=data["id"], title=data["title"], kind=data["kind"], languages=tuple(data["languages"]),
        subject=data.get("subject", "auto"), risk=risk, confidence=confidence, message=data["message"], docs=data["docs"],
        where=data.get("where"), assess=assess, state_type=data.get("state_type"), category=data.get("category"),
        path=path, queries=queries, query_text=texts, tags=tuple(data.get("tags", [])),
    )


def _compile_queries(path: Path, node, data: Mapping) -> tuple[dict[str, Any], dict[str, str]]:
    queries_node = _child(node, "queries")
    compiled: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for language in data["languages"]:
        text = data["queries"].get(language)
        if not isinstance(text, str) or not text.strip():
            raise RuleError(f"{path}:{_line_of(node, 'queries')}: no query for listed language '{language}'")
        texts[language] = text
        for grammar in GRAMMARS[language]:
            try:
                compiled[grammar] = compile_query(grammar, text)
            except QueryCompileError as err:
                line = _line_of(queries_node, language)
                ext = {"typescript": "ts", "javascript": "js", "python": "py"}[language]
                raise RuleError(f"{path}:{line}: the {language} query does not compile ({err}). "
                                f"Run `stateaudit parse SAMPLE.{ext}` to see real node names.") from None
    extra = set(data["queries"]) - set(data["languages"])
    if extra:
        raise RuleError(f"{path}:{_line_of(queries_node, sorted(extra)[0])}: query for '{sorted(extra)[0]}' "
                        f"which is not in languages")
    return compiled, texts


def _check_rows(path: Path, node, rows: Any, table: str) -> list[Mapping[str, Any]]:
    if not isinstance(rows, list):
        raise RuleError(f"{path}:{_line_of(node)}: '{table}' must be a list of rows")
    checked = []
    for i, row in enumerate(rows):
        row_node = node.value[i] if isinstance(node, yaml.SequenceNode) and i < len(node.value) else node
        if not isinstance(row, dict):
            raise RuleError(f"{path}:{_line_of(row_node)}: each {table} row must be a mapping")
        _check_keys(path, row_node, row, ROW_KEYS, f"{table} row")
        try:
            validate(row.get("when", {}), f"{table} row when")
        except ConditionError as err:
            raise RuleError(f"{path}:{_line_of(row_node, 'when')}: {err}") from None
        if "risk" in row:
            _enum(path, row_node, "risk", str(row["risk"]).upper(), [r.name for r in Risk])
        if "priority" in row:
            _enum(path, row_node, "priority", row["priority"], PRIORITIES)
        if "confidence" in row:
            _enum(path, row_node, "confidence", row["confidence"], CONFIDENCES)
        checked.append(row)
    return checked


def load_tables(path: Path) -> dict[str, list[Mapping[str, Any]]]:
    data, node = _read_yaml(path)
    if not isinstance(data, dict):
        raise RuleError(f"{path}:1: a classification file must map table names to lists of rows")
    tables = {}
    for key, rows in data.items():
        if key not in TABLES:
            hint = difflib.get_close_matches(str(key), TABLES, n=1)
            raise RuleError(f"{path}:{_line_of(node, key)}: unknown table '{key}'"
                            + (f"; did you mean '{hint[0]}'?" if hint else ""))
        tables[key] = _check_rows(path, _child(node, key), rows, key)
    return tables


def load_rules(dirs: list[Path]) -> RuleSet:
    """Rules from each folder in order; later folders may add rules and prepend table rows."""
    rules: dict[str, Rule] = {}
    tables: dict[str, list[Mapping[str, Any]]] = {t: [] for t in TABLES}
    for folder in dirs:
        if not folder.is_dir():
            raise RuleError(f"{folder}:1: rule directory not found")
        for path in sorted(folder.glob("*.y*ml")):
            rule = load_rule(path)
            if rule.id in rules:
                raise RuleError(f"{path}:1: duplicate rule id '{rule.id}' (also in {rules[rule.id].path})")
            rules[rule.id] = rule
        classify = folder / "classify"
        for path in sorted(classify.glob("*.y*ml")) if classify.is_dir() else []:
            for table, rows in load_tables(path).items():
                # A team's own folder comes later on the command line but must win: its rows go first.
                tables[table] = rows + tables[table] if folder != dirs[0] else tables[table] + rows
    return RuleSet(rules, {k: tuple(v) for k, v in tables.items()})


assert set(LANGUAGES) >= set(QUERY_LANGUAGE)
