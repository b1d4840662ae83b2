"""Stage 7: the state inventory as one self-contained HTML page, through templates/report.html.j2.

The page carries its CSS and a little JS inline and loads nothing else, so it works offline and
can be attached to a ticket. The content is the view model of stateaudit.inventory, the same one
the Markdown report renders; the template is autoescaped (`*.html.j2`).
"""

from __future__ import annotations

from collections.abc import Mapping

from markdown_it import MarkdownIt
from markupsafe import Markup

from ..inventory import build_inventory
from ..model import Report
from ..templating import environment, rule_markdown
from .chart import findings_chart


def rule_docs(report: Report) -> Mapping[str, Markup]:
    """Each fired rule's documentation as HTML, from the Markdown partial every output shares.

    Raw HTML in rule docs is not passed through (`html: False` escapes it), and markdown-it refuses
    `javascript:` and similar link targets, so a team's own rule files cannot inject markup.
    """
    md = MarkdownIt("commonmark", {"html": False})
    return {rule_id: Markup(md.render(rule_markdown(rule, "###"))) for rule_id, rule in report.rules.items()}


def render(report: Report) -> str:
    inventory = build_inventory(report)
    chart = findings_chart((s.name, "service-" + s.name.replace(" ", "-"), s.by_risk) for s in inventory.services)
    return environment().get_template("report.html.j2").render(inv=inventory, docs=rule_docs(report), chart=chart)
