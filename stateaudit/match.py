"""Stage 3-4: parse a file once, run every rule's query on it, and attach facts to each hit."""

from __future__ import annotations

import codecs
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .conditions import may_hold
from .config import MAX_FILE_BYTES
from .facts import FileIndex, facts_module
from .interrupt import reraise_if_interrupted
from .join import settled, settled_early, settled_shape
from .model import DegradedFile, Facts, InternalError, Match, ParseError, SourceFile
from .ruleset import Rule, RuleSet
from .source_roles import BROWSER
from .suppressions import Suppression, find_suppressions
from .syntax import (
    QUERY_LANGUAGE,
    ParsedFile,
    ancestors,
    children_of,
    node_text,
    parse_source,
    pattern_at,
    pattern_below,
    prepare_index,
    prepare_queries,
    query_and_index,
    release_index,
    use_index,
    walk,
)
from .vocabulary import install as install_vocabulary


@dataclass
class FileResult:
    """What one file yields: raw matches, its share of the service index, its size, and what went wrong."""

    matches: list[Match] = field(default_factory=list)
    index: FileIndex = field(default_factory=FileIndex)
    lines: int = 0
    error: ParseError | None = None  # the file was skipped
    warnings: list[str] = field(default_factory=list)
    suppressions: tuple[Suppression, ...] = ()  # its `stateaudit: ignore` comments
    excluded: str | None = None  # a source_roles role (browser) found in the content: left out by policy
    degraded: list[DegradedFile] = field(default_factory=list)  # scanned, but not as written
    internal_errors: list[InternalError] = field(default_factory=list)  # our own bugs, contained

    @property
    def has_syntax_errors(self) -> bool:
        return any(d.reason == "syntax-error" for d in self.degraded)


@dataclass(frozen=True)
class PackedResult:
    """A FileResult as it travels from a worker and is kept in the cache: the record without its matches,
    and the matches pickled.

    Matches are most of a record (saleor: 141,000 for 4,327 files, about 500 MB once unpickled, of which
    the rules' `where` keep 48) and only their service's join reads them, once. Kept as bytes, the scan
    can write them to disk as they arrive and unpickle one file's at a time (incremental.MatchSpill).
    """

    record: FileResult  # matches=[]
    matches: bytes


def pack(result: FileResult) -> PackedResult:
    return PackedResult(replace(result, matches=[]), pickle.dumps(result.matches, protocol=pickle.HIGHEST_PROTOCOL))


def unpack(packed: PackedResult) -> FileResult:
    return replace(packed.record, matches=pickle.loads(packed.matches))


@dataclass(frozen=True)
class SourceText:
    """A file's bytes as the parser gets them (always valid UTF-8), or why it was skipped."""

    data: bytes | None = None
    skipped: ParseError | None = None
    degraded: DegradedFile | None = None


def read_source(file: SourceFile, max_bytes: int = MAX_FILE_BYTES, data: bytes | None = None) -> SourceText:
    """Read (unless `data` holds what the caller read) and decode a file: BOMs dropped, UTF-16 converted,
    undecodable bytes replaced (and reported).

    Only binary files (NUL bytes), files over `max_bytes` and unreadable files are skipped; anything
    else is scanned, so one bad byte in a string literal does not hide the state in the rest of the file.
    """
    try:
        raw = data if data is not None else read_head(file, max_bytes + 1)
    except OSError as err:
        return SourceText(skipped=ParseError(file.rel, f"cannot read ({err.strerror})", "unreadable"))
    if len(raw) > max_bytes:
        return SourceText(skipped=ParseError(file.rel, f"larger than the {max_bytes}-byte limit (max_file_bytes), skipped",
                                             "too-large"))
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _from_utf16(file.rel, raw)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if b"\x00" in raw[:8192]:
        return SourceText(skipped=ParseError(file.rel, "binary file (NUL bytes), skipped", "binary"))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        message = f"not valid UTF-8 (first bad byte on line {line}); undecodable bytes read as U+FFFD"
        return SourceText(raw.decode("utf-8", "replace").encode("utf-8"), degraded=DegradedFile(file.rel, "encoding", message))
    return SourceText(raw)


def _from_utf16(rel: str, raw: bytes) -> SourceText:
    """UTF-16 with a byte-order mark (Windows editors write it) is text: convert it to UTF-8."""
    try:
        return SourceText(raw.decode("utf-16").encode("utf-8"))
    except UnicodeDecodeError:
        message = "invalid UTF-16 after its byte-order mark; undecodable bytes read as U+FFFD"
        return SourceText(raw.decode("utf-16", "replace").encode("utf-8"), degraded=DegradedFile(rel, "encoding", message))


def read_head(file: SourceFile, limit: int) -> bytes:
    """At most `limit` bytes of a file: enough to tell a file over the size limit without reading it all."""
    with open(file.fs_path, "rb") as handle:  # not file.path: a Path object per file cost more than the open
        return handle.read(limit)


