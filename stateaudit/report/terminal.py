"""The terminal view: one rich table per service and a summary by risk."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..model import Report, Risk

RISK_STYLE = {Risk.CRITICAL: "bold red", Risk.HIGH: "red", Risk.MEDIUM: "yellow", Risk.LOW: "green"}
READINESS = {"ready": ("ready", "green"), "needs-work": ("needs work", "yellow"), "stateful": ("stateful", "bold red")}


def print_report(report: Report, console: Console, show_suppressed: bool = False) -> None:
    for summary in report.services:
        findings = [f for f in summary.findings if show_suppressed or not f.suppressed]
        label, style = READINESS[summary.readiness]
        title = Text.assemble((summary.service.name, "bold"), f"  ({summary.service.path})  ", (label, style))
        if not findings:
            console.print(title, Text("  no in-process state found", style="dim"))
            continue
        table = Table(title=title, title_justify="left", show_lines=False, expand=True)
        table.add_column("Risk", no_wrap=True, min_width=8)
        table.add_column("Component", overflow="fold", ratio=3)
        table.add_column("State", overflow="fold", ratio=2)
        table.add_column("Storage", overflow="fold", ratio=1)
        table.add_column("Shared", overflow="fold", ratio=1)
        table.add_column("Action", overflow="fold", ratio=3)
        for f in findings:
            risk = Text(f.risk.name + (" (ignored)" if f.suppressed else ""), style=RISK_STYLE[f.risk])
            path = _within(f.location.path, summary.service.path)
            # Symbols and paths are text, not markup: `ignore[py.module-collection]` must print as written.
            component = f"{escape(path)}:{f.location.line}\n[dim]{escape(f.symbol or '')} · {f.rule_id}[/dim]"
            if f.write_sites:
                component += f"\n[dim]writes: {escape(_short_sites(f.write_sites, f.location.path))}[/dim]"
            table.add_row(risk, component, f.state_type, f.storage, f.shared, f.action)
        console.print(table)
    counts = report.by_risk()
    summary = Text.assemble(
        (f"{len(report.active)} findings", "bold"), " in ", f"{len(report.services)} services, ",
        f"{report.files_scanned} files: ",
        *[(f"{counts[r.name]} {r.name}  ", RISK_STYLE[r]) for r in sorted(Risk, reverse=True)],
    )
    console.print(summary)
    if report.errors:
        console.print(Text(f"{len(report.errors)} file(s) could not be scanned (see messages above): "
                           f"{_by_reason(report.errors)}", style="dim"))
    if report.degraded:
        console.print(Text(f"{len(report.degraded)} file(s) scanned with problems (see messages above): "
                           f"{_by_reason(report.degraded)}", style="dim"))
    if report.internal_errors:
        console.print(Text(f"{len(report.internal_errors)} internal error(s): stateaudit failed on part of the scan "
                           "(see messages above); the rest was scanned", style="bold red"))
    if report.reviewed:
        console.print(Text(f"{len(report.reviewed)} singleton(s) reviewed and found stateless: listed in the "
                           "reports, not findings", style="dim"))
    excluded = report.excluded_by_role()
    if excluded:
        counts = ", ".join(f"{n} {role} file{'s' if n != 1 else ''}" for role, n in excluded.items())
        flags = " / ".join(f"--include-{role}" for role in excluded)
        console.print(Text(f"Left out by policy: {counts} (scan them with {flags})", style="dim"))


def _by_reason(entries) -> str:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.reason] = counts.get(entry.reason, 0) + 1
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


def _short_sites(sites: tuple[str, ...], own_path: str, limit: int = 4) -> str:
    """`path:41` labels as `L41` when in the finding's own file; the first few, then a count."""
    short = [s[len(own_path) + 1:] if s.startswith(own_path + ":") else s for s in sites]
    text = ", ".join(f"L{s}" if s.isdigit() else s for s in short[:limit])
    return text + (f" (+{len(short) - limit})" if len(short) > limit else "")


def _within(path: str, service_path: str) -> str:
    """A path relative to its service folder: the table's title already names the service."""
    prefix = "" if service_path in ("", ".") else service_path.rstrip("/") + "/"
    return path[len(prefix):] if prefix and path.startswith(prefix) else path
