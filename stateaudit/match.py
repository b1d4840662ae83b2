"""Stage 3-4: parse a file once, run every rule's query on it, and attach facts to each hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .facts import FileIndex, facts_module
from .model import Match, ParseError, SourceFile
from .ruleset import Rule, RuleSet
from .source_roles import BROWSER
from .suppressions import Suppression, find_suppressions
from .syntax import (
    QUERY_LANGUAGE,
    ParsedFile,
    ancestors,
    node_text,
    parse_source,
    pattern_at,
    pattern_below,
    run_query,
    walk,
)


@dataclass
class FileResult:
    """What one file yields: raw matches, its share of the service index, and its size."""

    matches: list[Match] = field(default_factory=list)
    index: FileIndex = field(default_factory=FileIndex)
    lines: int = 0
    error: ParseError | None = None
    warnings: list[str] = field(default_factory=list)
    suppressions: tuple[Suppression, ...] = ()  # its `stateaudit: ignore` comments
    excluded: str | None = None  # a source_roles role (browser) found in the content: left out by policy


def read_source(file: SourceFile) -> tuple[bytes | None, str | None]:
    """The file's bytes, or a one-line reason it cannot be scanned."""
    try:
        data = file.path.read_bytes()
    except OSError as err:
        return None, f"cannot read ({err.strerror})"
    if b"\x00" in data[:8192]:
        return None, "binary file, skipped"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 (byte {err.start}), skipped"
    return data, None


def match_file(file: SourceFile, ruleset: RuleSet, include_browser: bool = False) -> FileResult:
    source, problem = read_source(file)
    if source is None:
        return FileResult(error=ParseError(file.rel, problem or "unreadable"))
    parsed = parse_source(source, file.language, file.rel)
    result = FileResult(lines=source.count(b"\n") + (0 if source.endswith(b"\n") else 1))
    if not include_browser and ruleset.roles.role_by_content(parsed) is not None:
        result.excluded = BROWSER
        return result
    if parsed.has_errors:
        result.warnings.append(f"{file.rel}: syntax errors; findings in this file may be incomplete")
    if b"stateaudit:" in source:
        result.suppressions = find_suppressions(parsed.lines)
    module = facts_module(QUERY_LANGUAGE[file.language])
    analysis = module.analyse(parsed)
    result.index = module.file_index(analysis)
    seen: set[tuple[str, int]] = set()
    for rule in ruleset.for_grammar(file.language):
        for captures in run_query(rule.queries[file.language], parsed.root):
            match = _build_match(rule, captures, parsed, analysis, module)
            if match is None:
                continue
            key = (rule.id, match.location.line)
            if key not in seen:
                seen.add(key)
                result.matches.append(match)
    return result


def _first(captures: dict[str, list[Any]], name: str):
    nodes = captures.get(name)
    return nodes[0] if nodes else None


def _build_match(rule: Rule, captures, parsed: ParsedFile, analysis, module) -> Match | None:
    target = _first(captures, "target")
    if target is None or not composition_holds(rule, target, parsed.language):
        return None
    name = _first(captures, "name")
    value = _first(captures, "value")
    subject = rule.subject if rule.subject != "auto" else subject_of(rule.kind, target.type)
    if subject == "state":
        facts, writes = module.state_facts(analysis, target, name, value)
    elif subject == "global":
        facts, writes = (module.global_facts(analysis, target, name) if hasattr(module, "global_facts")
                         else module.state_facts(analysis, target, name, value))
    elif subject == "singleton":
        cls = _first(captures, "class")
        facts, writes = module.singleton_facts(analysis, target, node_text(cls) if cls is not None else None)
    elif subject == "call":
        facts, writes = module.call_facts(analysis, _first(captures, "call") or target)
    elif subject == "decorator":
        facts, writes = module.decorator_facts(analysis, target)
    else:
        facts, writes = module.class_facts(analysis, target)
    location = parsed.location(target)
    facts = dict(facts, rule=rule.id, kind=rule.kind, language=parsed.language, path=parsed.rel)
    return Match(
        rule_id=rule.id, kind=rule.kind, location=location, language=parsed.language,
        symbol=facts.get("symbol") or None, snippet=_snippet(parsed, location.line, location.end_line),
        facts=facts, write_sites=tuple(writes),
    )


def composition_holds(rule: Rule, target, grammar: str) -> bool:
    """The rule's ast-grep-style constraints on @target: `inside` / `not_inside` an ancestor, `has` a descendant.

    Each is a list read as "any of"; a node fits an entry when its type is the entry's node type, or when the
    entry's query pattern matches with that node as its outermost node.
    """
    tests = rule.composition.get(grammar)
    if not tests:
        return True

    def fits(test, node) -> bool:
        return node.type in test.types or any(pattern_at(q, node) for q in test.patterns)

    if "inside" in tests and not any(fits(tests["inside"], a) for a in ancestors(target)):
        return False
    if "not_inside" in tests and any(fits(tests["not_inside"], a) for a in ancestors(target)):
        return False
    if "has" in tests:
        has = tests["has"]
        below = (n for child in target.children for n in walk(child))
        if not (any(n.type in has.types for n in below) or any(pattern_below(q, target) for q in has.patterns)):
            return False
    return True


_CALLS = frozenset({"call_expression", "new_expression", "call"})
_CLASSES = frozenset({"class_declaration", "class_definition", "class"})


def subject_of(kind: str, node_type: str) -> str:
    """Which fact extractor fits a capture: by the rule's kind first, then by the node's shape."""
    if kind == "singleton":
        return "singleton"
    if kind == "global":
        return "global"
    if node_type in _CALLS:
        return "call"
    if node_type == "decorator":
        return "decorator"
    if node_type in _CLASSES:
        return "class"
    return "state"


def _snippet(parsed: ParsedFile, line: int, end_line: int) -> str:
    text = parsed.line_text(line)
    if end_line > line and len(text) < 40:
        text = " ".join(parsed.line_text(n) for n in range(line, min(end_line, line + 2) + 1))
    return text[:160]


__all__ = ["FileResult", "match_file", "read_source", "walk"]