def match_file(file: SourceFile, ruleset: RuleSet, include_browser: bool = False,
               max_bytes: int = MAX_FILE_BYTES, data: bytes | None = None) -> FileResult:
    """Parse one file once and run every rule on it; `data` is its content when the caller already read it.

    Never raises for a bug of ours: an exception in one rule is recorded (file, rule, message) and the
    other rules still run; one anywhere else loses this file only."""
    try:
        return _match_file(file, ruleset, include_browser, max_bytes, data)
    except Exception as err:  # noqa: BLE001 - our own bug: the rest of the repository is still scanned
        reraise_if_interrupted(err)
        return FileResult(internal_errors=[InternalError(file.rel, None, describe_exception(err))])
    finally:
        release_index()  # the file's tree goes with it


def _match_file(file: SourceFile, ruleset: RuleSet, include_browser: bool, max_bytes: int,
                data: bytes | None) -> FileResult:
    install_vocabulary(ruleset.vocabulary)
    text = read_source(file, max_bytes, data)
    if text.data is None:
        return FileResult(error=text.skipped)
    source = text.data
    parsed = parse_source(source, file.language, file.rel)
    result = FileResult(lines=source.count(b"\n") + (0 if source.endswith(b"\n") or not source else 1))
    if not include_browser and ruleset.roles.role_by_content(parsed) is not None:
        result.excluded = BROWSER
        return result
    if text.degraded is not None:
        result.degraded.append(text.degraded)
    if parsed.has_errors:
        result.degraded.append(DegradedFile(file.rel, "syntax-error", _syntax_message(parsed)))
    if b"stateaudit:" in source:
        result.suppressions = find_suppressions(parsed.lines)
    rules = ruleset.for_grammar(file.language)
    hits, index = query_and_index([rule.queries[file.language] for rule in rules], parsed.root, file.language,
                                  parsed.source)
    use_index(index)
    module = facts_module(QUERY_LANGUAGE[file.language])
    analysis = module.analyse(parsed)
    result.index = module.file_index(analysis)
    classes: dict[str, Any] = {}
    for info in result.index.classes:
        classes.setdefault(info.name, info)  # the class ServiceIndex.lookup gives for a name and this file
    seen: set[tuple[str, int]] = set()
    for rule, rule_hits in zip(rules, hits, strict=True):
        try:
            matches = _rule_matches(rule, rule_hits, parsed, analysis, module, classes)
        except Exception as err:  # noqa: BLE001 - our own bug: contain it to this file and rule
            reraise_if_interrupted(err)
            result.internal_errors.append(InternalError(file.rel, rule.id, describe_exception(err)))
            continue
        for match in matches:
            key = (rule.id, match.location.line)
            if key not in seen:
                seen.add(key)
                result.matches.append(match)
    return result


def prepare(ruleset: RuleSet, grammars) -> None:
    """Compile, in this process, every query files of these grammars will run.

    Called before forking workers, so they inherit compiled queries instead of each compiling its own.
    """
    for grammar in set(grammars):
        rules = ruleset.for_grammar(grammar)
        prepare_queries([rule.queries[grammar] for rule in rules], lean=True)  # the index rides in the rules' query
        if not rules:
            prepare_index(grammar)
        for rule in rules:
            for test in rule.composition.get(grammar, {}).values():
                for pattern in test.patterns:
                    _ = pattern.query


def _rule_matches(rule: Rule, hits: list, parsed: ParsedFile, analysis, module, classes: dict) -> list[Match]:
    matches = []
    for captures in hits:
        match = _build_match(rule, captures, parsed, analysis, module, classes)
        if match is not None:
            matches.append(match)
    return matches


def _syntax_message(parsed: ParsedFile) -> str:
    if parsed.ignored_lines:
        shown = ", ".join(map(str, parsed.ignored_lines))
        return f"syntax errors; line(s) {shown} ignored so the rest parses; findings here have lower confidence"
    return "syntax errors; scanned what parses; findings here have lower confidence"


def describe_exception(err: BaseException) -> str:
    """One line naming an internal error: type, message and the innermost stateaudit frame."""
    frame = ""
    tb = err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if "stateaudit" in code.co_filename:
            frame = f" (at {Path(code.co_filename).name}:{tb.tb_lineno} in {code.co_name})"
        tb = tb.tb_next
    text = " ".join(str(err).split())[:200]
    return f"{type(err).__name__}: {text}{frame}" if text else f"{type(err).__name__}{frame}"


def _first(captures: dict[str, list[Any]], name: str):
    nodes = captures.get(name)
    return nodes[0] if nodes else None


