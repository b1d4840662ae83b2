"""Baselines: accept the findings a team already knows about, so the gate only fails on new ones.

A baseline file (`.stateaudit-baseline.json`, written by `stateaudit baseline`) lists today's findings
one entry per finding, keyed by the report's fingerprint. Fingerprints are unique within a report
(see stateaudit.fingerprints): two identical findings are two entries, so a baseline never hides a
new copy of an accepted finding. An older baseline, a findings JSON report, is still read.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .fingerprints import unique_in_report
from .model import Finding, Risk, SuppressionNote

BASELINE_NAME = ".stateaudit-baseline.json"
FORMAT_VERSION = 1
FORMAT_KEY = "stateaudit_baseline"


class BaselineError(Exception):
    """A baseline file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Entry:
    """One accepted finding: its fingerprint, plus what a person needs to recognise it."""

    fingerprint: str
    rule: str
    file: str
    line: int
    symbol: str | None
    risk: str
    snippet: str

    def label(self) -> str:
        name = f" {self.symbol}" if self.symbol else ""
        return f"{self.file}:{self.line} {self.rule}{name} ({self.risk})"


@dataclass(frozen=True)
class Baseline:
    path: Path
    entries: tuple[Entry, ...]
    legacy: bool = False  # read from a findings JSON report rather than a baseline file

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)


@dataclass(frozen=True)
class BaselineOutcome:
    """What applying a baseline did: how many findings it covered, and its entries that no longer match."""

    path: Path
    covered: int
    fixed: tuple[Entry, ...]


def entry_of(f: Finding) -> Entry:
    return Entry(f.fingerprint, f.rule_id, f.location.path, f.location.line, f.symbol, f.risk.name, f.snippet)


def _entry_from(item: dict[str, Any]) -> Entry:
    return Entry(str(item["fingerprint"]), str(item.get("rule", "")), str(item.get("file", "")),
                 int(item.get("line") or 0), item.get("symbol"), str(item.get("risk", "")), str(item.get("snippet", "")))


def load_baseline(path: Path) -> Baseline:
    """A baseline file, or a findings JSON report (the format before `stateaudit baseline` existed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BaselineError(f"{path}:1: cannot read baseline ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise BaselineError(f"{path}:1: the baseline is not a findings JSON report or baseline file "
                            f"(not UTF-8: byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise BaselineError(f"{path}:{err.lineno}: the baseline is not a findings JSON report or baseline file: "
                            f"truncated or invalid JSON ({err.msg}, column {err.colno}); write it again with "
                            f"`stateaudit baseline -o {path}`") from None
    except RecursionError:
        raise BaselineError(f"{path}:1: the baseline is not a findings JSON report (nested too deeply)") from None
    if isinstance(data, dict) and FORMAT_KEY in data:
        if data[FORMAT_KEY] != FORMAT_VERSION:
            raise BaselineError(f"{path}:1: baseline format {data[FORMAT_KEY]!r} is not one this version reads "
                                f"({FORMAT_VERSION}); rewrite it with `stateaudit baseline -o {path}`")
        items = data.get("entries")
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("fingerprint"), str)
                                                  for i in items):
            raise BaselineError(f"{path}:1: the baseline's 'entries' must be a list of objects with a fingerprint")
        return Baseline(path, tuple(_entry_from(i) for i in items))
    findings = data.get("findings") if isinstance(data, dict) else None
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(findings, list) or not isinstance(tool, dict) or tool.get("name") != "stateaudit":
        raise BaselineError(f"{path}:1: not a stateaudit findings JSON report or baseline file (no 'entries', "
                            f"or no 'tool' stateaudit and 'findings' list); write one with `stateaudit baseline -o {path}`")
    if not all(isinstance(f, dict) and isinstance(f.get("fingerprint"), str) for f in findings):
        raise BaselineError(f"{path}:1: the baseline has findings without a 'fingerprint' string; "
                            f"write it again with `stateaudit baseline -o {path}`")
    unique = unique_in_report(findings)
    return Baseline(path, tuple(_entry_from(dict(f, fingerprint=fp)) for f, fp in unique), legacy=True)


def baseline_dict(findings: Iterable[Finding], tool_version: str) -> dict[str, Any]:
    """A new baseline accepting every finding not already suppressed inline."""
    return entries_dict((entry_of(f) for f in findings if not f.suppressed), tool_version)


def entries_dict(entries: Iterable[Entry], tool_version: str) -> dict[str, Any]:
    """The baseline file's content: counts for a reader, then one entry per accepted finding."""
    kept = list(entries)
    by_risk = Counter(e.risk for e in kept)
    return {
        FORMAT_KEY: FORMAT_VERSION,
        "tool": {"name": "stateaudit", "version": tool_version},
        "counts": {
            "findings": len(kept),
            "by_risk": {r.name: by_risk.get(r.name, 0) for r in sorted(Risk, reverse=True)},
            "by_rule": dict(sorted(Counter(e.rule for e in kept).items())),
        },
        "entries": [{"fingerprint": e.fingerprint, "rule": e.rule, "file": e.file, "line": e.line,
                     "symbol": e.symbol, "risk": e.risk, "snippet": e.snippet} for e in kept],
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def apply_baseline(findings: list[Finding], baseline: Baseline | None) -> tuple[list[Finding], BaselineOutcome | None]:
    """Findings whose fingerprint the baseline holds are kept, marked suppressed; the gate skips them.

    Also returns how many were covered and which entries matched nothing (fixed, or changed beyond
    recognition): `stateaudit baseline --prune` drops those.
    """
    if baseline is None:
        return findings, None
    accepted = baseline.fingerprints
    note = SuppressionNote("baseline", f"accepted in the baseline {baseline.path.name}")
    result, seen = [], set()
    for f in findings:
        if f.fingerprint in accepted and not f.suppressed:
            seen.add(f.fingerprint)
            f = replace(f, suppressed=True, suppression=note, reasons=(*f.reasons, "accepted in the baseline"))
        elif f.fingerprint in accepted:
            seen.add(f.fingerprint)
        result.append(f)
    fixed = tuple(e for e in baseline.entries if e.fingerprint not in seen)
    covered = sum(1 for f in result if f.suppression is note)
    return result, BaselineOutcome(baseline.path, covered, fixed)
