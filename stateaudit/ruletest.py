"""Rule tests: check a fixture's `expect:` / `ok:` marks against what a scan of it reports.

A mark is a comment line of its own, `// expect: RULE-ID[, RULE-ID]` (or `#` in Python), naming the rule
ids that must be reported on the next line that is not itself a mark; `ok: RULE-ID` documents a look-alike
that must stay quiet; `reviewed: RULE-ID` names a candidate the rule must list as reviewed and stateless
(outside the findings, as stateless singletons are). An expected rule id may be followed by the classification the finding must have:
`expect: ts.instance-collection risk=HIGH category=queue shared=no`. A fixture is compared on the rules under test (every loaded rule unless the caller
narrows it, e.g. to a team's own folder) plus every rule its marks name; other rules' findings are ignored.
A fixture is one source file, or a folder with a service manifest: a small service scanned as a whole.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .model import CONFIDENCES, PRIORITIES, SHARED, STORAGES, Finding, Risk
from .ruleset import RuleSet
from .scan import scan
from .services import MANIFESTS
from .syntax import EXTENSIONS

_ENTRY = r"[\w.-]+(?:\s+[a-z_]+=[\w.+-]+)*"
MARK = re.compile(rf"^\s*(?:#|//|/\*+|\*)\s*(expect|ok|reviewed):\s*({_ENTRY}(?:\s*,\s*{_ENTRY})*)")
# The classification fields an `expect:` mark may state, with the values each may take (None: any word).
EXPECTABLE: dict[str, tuple[str, ...] | None] = {
    "risk": tuple(r.name for r in Risk), "category": None, "storage": STORAGES, "shared": SHARED,
    "confidence": CONFIDENCES, "priority": PRIORITIES,
}
REVIEWED = " (reviewed as stateless)"  # how a reviewed candidate is named among the cases
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", ".git", ".venv", "venv"})


@dataclass(frozen=True)
class FixtureResult:
    """Expected and actual (file, line, rule id) cases of one fixture, limited to the rules it checks.

    `file` is relative to the fixture's root: the file's own folder for a single file, the folder itself for a
    service folder.
    """

    path: Path
    expected: frozenset[tuple[str, int, str]]
    actual: frozenset[tuple[str, int, str]]
    problems: tuple[tuple[str, int, str], ...] = ()  # (file, line, message): marks that cannot be checked
    misclassified: tuple[tuple[str, int, str, str], ...] = ()  # (file, line, rule, what differs)
    checked: tuple[tuple[str, int, str, str], ...] = ()  # (file, line, rule, `key=value ...`) stated by marks

    @property
    def found(self) -> list[tuple[str, int, str]]:
        return sorted(self.expected & self.actual)

    @property
    def missing(self) -> list[tuple[str, int, str]]:
        return sorted(self.expected - self.actual)

    @property
    def unexpected(self) -> list[tuple[str, int, str]]:
        return sorted(self.actual - self.expected)

    @property
    def passed(self) -> bool:
        return self.expected == self.actual and not self.problems and not self.misclassified

    def cases(self, display: str | None = None) -> list[str]:
        """One line per case, in file order: `found|missing|unexpected|misclassified|invalid  path:line  rule`."""
        where = display or self.path.as_posix()
        wrong = {(rel, line, rule): text for rel, line, rule, text in self.misclassified}
        stated = {(rel, line, rule): text for rel, line, rule, text in self.checked}
        rows = [(rel, line, "misclassified", f"{rule}: {wrong[rel, line, rule]}") if (rel, line, rule) in wrong
                else (rel, line, "found", f"{rule} {stated.get((rel, line, rule), '')}".strip())
                for rel, line, rule in self.found]
        rows += [(rel, line, status, rule) for status, cases in (("missing", self.missing), ("unexpected", self.unexpected))
                 for rel, line, rule in cases]
        rows += [(rel, line, "invalid", message) for rel, line, message in self.problems]
        return [f"{status:<10}  {self._place(where, rel)}:{line}  {text}" for rel, line, status, text in sorted(rows)]

    def _place(self, where: str, rel: str) -> str:
        return f"{where}/{rel}" if self.path.is_dir() else where


@dataclass(frozen=True)
class Mark:
    line: int  # the comment's own line
    kind: str  # "expect" | "ok" | "reviewed"
    rule_id: str
    target: int  # the code line it speaks about; 0 when no code line follows
    classification: tuple[tuple[str, str], ...] = ()  # (field, value) the finding must have, as written


def read_marks(path: Path) -> list[Mark]:
    """Every mark in the file; consecutive marks all name the first following line that is not a mark."""
    marks: list[Mark] = []
    pending: list[tuple[int, str, str, tuple[tuple[str, str], ...]]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        found = MARK.match(text)
        if found:
            for entry in found.group(2).split(","):
                rule, *pairs = entry.split()
                pending.append((number, found.group(1), rule, tuple(tuple(p.split("=", 1)) for p in pairs)))
            continue
        marks += [Mark(line, kind, rule, number, pairs) for line, kind, rule, pairs in pending]
        pending = []
    return marks + [Mark(line, kind, rule, 0, pairs) for line, kind, rule, pairs in pending]


def classification_problem(mark: Mark) -> str | None:
    """Why a mark's `field=value` pairs cannot be checked, or None."""
    if mark.classification and mark.kind != "expect":
        return f"an '{mark.kind}:' mark takes no classification; only 'expect:' does"
    for key, value in mark.classification:
        if key not in EXPECTABLE:
            hint = difflib.get_close_matches(key, list(EXPECTABLE), n=1)
            return f"unknown classification field '{key}' (use {', '.join(EXPECTABLE)})" + (
                f"; did you mean '{hint[0]}'?" if hint else "")
        allowed = EXPECTABLE[key]
        if allowed is not None and _normal(key, value) not in allowed:
            return f"'{key}' must be one of {', '.join(allowed)} (got '{value}')"
    return None


