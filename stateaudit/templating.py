"""The one jinja2 environment for templates/: strict, autoescaped for HTML only."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .resources import templates_dir


@lru_cache(maxsize=1)
def environment() -> Environment:
    # select_autoescape(["html"]) would not match "report.html.j2": list the full suffix.
    return Environment(
        loader=FileSystemLoader(str(templates_dir())),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html.j2"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def rule_markdown(rule, heading: str = "###") -> str:
    """A rule's documentation as Markdown, from the shared `_rule_doc.md.j2` partial."""
    macro = environment().get_template("_rule_doc.md.j2").module.rule_doc
    return str(macro(rule, heading)).strip() + "\n"
