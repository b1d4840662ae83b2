"""`stateaudit diff OLD.json NEW.json`: what appeared, disappeared and changed risk between two scans.

Findings are matched by fingerprint (and repository, for merged reports), so a finding that only moved
is the same finding. Reports from before fingerprints were unique are numbered as a scan numbers them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .fingerprints import unique_in_report
from .model import Risk

RISKS = [r.name for r in sorted(Risk, reverse=True)]


class ReportFileError(Exception):
    """A file that is not a findings JSON report; the message names it."""


def read_report(path: Path) -> dict[str, Any]:
    """A findings JSON report (`scan --format json`, or `merge -o x.json`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ReportFileError(f"{path}: cannot read ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReportFileError(f"{path}: not a findings JSON report ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise ReportFileError(f"{path}: not a findings JSON report (no 'findings' list); "
                              f"write one with `stateaudit scan --format json -o FILE`")
    return data


@dataclass(frozen=True)
class RiskChange:
    old: dict[str, Any]
    new: dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    old_name: str
    new_name: str
    appeared: tuple[dict[str, Any], ...]
    disappeared: tuple[dict[str, Any], ...]
    changed: tuple[RiskChange, ...]
    old_by_risk: dict[str, int]
    new_by_risk: dict[str, int]

    @property
    def unchanged(self) -> bool:
        return not (self.appeared or self.disappeared or self.changed)


def _active(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Unsuppressed findings by (repository, unique fingerprint)."""
    by_repo: dict[str, list[dict]] = {}
    for f in data["findings"]:
        if isinstance(f, dict):
            by_repo.setdefault(str(f.get("repository", "")), []).append(f)
    return {(repo, fp): f for repo, items in by_repo.items() for f, fp in unique_in_report(items)
            if not f.get("suppressed")}


def _counts(findings) -> dict[str, int]:
    counts = dict.fromkeys(RISKS, 0)
    for f in findings:
        if f.get("risk") in counts:
            counts[f["risk"]] += 1
    return counts


def compare(old: dict[str, Any], new: dict[str, Any], old_name: str = "old", new_name: str = "new") -> Comparison:
    """Unsuppressed findings only: accepting a finding in the baseline makes it disappear from the gate's view."""
    before, after = _active(old), _active(new)
    changed = tuple(RiskChange(before[k], after[k]) for k in after if k in before and before[k]["risk"] != after[k]["risk"])
    return Comparison(
        old_name, new_name,
        appeared=tuple(after[k] for k in after if k not in before),
        disappeared=tuple(before[k] for k in before if k not in after),
        changed=changed, old_by_risk=_counts(before.values()), new_by_risk=_counts(after.values()),
    )


def where(f: dict[str, Any]) -> str:
    repo = f"{f['repository']}: " if f.get("repository") else ""
    symbol = f" {f['symbol']}" if f.get("symbol") else ""
    return f"{repo}{f.get('file')}:{f.get('line')}{symbol}"


def render_markdown(c: Comparison) -> str:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = [f"## stateaudit: `{c.old_name}` → `{c.new_name}`", "",
             f"{len(c.appeared)} appeared, {len(c.disappeared)} disappeared, {len(c.changed)} changed risk.", "",
             "| Risk | Before | After | Change |", "|------|-------:|------:|-------:|"]
    for risk in RISKS:
        delta = c.new_by_risk[risk] - c.old_by_risk[risk]
        lines.append(f"| {risk} | {c.old_by_risk[risk]} | {c.new_by_risk[risk]} | {delta:+d} |")
    for title, rows in (("Appeared", c.appeared), ("Disappeared", c.disappeared)):
        if rows:
            lines += ["", f"### {title}", "", "| Risk | Where | Rule | Service | State |", "|---|---|---|---|---|"]
            lines += [f"| {f['risk']} | `{cell(where(f))}` | {f['rule']} | {cell(f.get('service', ''))} | "
                      f"{cell(f.get('state_type', ''))} |" for f in rows]
    if c.changed:
        lines += ["", "### Changed risk", "", "| Before | After | Where | Rule |", "|---|---|---|---|"]
        lines += [f"| {ch.old['risk']} | {ch.new['risk']} | `{cell(where(ch.new))}` | {ch.new['rule']} |"
                  for ch in c.changed]
    return "\n".join(lines) + "\n"


def print_table(c: Comparison, console: Console) -> None:
    counts = Table(title=f"{c.old_name} → {c.new_name}", title_justify="left")
    for column in ("Risk", "Before", "After", "Change"):
        counts.add_column(column, justify="left" if column == "Risk" else "right")
    for risk in RISKS:
        counts.add_row(risk, str(c.old_by_risk[risk]), str(c.new_by_risk[risk]),
                       f"{c.new_by_risk[risk] - c.old_by_risk[risk]:+d}")
    console.print(counts)
    if c.unchanged:
        console.print("No finding appeared, disappeared or changed risk.")
        return
    rows = Table(expand=True)
    rows.add_column("Change", no_wrap=True)
    rows.add_column("Risk", no_wrap=True)
    rows.add_column("Where", overflow="fold", ratio=3)
    rows.add_column("Rule", no_wrap=True)
    for f in c.appeared:
        rows.add_row("[red]appeared[/red]", f["risk"], escape(where(f)), f["rule"])
    for f in c.disappeared:
        rows.add_row("[green]disappeared[/green]", f["risk"], escape(where(f)), f["rule"])
    for ch in c.changed:
        rows.add_row("risk changed", f"{ch.old['risk']} → {ch.new['risk']}", escape(where(ch.new)), ch.new["rule"])
    console.print(rows)
