"""Stage 7: formatters. Each is a leaf: Report in, string out."""

from __future__ import annotations

from collections.abc import Callable

from ..model import Report
from . import html, markdown, sarif
from . import json as json_report

FORMATTERS: dict[str, Callable[[Report], str]] = {
    "html": html.render,
    "json": json_report.render,
    "md": markdown.render,
    "sarif": sarif.render,
}
