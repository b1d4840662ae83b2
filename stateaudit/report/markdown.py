"""The state inventory as Markdown: the view model of stateaudit.inventory through templates/report.md.j2."""

from __future__ import annotations

from ..inventory import build_inventory
from ..model import Report
from ..templating import environment


def render(report: Report) -> str:
    return environment().get_template("report.md.j2").render(inv=build_inventory(report))
