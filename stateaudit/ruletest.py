"""Rule tests: check a fixture file's `expect:` / `ok:` marks against what a scan of it reports.

A mark is a comment line of its own, `// expect: RULE-ID[, RULE-ID]` (or `#` in Python), naming the rule
ids that must be reported on the next line that is not itself a mark; `ok: RULE-ID` documents a look-alike
that must stay quiet. A fixture is compared on the rules under test (every loaded rule unless the caller
narrows it, e.g. to a team's own folder) plus every rule its marks name; other rules' findings are ignored.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .ruleset import RuleSet
from .scan import scan
from .syntax import EXTENSIONS

MARK = re.compile(r"^\s*(?:#|//|/\*+|\*)\s*(expect|ok):\s*([\w.-]+(?:\s*,\s*[\w.-]+)*)")
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", ".git", ".venv", "venv"})


@dataclass(frozen=True)
class FixtureResult:
    """Expected and actual (line, rule id) pairs of one fixture file, limited to the rules it checks."""

    path: Path
    expected: frozenset[tuple[int, str]]
    actual: frozenset[tuple[int, str]]
    problems: tuple[tuple[int, str], ...] = ()  # (line, message): marks that cannot be checked

    @property
    def found(self) -> list[tuple[int, str]]:
        return sorted(self.expected & self.actual)

    @property
    def missing(self) -> list[tuple[int, str]]:
        return sorted(self.expected - self.actual)

    @property
    def unexpected(self) -> list[tuple[int, str]]:
        return sorted(self.actual - self.expected)

    @property
    def passed(self) -> bool:
        return self.expected == self.actual and not self.problems

    def cases(self, display: str | None = None) -> list[str]:
        """One line per case, in file order: `found|missing|unexpected|invalid  path:line  rule`."""
        where = display or self.path.as_posix()
        rows = [(line, status, rule) for status, pairs in (("found", self.found), ("missing", self.missing),
                                                         ("unexpected", self.unexpected)) for line, rule in pairs]
        rows += [(line, "invalid", message) for line, message in self.problems]
        return [f"{status:<10}  {where}:{line}  {text}" for line, status, text in sorted(rows)]


@dataclass(frozen=True)
class Mark:
    line: int  # the comment's own line
    kind: str  # "expect" | "ok"
    rule_id: str
    target: int  # the code line it speaks about; 0 when no code line follows


def read_marks(path: Path) -> list[Mark]:
    """Every mark in the file; consecutive marks all name the first following line that is not a mark."""
    marks: list[Mark] = []
    pending: list[tuple[int, str, str]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        found = MARK.match(text)
        if found:
            pending += [(number, found.group(1), rule.strip()) for rule in found.group(2).split(",")]
            continue
        marks += [Mark(line, kind, rule, number) for line, kind, rule in pending]
        pending = []
    return marks + [Mark(line, kind, rule, 0) for line, kind, rule in pending]


def check_fixture(path: Path, ruleset: RuleSet, under_test: frozenset[str] | None = None) -> FixtureResult:
    """Scan one fixture file through the real pipeline and compare its findings with its marks.

    `under_test` limits the comparison to those rule ids (plus any rule a mark names); None means all.
    """
    marks = read_marks(path)
    problems = [(m.line, f"'{m.kind}:' mark with no code line after it") for m in marks if not m.target]
    for mark in marks:
        if mark.rule_id not in ruleset.rules:
            hint = difflib.get_close_matches(mark.rule_id, list(ruleset.rules), n=1)
            problems.append((mark.line, f"mark names unknown rule '{mark.rule_id}'"
                             + (f"; did you mean '{hint[0]}'?" if hint else "")))
    checked = (set(ruleset.rules) if under_test is None else set(under_test)) | {m.rule_id for m in marks}
    result = scan(path.parent, Config(include_tests=True), ruleset, [path])
    report = result.report
    problems += [(1, f"not scanned: {e.message}") for e in report.errors]
    problems += [(1, f"internal error{f' in rule {e.rule}' if e.rule else ''}: {e.message}") for e in report.internal_errors]
    actual = {(f.location.line, f.rule_id) for f in result.report.findings
              if not f.suppressed and f.rule_id in checked}
    expected = {(m.target, m.rule_id) for m in marks if m.kind == "expect" and m.target}
    return FixtureResult(path, frozenset(expected), frozenset(actual), tuple(sorted(set(problems))))


def fixture_files(folder: Path) -> list[Path]:
    """Source files under `folder` (or `folder` itself if it is a file), sorted."""
    if folder.is_file():
        return [folder]
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
    found, missing, unexpected = (sum(len(getattr(r, k)) for r in results) for k in ("found", "missing", "unexpected"))
    return (f"{len(results)} fixture files, {failed} failed: {found} found, {missing} missing, "
            f"{unexpected} unexpected")
