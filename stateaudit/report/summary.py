"""The short Markdown report (`--format summary`): counts by risk, what is new since the baseline, and the
top CRITICAL and HIGH rows, short enough for a CI job summary or a pull-request comment."""

from __future__ import annotations

from dataclasses import dataclass

from ..baseline import BaselineOutcome
from ..model import Finding, Report, Risk
from ..templating import environment

TOP_ROWS = 10


@dataclass(frozen=True)
class Summary:
    root: str
    files_scanned: int
    services: int
    active: tuple[Finding, ...]
    by_risk: dict[str, int]
    suppressed_inline: int
    baseline: BaselineOutcome | None
    failing: tuple[Finding, ...]
    top: tuple[Finding, ...]
    more: int

    @property
    def failed(self) -> bool:
        return bool(self.failing)


def summarise(report: Report, baseline: BaselineOutcome | None = None,
              failing: tuple[Finding, ...] = ()) -> Summary:
    """The summary's view model; `failing` are the findings that fail the gate (stateaudit.gate.failing)."""
    serious = sorted((f for f in report.active if f.risk >= Risk.HIGH), key=lambda f: -f.risk)
    inline = sum(1 for f in report.findings if f.suppression is not None and f.suppression.kind == "inline")
    return Summary(
        root=report.root, files_scanned=report.files_scanned, services=len(report.services), active=report.active,
        by_risk=report.by_risk(), suppressed_inline=inline, baseline=baseline, failing=failing,
        top=tuple(serious[:TOP_ROWS]), more=max(0, len(serious) - TOP_ROWS),
    )


def render(report: Report, baseline: BaselineOutcome | None = None, failing: tuple[Finding, ...] = ()) -> str:
    return environment().get_template("summary.md.j2").render(s=summarise(report, baseline, failing))
