"""Stage 7: formatters. Each is a leaf: Report in, string out."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from ..model import Report


def _render(module: str) -> Callable[[Report], str]:
    """The `render` of one formatter module, imported on first use: the HTML and Markdown formatters load
    templates and a Markdown parser that a scan writing JSON never needs."""

    def render(report: Report) -> str:
        return import_module(f"{__name__}.{module}").render(report)

    render.__name__ = render.__qualname__ = f"render_{module}"
    return render


FORMATTERS: dict[str, Callable[[Report], str]] = {
    "html": _render("html"),
    "json": _render("json"),
    "md": _render("markdown"),
    "sarif": _render("sarif"),
}
