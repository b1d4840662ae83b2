"""GitHub Actions workflow commands: one `::error file=…,line=…::` annotation per unsuppressed finding.

GitHub shows them on the pull request's changed lines and in the job's summary. Paths must be relative
to the workspace (the repository root), which is where CI runs the scan from: the report's root,
when it is a relative folder below the working directory, is put in front of each finding's path.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ..model import Finding, Report, Risk

LEVELS = {Risk.CRITICAL: "error", Risk.HIGH: "error", Risk.MEDIUM: "warning", Risk.LOW: "notice"}


def escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF are escaped, as the runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,`, which separate properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workspace_path(root: str, path: str) -> str:
    if root in ("", ".") or PurePosixPath(root).is_absolute():
        return path
    return (PurePosixPath(root) / path).as_posix()


def annotation(f: Finding, root: str) -> str:
    loc = f.location
    title = f"{f.risk.name} {f.rule_id}" + (f": {f.symbol}" if f.symbol else "")
    props = (f"file={escape_property(workspace_path(root, loc.path))},line={loc.line},endLine={loc.end_line},"
             f"col={loc.column},title={escape_property(title)}")
    return f"::{LEVELS[f.risk]} {props}::{escape_data(f'{f.message} Action: {f.action}.')}"


def render(report: Report) -> str:
    lines = [annotation(f, report.root) for f in report.active]
    counts = report.by_risk()
    summary = ", ".join(f"{n} {risk}" for risk, n in counts.items() if n) or "none"
    lines.append(f"::notice title=stateaudit::{len(report.active)} unsuppressed findings ({summary}); "
                 f"{len(report.findings) - len(report.active)} suppressed")
    return "\n".join(lines) + "\n"