def _normal(key: str, value: str) -> str:
    return value.upper() if key in ("risk", "priority") else value


def classification_differences(mark: Mark, finding: Finding) -> str:
    """`risk is LOW, expected HIGH; ...` for each stated field the finding does not have; empty when all agree."""
    differences = []
    for key, value in mark.classification:
        actual = finding.risk.name if key == "risk" else str(getattr(finding, key))
        if actual != _normal(key, value):
            differences.append(f"{key} is {actual}, expected {value}")
    return "; ".join(differences)


def check_fixture(path: Path, ruleset: RuleSet, under_test: frozenset[str] | None = None) -> FixtureResult:
    """Scan one fixture through the real pipeline and compare its findings with its marks.

    A fixture is a file, scanned alone, or a service folder, scanned whole so that facts that cross files
    (imported classes, instantiation sites) are tested the way users meet them. `under_test` limits the
    comparison to those rule ids (plus any rule a mark names); None means all.
    """
    root = path if path.is_dir() else path.parent
    sources = _source_files(path) if path.is_dir() else [path]
    marks = [(source.relative_to(root).as_posix(), mark) for source in sources for mark in read_marks(source)]
    problems = [(rel, m.line, f"'{m.kind}:' mark with no code line after it") for rel, m in marks if not m.target]
    for rel, mark in marks:
        if mark.rule_id not in ruleset.rules:
            hint = difflib.get_close_matches(mark.rule_id, list(ruleset.rules), n=1)
            problems.append((rel, mark.line, f"mark names unknown rule '{mark.rule_id}'"
                             + (f"; did you mean '{hint[0]}'?" if hint else "")))
        if (problem := classification_problem(mark)) is not None:
            problems.append((rel, mark.line, problem))
    checked = (set(ruleset.rules) if under_test is None else set(under_test)) | {m.rule_id for _, m in marks}
    result = scan(root, Config(include_tests=True), ruleset, None if path.is_dir() else [path])
    report = result.report
    problems += [(e.path, 1, f"not scanned: {e.message}") for e in report.errors]
    problems += [(e.path, 1, f"internal error{f' in rule {e.rule}' if e.rule else ''}: {e.message}")
                 for e in report.internal_errors]
    findings = {(f.location.path, f.location.line, f.rule_id): f for f in result.report.findings
                if not f.suppressed and f.rule_id in checked}
    reviewed = {(r.location.path, r.location.line, r.rule_id + REVIEWED) for r in result.report.reviewed
                if r.rule_id in checked}
    expected = {(rel, m.target, m.rule_id + (REVIEWED if m.kind == "reviewed" else ""))
                for rel, m in marks if m.kind in ("expect", "reviewed") and m.target}
    stated = [((rel, m.target, m.rule_id), m) for rel, m in marks
              if m.kind == "expect" and m.classification and classification_problem(m) is None]
    wrong = [(*case, text) for case, m in stated if case in findings
             and (text := classification_differences(m, findings[case]))]
    described = [(*case, " ".join(f"{k}={v}" for k, v in m.classification)) for case, m in stated]
    return FixtureResult(path, frozenset(expected), frozenset(findings) | reviewed, tuple(sorted(set(problems))),
                         tuple(sorted(wrong)), tuple(sorted(described)))


def fixture_paths(folder: Path) -> list[Path]:
    """The fixtures under `folder`, sorted: each source file, except that a folder holding a service manifest
    (package.json, pyproject.toml ...) is one fixture, a small multi-file service. `folder` may itself be either.
    """
    if folder.is_file() or _is_service(folder):
        return [folder]
    found: list[Path] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        for entry in current.iterdir():
            if entry.is_dir() and entry.name not in SKIPPED_DIRS:
                (found.append if _is_service(entry) else stack.append)(entry)
            elif entry.is_file() and entry.suffix.lower() in EXTENSIONS:
                found.append(entry)
    return sorted(found)


def _is_service(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).is_file() for name in MANIFESTS)


def _source_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS
                  and not SKIPPED_DIRS & set(p.relative_to(folder).parts))


def rule_folders(dirs: list[Path], extra: list[Path], shipped: Path) -> list[Path]:
    """The team's rule folders for a test run: `--rules` folders, and fixture folders that hold rule files."""
    folders = [p.resolve() for p in extra]
    folders += [d.resolve() for d in dirs if d.is_dir() and any(d.glob("*.y*ml")) and d.resolve() not in folders]
    return [d for d in folders if d != shipped.resolve()]


def rules_under_test(ruleset: RuleSet, folders: list[Path]) -> frozenset[str] | None:
    """Ids of the rules loaded from `folders`; None (every rule) when no folder was given."""
    if not folders:
        return None
    return frozenset(r.id for r in ruleset.rules.values() if r.path.parent.resolve() in folders)


def summary(results: list[FixtureResult]) -> str:
    failed = sum(1 for r in results if not r.passed)
    found, missing, unexpected, misclassified = (sum(len(getattr(r, k)) for r in results)
                                                 for k in ("found", "missing", "unexpected", "misclassified"))
    return (f"{len(results)} fixture files, {failed} failed: {found} found, {missing} missing, "
            f"{unexpected} unexpected" + (f", {misclassified} misclassified" if misclassified else ""))
