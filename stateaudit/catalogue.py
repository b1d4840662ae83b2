"""Rule catalogue: list the loaded rules, explain one, and write docs/rules.md, all from the rule files."""

from __future__ import annotations

import difflib
import json

from rich.table import Table

from .ruleset import Rule, RuleSet
from .templating import rule_markdown

HEADER = """# Rule catalogue

<!-- Generated from rules/*.yaml by `stateaudit rules --format markdown > docs/rules.md`; do not edit by hand. -->

Each rule gives a default risk; the risk of a finding comes from the classification tables
(`rules/classify/`), which weigh what the state is for and where it is stored.
See [writing-rules.md](writing-rules.md) to change them or add your own.
"""

class UnknownRule(KeyError):
    """A rule id that is not loaded; str() suggests the closest id."""

    def __str__(self) -> str:
        return str(self.args[0])


def find_rule(ruleset: RuleSet, rule_id: str) -> Rule:
    """The rule with this id, or UnknownRule with a did-you-mean."""
    if rule_id in ruleset.rules:
        return ruleset.rules[rule_id]
    hint = difflib.get_close_matches(rule_id, list(ruleset.rules), n=1, cutoff=0.5)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else "; run `stateaudit rules` to list them"
    raise UnknownRule(f"unknown rule '{rule_id}'{suggestion}")


def rows(ruleset: RuleSet) -> list[dict[str, object]]:
    """One plain record per rule, sorted by id: what `stateaudit rules` shows."""
    return [{"id": r.id, "languages": list(r.languages), "kind": r.kind, "risk": r.risk.name, "title": r.title,
             "path": r.path.as_posix()} for r in sorted(ruleset.rules.values(), key=lambda r: r.id)]


def rules_table(ruleset: RuleSet) -> Table:
    """The terminal view of `stateaudit rules`."""
    table = Table(show_lines=False, header_style="bold")
    for column in ("Rule", "Languages", "Kind", "Default risk"):
        table.add_column(column, no_wrap=True)
    table.add_column("Title", overflow="fold")
    for row in rows(ruleset):
        languages = ", ".join("ts" if x == "typescript" else "js" if x == "javascript" else "py" for x in row["languages"])
        table.add_row(str(row["id"]), languages, str(row["kind"]), str(row["risk"]), str(row["title"]))
    return table


def render_json(ruleset: RuleSet) -> str:
    listed = [{k: v for k, v in row.items() if k != "path"} for row in rows(ruleset)]
    return json.dumps(listed, indent=2, sort_keys=True) + "\n"


def render_markdown(ruleset: RuleSet) -> str:
    """The whole catalogue: an index table, then each rule's documentation (docs/rules.md)."""
    ordered = sorted(ruleset.rules.values(), key=lambda r: r.id)
    index = ["| Rule | Languages | Kind | Default risk | Title |", "|---|---|---|---|---|"]
    index += [f"| [{r.id}](#{_anchor(r)}) | {', '.join(r.languages)} | {r.kind} | {r.risk.name} | {r.title} |"
              for r in ordered]
    sections = [rule_markdown(r, "##") for r in ordered]
    return "\n".join([HEADER, "\n".join(index) + "\n", *sections])


def _anchor(rule: Rule) -> str:
    """GitHub's heading anchor for `## <id>: <title>`."""
    text = f"{rule.id}: {rule.title}".lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")
