"""Load and validate YAML rules: detection rules (one file each) and classification tables."""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .conditions import DERIVED_NAMES, FACT_NAMES, ConditionError, validate
from .model import CONFIDENCES, KINDS, PRIORITIES, Risk
from .source_roles import SourceRoles, source_roles_of
from .syntax import (
    LANGUAGES,
    QUERY_LANGUAGE,
    QueryCompileError,
    check_together,
    compile_query,
    node_types,
)
from .vocabulary import Vocabulary, VocabularyError, load_vocabulary, shipped

RULE_LANGUAGES = ("typescript", "javascript", "python")
SUBJECTS = ("auto", "state", "singleton", "call", "class", "decorator", "global")
COMPOSITION_KEYS = ("inside", "not_inside", "has")
RULE_KEYS = {
    "id": str, "title": str, "kind": str, "languages": list, "subject": str, "queries": dict, "where": dict,
    "risk": str, "confidence": str, "message": str, "state_type": str, "category": str, "assess": list,
    "docs": dict, "enabled": bool, "tags": list, "effort": str, "action": str, "priority": str,
    "inside": (list, dict), "not_inside": (list, dict), "has": (list, dict),
}
# Rule-level shorthand for a last `assess` row that applies whenever the rule's own rows set nothing.
DEFAULT_ROW_KEYS = ("action", "effort", "priority")
# Placeholders a message, state_type or row template may use: every fact, plus what classify adds for text.
TEMPLATE_NAMES = FACT_NAMES | DERIVED_NAMES
TEMPLATE_ROW_KEYS = ("action", "message", "reason", "label")
REQUIRED_KEYS = ("id", "title", "kind", "languages", "queries", "risk", "message", "docs")
DOC_KEYS = {"what": str, "why": str, "fix": str, "bad": str, "good": str, "references": list}
REQUIRED_DOCS = ("what", "why", "fix")
ROW_KEYS = {"when": dict, "risk": str, "priority": str, "action": str, "effort": str, "message": str,
            "confidence": str, "category": str, "label": str, "storage": str, "shared": str, "reason": str,
            "requirement": str, "notes": str, "phase": str, "change": str, "title": str, "diagram": str,
            "checklist": str, "name": str}
TABLES = ("categories", "storage", "assessment", "confidence", "infrastructure", "architecture", "checklist",
          "reviewed")
GRAMMARS = {"typescript": ("typescript", "tsx"), "javascript": ("javascript",), "python": ("python",)}
EXTENSION_OF = {"typescript": "ts", "javascript": "js", "python": "py"}
_QUERY_ROW = re.compile(r"at row (\d+)")

# PyYAML is imported by the functions that read or walk YAML: a scan whose rule set comes from the cache
# (cache.cached_rules) reads none, and importing it is a share of every start-up.
if TYPE_CHECKING:
    import yaml


class RuleError(Exception):
    """A rule file that cannot be used; str() is `path:line: message`."""


@dataclass(frozen=True)
class NodeTest:
    """One `inside` / `not_inside` / `has` list for one grammar: node type names and compiled patterns."""

    types: frozenset[str] = frozenset()
    patterns: tuple[Any, ...] = ()  # compiled queries; a pattern "matches a node" when it starts at that node


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
    composition: Mapping[str, Mapping[str, NodeTest]] = field(default_factory=dict)  # grammar -> key -> test
    enabled: bool = True


@dataclass(frozen=True)
class RuleSet:
    rules: Mapping[str, Rule]
    tables: Mapping[str, tuple[Mapping[str, Any], ...]]
    disabled: frozenset[str] = frozenset()  # ids of valid rules left out (`enabled: false` or config `disable`)
    roles: SourceRoles = field(default_factory=SourceRoles)  # which files are browser or vendored code
    vocabulary: Vocabulary = field(default_factory=shipped)  # the word lists the fact modules apply

    def for_grammar(self, grammar: str) -> list[Rule]:
        return [r for r in self.rules.values() if grammar in r.queries]

    def grammars(self) -> set[str]:
        """The grammars some rule has a query for."""
        return {g for rule in self.rules.values() for g in rule.queries}

    def without(self, disabled: frozenset[str]) -> RuleSet:
        return RuleSet({k: v for k, v in self.rules.items() if k not in disabled}, self.tables,
                       self.disabled | (frozenset(disabled) & frozenset(self.rules)), self.roles, self.vocabulary)


def _line_of(node: yaml.Node | None, key: str | None = None) -> int:
    """1-based line of a mapping key in a composed YAML node (the node itself when key is None)."""
    import yaml

    if node is None:
        return 1
    if key is not None and isinstance(node, yaml.MappingNode):
        for k, _value in node.value:
            if getattr(k, "value", None) == key:
                return k.start_mark.line + 1
    return node.start_mark.line + 1