def _build_match(rule: Rule, captures, parsed: ParsedFile, analysis, module, classes: dict) -> Match | None:
    target = _first(captures, "target")
    if target is None or not composition_holds(rule, target, parsed.language):
        return None
    name = _first(captures, "name")
    value = _first(captures, "value")
    subject = rule.subject if rule.subject != "auto" else subject_of(rule.kind, target.type)
    if subject == "global":
        subject = module.GLOBALS_ARE  # "state" where the language has no global statement (TypeScript)
    if subject == "state":
        # Cheapest first; each step stops a candidate whose rule cannot hold on what is known so far.
        shape = _memo(analysis, "_shape_facts", (target, name, value),
                      lambda: module.shape_facts(analysis, target, name, value))
        if not _shape_may_hold(analysis, rule, shape, classes):
            return None  # another container or declaration keyword
        scope = module.state_scope(analysis, target, name, value)
        if not may_hold(rule.where, {"scope": scope}):  # the join never changes scope
            return None  # the rule wants state of another scope
        early = _memo(analysis, "_early_facts", (target, name, value),
                      lambda: module.early_state_facts(analysis, target, name, value, scope, shape))
        if not may_hold(rule.where, settled_early(early, classes)):
            return None  # the owner class is not a singleton: its uses need not be looked up
        facts, writes = _memo(analysis, "_state_facts", (target, name, value),
                              lambda: module.state_facts(analysis, target, name, value, scope, early))
    elif subject == "global":
        shape = _memo(analysis, "_global_shapes", (target, name),
                      lambda: module.global_shape_facts(analysis, target, name))
        if not may_hold(rule.where, settled_early(shape[0], classes)):
            return None  # never rebound, or reported at another node: its clients and writes need no reading
        facts, writes = module.global_facts(analysis, target, name, shape)
    elif subject == "singleton":
        cls = _first(captures, "class")
        facts, writes = module.singleton_facts(analysis, target, node_text(cls) if cls is not None else None)
    elif subject == "call":
        call = _first(captures, "call") or target
        shape = _memo(analysis, "_call_shapes", (call,), lambda: module.call_shape_facts(analysis, call))
        if not may_hold(rule.where, settled_shape(shape)):
            return None  # another callee, mode or receiver: the code around the call need not be read
        facts, writes = module.call_facts(analysis, call, shape)
    elif subject == "decorator":
        facts, writes = module.decorator_facts(analysis, target)
    else:
        if not _may_hold_before(rule, module.CLASS_FACTS_LATER, _identity(rule, parsed), classes,
                                lambda: module.class_facts(analysis, target, later=False)[0]):
            return None  # its name or fields already fail the rule: its body need not be read again
        facts, writes = module.class_facts(analysis, target)
    facts = Facts.from_extractor({**facts, **_identity(rule, parsed)})
    if not may_hold(rule.where, settled(facts, classes)):
        return None  # fails on what the file alone decides: no service-wide fact can change that
    location = parsed.location(target)
    return Match(
        rule_id=rule.id, kind=rule.kind, location=location, language=parsed.language,
        symbol=facts.get("symbol") or None, snippet=_snippet(parsed, location.line, location.end_line),
        facts=facts, write_sites=tuple(writes),
    )


def _identity(rule: Rule, parsed: ParsedFile) -> dict[str, str]:
    """The facts every candidate of a rule in a file has; made only for a candidate that gets that far."""
    return {"rule": rule.id, "kind": rule.kind, "language": parsed.language, "path": parsed.rel}


def _shape_may_hold(analysis, rule: Rule, shape: dict[str, Any], classes: dict) -> bool:
    """may_hold(rule.where, settled_early(shape, classes)), worked out once per file for each rule and shape.

    A file's state candidates come by the thousand (every local collection-shaped assignment) and share a
    handful of shapes (`{"container": None}` above all); the answer depends on the shape alone, for
    settled_early reads the file's classes only for a field's owner, which a shape never names (no scope, no
    class name there). A shape that names them, or holds a value that cannot be a key, is worked out each time.
    """
    if "scope" in shape or "class_name" in shape:
        return may_hold(rule.where, settled_early(shape, classes))
    verdicts = analysis.__dict__.setdefault("_shape_verdicts", {})
    key = (rule.id, *shape.items())
    try:
        if key not in verdicts:
            verdicts[key] = may_hold(rule.where, settled_early(shape, classes))
        return verdicts[key]
    except TypeError:  # an unhashable fact value
        return may_hold(rule.where, settled_early(shape, classes))


def _may_hold_before(rule: Rule, later: frozenset[str], identity: dict[str, str], classes: dict,
                     early: Callable[[], dict[str, Any]]) -> bool:
    """Can the rule still hold, judged on every fact of the candidate but the costly `later` ones (`early()`
    computes the others)? Those count as unknown, so this never drops what the full facts would keep."""
    return may_hold(rule.where, settled(Facts.from_extractor({**early(), **identity}), classes, unknown=later))


def _memo(analysis, table: str, nodes: tuple, compute):
    """A candidate's facts, computed once per file however many rules capture its nodes (a module-level
    `let cache = new Map()` is a candidate of ts.module-collection and of ts.mutable-global)."""
    known = analysis.__dict__.setdefault(table, {})
    key = tuple(node.id if node is not None else None for node in nodes)
    if key not in known:
        known[key] = compute()
    return known[key]


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
        below = (n for child in children_of(target) for n in walk(child))
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


__all__ = ["FileResult", "PackedResult", "SourceText", "describe_exception", "match_file", "pack", "read_source", "unpack", "walk"]
