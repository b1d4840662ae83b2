"""Stage 7: formatters. Each is a leaf: Report in, string out."""

from __future__ import annotations

from typing import Callable

from ..model import Report
from . import json as json_report
from . import markdown, sarif

FORMATTERS: dict[str, Callable[[Report], str]] = {
    "json": json_report.render,
    "md": markdown.render,
    "sarif": sarif.render,
}