def _line_at(node: yaml.Node | None, trail: tuple[str | int, ...], fallback: int) -> int:
    """1-based line of the entry that `trail` (mapping keys and list indexes) leads to inside `node`;
    the deepest line found on the way when the trail leaves the YAML (e.g. a flow mapping's missing key)."""
    import yaml

    line = fallback
    for step in trail:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == step), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleError(f"{path}:1: cannot read rule file ({err})") from None
    # libyaml's parser when PyYAML was built with it: rule loading is on a cold scan's start-up path.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = str(getattr(err, "problem", None) or err)
        if "nesting depth" in problem:  # the C loader's limit: the same message as the pure-Python loader's
            problem = "nested too deeply"
        raise RuleError(f"{path}:{line}: malformed YAML ({problem})") from None
    except RecursionError:  # the pure-Python loader composes recursively
        raise RuleError(f"{path}:1: malformed YAML (nested too deeply)") from None
    finally:
        loader.dispose()
    _duplicate_keys(path, node)
    return data, node


def _check_keys(path: Path, node: yaml.Node | None, data: Mapping, allowed: Mapping[str, type], where: str) -> None:
    for key, value in data.items():
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), list(allowed), n=1)
            raise RuleError(f"{path}:{_line_of(node, key)}: unknown key '{key}' in {where}"
                            + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if not isinstance(value, allowed[key]) or (allowed[key] is not bool and isinstance(value, bool)):
            raise RuleError(f"{path}:{_line_of(node, key)}: '{key}' must be {_type_name(allowed[key])}, "
                            f"got {_type_name(type(value))}")


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", list: "a list", dict: "a mapping", bool: "true or false", int: "a number",
             float: "a number", type(None): "nothing (null)"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _duplicate_keys(path: Path, node: yaml.Node | None) -> None:
    """YAML silently keeps the last of two equal keys; in a rule that hides a mistake, so refuse it."""
    import yaml

    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                name = getattr(key, "value", None)
                if isinstance(name, str) and name in seen:
                    raise RuleError(f"{path}:{key.start_mark.line + 1}: duplicate key '{name}'")
                seen.add(name)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == key:
                return v
    return None


def _enum(path: Path, node, key: str, value: str, allowed) -> str:
    if value not in allowed:
        hint = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
        raise RuleError(f"{path}:{_line_of(node, key)}: '{key}' must be one of {', '.join(map(str, allowed))} "
                        f"(got {value!r})" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    return value


def _check_template(path: Path, line: int, key: str, text: str) -> None:
    """`{fact}` placeholders must name a fact, or the text would silently render with a gap."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as err:
        raise RuleError(f"{path}:{line}: '{key}' is not a valid template ({err}); write {{{{ and }}}} for braces") from None
    for name in names:
        if name.split(".")[0].split("[")[0] not in TEMPLATE_NAMES:
            hint = difflib.get_close_matches(name, sorted(TEMPLATE_NAMES), n=1)
            raise RuleError(f"{path}:{line}: '{key}' uses unknown placeholder {{{name}}}"
                            + (f"; did you mean {{{hint[0]}}}?" if hint else ""))


def load_rule(path: Path, check_queries: bool = True) -> Rule:
    """Read, validate and compile one rule file; raise RuleError naming the file and line.

    With `check_queries=False` its queries are left for the caller to check (load_rules checks a whole
    rule set's queries together)."""
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
    if "priority" in data:
        _enum(path, node, "priority", data["priority"], PRIORITIES)
    _check_languages(path, node, data["languages"])
    for key in ("message", "state_type", "action"):
        if key in data:
            _check_template(path, _line_of(node, key), key, data[key])
    docs_node = _child(node, "docs")
    _check_keys(path, docs_node, data["docs"], DOC_KEYS, "docs")
    for key in REQUIRED_DOCS:
        if not str(data["docs"].get(key, "")).strip():
            raise RuleError(f"{path}:{_line_of(node, 'docs')}: docs.{key} is required and must not be empty")
    if "where" in data:
        try:
            validate(data["where"], "where")
        except ConditionError as err:
            raise RuleError(f"{path}:{_line_at(_child(node, 'where'), err.trail, _line_of(node, 'where'))}: {err}") from None
    assess = _check_rows(path, _child(node, "assess"), data.get("assess", []), "assess")
    default_row = {k: data[k] for k in DEFAULT_ROW_KEYS if k in data}
    queries, texts = _compile_queries(path, node, data, check_queries)
    return Rule(
        id=data["id"], title=data["title"], kind=data["kind"], languages=tuple(data["languages"]),
        subject=data.get("subject", "auto"), risk=risk, confidence=confidence, message=data["message"], docs=data["docs"],
        where=data.get("where"), assess=tuple(assess + ([{"when": {}, **default_row}] if default_row else [])),
        state_type=data.get("state_type"), category=data.get("category"),
        path=path, queries=queries, query_text=texts, tags=tuple(str(t) for t in data.get("tags", [])),
        composition=_compile_composition(path, node, data), enabled=data.get("enabled", True),
    )


def _check_languages(path: Path, node, languages: list) -> None:
    if not languages:
        raise RuleError(f"{path}:{_line_of(node, 'languages')}: 'languages' must list at least one of "
                        f"{', '.join(RULE_LANGUAGES)}")
    for language in languages:
        if language not in RULE_LANGUAGES:
            hint = difflib.get_close_matches(str(language), RULE_LANGUAGES, n=1)
            raise RuleError(f"{path}:{_line_of(node, 'languages')}: unknown language '{language}' "
                            f"(use {', '.join(RULE_LANGUAGES)})" + (f"; did you mean '{hint[0]}'?" if hint else ""))


def _query_line(key_line: int, value_node, err: Exception) -> int:
    """The rule-file line of a query error: tree-sitter reports a 0-based row inside the query text."""
    found = _QUERY_ROW.search(str(err))
    if value_node is None or found is None:
        return key_line
    first = value_node.start_mark.line + (2 if getattr(value_node, "style", None) in ("|", ">") else 1)
    return first + int(found.group(1))


def _compile(path: Path, grammar: str, language: str, text: str, line: int, value_node, what: str,
             check: bool = True):
    try:
        return compile_query(grammar, text, check=check)
    except QueryCompileError as err:
        raise RuleError(f"{path}:{_query_line(line, value_node, err)}: the {language} {what} does not compile "
                        f"({err}). Run `stateaudit parse SAMPLE.{EXTENSION_OF[language]}` to see real node "
                        f"names.") from None


def _compile_queries(path: Path, node, data: Mapping, check: bool) -> tuple[dict[str, Any], dict[str, str]]:
    queries_node = _child(node, "queries")
    extra = sorted(set(data["queries"]) - set(data["languages"]), key=str)
    if extra:
        hint = difflib.get_close_matches(str(extra[0]), data["languages"], n=1)
        raise RuleError(f"{path}:{_line_of(queries_node, extra[0])}: query for '{extra[0]}' which is not in "
                        f"languages" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    compiled: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for language in data["languages"]:
        text = data["queries"].get(language)
        if not isinstance(text, str) or not text.strip():
            raise RuleError(f"{path}:{_line_of(node, 'queries')}: no query for listed language '{language}'")
        texts[language] = text
        for grammar in GRAMMARS[language]:
            compiled[grammar] = _compile(path, grammar, language, text, _line_of(queries_node, language),
                                         _child(queries_node, language), "query", check)
    return compiled, texts


def _compile_composition(path: Path, node, data: Mapping) -> dict[str, dict[str, NodeTest]]:
    """`inside` / `not_inside` / `has`: a list for every language of the rule, or a mapping language -> list."""
    result: dict[str, dict[str, NodeTest]] = {}
    for key in COMPOSITION_KEYS:
        if key not in data:
            continue
        key_node = _child(node, key)
        value = data[key]
        per_language = value if isinstance(value, dict) else {language: value for language in data["languages"]}
        for language, entries in per_language.items():
            if language not in data["languages"]:
                hint = difflib.get_close_matches(str(language), data["languages"], n=1)
                raise RuleError(f"{path}:{_line_of(key_node, language)}: '{key}' names '{language}', which is not in "
                                f"languages" + (f"; did you mean '{hint[0]}'?" if hint else ""))
            entries_node = _child(key_node, language) if isinstance(value, dict) else key_node
            if not isinstance(entries, list) or not entries:
                raise RuleError(f"{path}:{_line_of(entries_node)}: '{key}' must be a non-empty list of node types "
                                f"or query patterns")
            for grammar in GRAMMARS[language]:
                result.setdefault(grammar, {})[key] = _node_test(path, key, language, grammar, entries, entries_node)
    return result


def _node_test(path: Path, key: str, language: str, grammar: str, entries: list, node) -> NodeTest:
    import yaml

    types: set[str] = set()
    patterns = []
    for i, entry in enumerate(entries):
        item = node.value[i] if isinstance(node, yaml.SequenceNode) and i < len(node.value) else node
        line = _line_of(item)
        if not isinstance(entry, str) or not entry.strip():
            raise RuleError(f"{path}:{line}: each '{key}' entry must be a node type name or a query pattern")
        text = entry.strip()
        if text.startswith(("(", "[")):
            patterns.append(_compile(path, grammar, language, text, line, item, f"pattern in '{key}'"))
            continue
        known = node_types(grammar)
        if text not in known:
            hint = difflib.get_close_matches(text, sorted(known), n=1)
            raise RuleError(f"{path}:{line}: '{text}' in '{key}' is not a {language} node type"
                            + (f"; did you mean '{hint[0]}'?" if hint else ".")
                            + f" Run `stateaudit parse SAMPLE.{EXTENSION_OF[language]}` to see real node names.")
        types.add(text)
    return NodeTest(frozenset(types), tuple(patterns))


def _check_rows(path: Path, node, rows: Any, table: str) -> list[Mapping[str, Any]]:
    import yaml

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
            raise RuleError(f"{path}:{_line_at(_child(row_node, 'when'), err.trail, _line_of(row_node, 'when'))}: "
                            f"{err}") from None
        if "risk" in row:
            _enum(path, row_node, "risk", str(row["risk"]).upper(), [r.name for r in Risk])
        if "priority" in row:
            _enum(path, row_node, "priority", row["priority"], PRIORITIES)
        if "confidence" in row:
            _enum(path, row_node, "confidence", row["confidence"], CONFIDENCES)
        for key in TEMPLATE_ROW_KEYS:
            if key in row:
                _check_template(path, _line_of(row_node, key), key, row[key])
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


def load_rules(dirs: list[Path], check_queries: bool = True) -> RuleSet:
    """Rules from each folder in order; later folders may add rules and prepend table rows.

    Every file is validated, including rules switched off with `enabled: false`, which are then left out.
    With `check_queries=False` the enabled rules' queries are left for check_rule_queries, which a scan
    calls for the grammars its files use: compiling a grammar's joined query is most of a cold start-up,
    wasted on a grammar the scan never parses.
    """
    rules: dict[str, Rule] = {}
    seen: dict[str, Path] = {}
    switched_off: list[Rule] = []
    tables: dict[str, list[Mapping[str, Any]]] = {t: [] for t in TABLES}
    for folder in dirs:
        if not folder.is_dir():
            raise RuleError(f"{folder}:1: rule directory not found")
        for path in sorted(folder.glob("*.y*ml")):
            rule = load_rule(path, check_queries=False)
            if rule.id in seen:
                raise RuleError(f"{path}:{_id_line(path)}: duplicate rule id '{rule.id}' (also in {seen[rule.id]})")
            seen[rule.id] = path
            if rule.enabled:
                rules[rule.id] = rule
            else:
                switched_off.append(rule)
        classify = folder / "classify"
        for path in sorted(classify.glob("*.y*ml")) if classify.is_dir() else []:
            for table, rows in load_tables(path).items():
                # A team's own folder comes later on the command line but must win: its rows go first.
                tables[table] = rows + tables[table] if folder != dirs[0] else tables[table] + rows
    try:
        vocabulary = load_vocabulary(dirs)
    except VocabularyError as err:
        raise RuleError(str(err)) from None
    ruleset = RuleSet(rules, {k: tuple(v) for k, v in tables.items()}, frozenset(seen) - frozenset(rules),
                      source_roles_of(vocabulary), vocabulary)
    if check_queries:
        check_rule_queries(ruleset, ruleset.grammars())
    for rule in switched_off:  # they never run, so each is checked alone
        load_rule(rule.path)
    return ruleset


def check_rule_queries(ruleset: RuleSet, grammars: Iterable[str]) -> None:
    """Check that the rule set's queries of these grammars compile, together per grammar; raise RuleError.

    The rules are checked in RuleSet.for_grammar order, so the joined query compiled here is the one
    matching runs. When it fails, the rules are loaded again one at a time, which names the file and line
    of the culprit. Queries known to compile (syntax.trust_queries) are not compiled again.
    """
    for grammar in sorted(set(grammars)):
        group = ruleset.for_grammar(grammar)
        if not group:
            continue
        try:
            check_together([rule.queries[grammar] for rule in group])
        except QueryCompileError as err:
            for rule in group:
                load_rule(rule.path)
            raise RuleError(f"{group[0].path}:1: the {grammar} queries of the rule set do not compile "
                            f"together ({err})") from None


def _id_line(path: Path) -> int:
    _, node = _read_yaml(path)
    return _line_of(node, "id")


assert set(LANGUAGES) >= set(QUERY_LANGUAGE)
