"""Matcher composition: `inside`, `not_inside` and `has` constrain where a rule's @target may be."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stateaudit.match import match_file
from stateaudit.model import SourceFile
from stateaudit.ruleset import RuleError, load_rules

TS_SAMPLE = """\
const a = new Thing();
class Box {
  b = new Thing();
  run() { describe('x', () => { const c = new Thing(); }); }
}
function f() { return new Thing(new Inner()); }
"""

PY_SAMPLE = """\
a = Thing()
class Box:
    b = Thing()
"""

RULE = """\
id: team.thing
title: Things
kind: cache
languages: [{languages}]
risk: LOW
message: "{{symbol}}"
queries:
  typescript: |
    (new_expression constructor: (identifier) @c (#eq? @c "Thing")) @target
{python_query}docs: {{what: w, why: y, fix: f}}
{composition}
"""

DESCRIBE = '(call_expression function: (identifier) @fn (#eq? @fn "describe"))'


PY_QUERY = """\
  python: |
    (call function: (identifier) @c (#eq? @c "Thing")) @target
"""


def lines_found(tmp_path: Path, composition: str, sample: str = TS_SAMPLE, name: str = "sample.ts",
                with_python: bool = False) -> set[int]:
    """Lines where the test rule matches in `sample`; with_python makes it a TypeScript + Python rule."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    text = RULE.format(composition=textwrap.dedent(composition), python_query=PY_QUERY if with_python else "",
                       languages="typescript, python" if with_python else "typescript")
    (rules / "team.thing.yaml").write_text(text, encoding="utf-8")
    source = tmp_path / name
    source.write_text(sample, encoding="utf-8")
    language = "python" if name.endswith(".py") else "typescript"
    result = match_file(SourceFile(source, name, language), load_rules([rules]))
    return {m.location.line for m in result.matches}


@pytest.mark.parametrize("composition, expected", [
    ("", {1, 3, 4, 6}),
    ("inside: [class_body]", {3, 4}),
    (f"not_inside:\n  - '{DESCRIBE}'", {1, 3, 6}),
    ("has: [new_expression]", {6}),
    ("has:\n  - '(new_expression constructor: (identifier) @i (#eq? @i \"Inner\"))'", {6}),
    ("has:\n  - '(new_expression constructor: (identifier) @i (#eq? @i \"Other\"))'", set()),
    ("inside: [class_body]\nnot_inside: [arrow_function]", {3}),
    ("inside: [class_body, function_declaration]", {3, 4, 6}),
], ids=["none", "inside-type", "not-inside-pattern", "has-type", "has-pattern", "has-pattern-absent",
        "inside-and-not-inside", "inside-any-of"])
def test_composition_filters_targets_by_ancestors_and_descendants(tmp_path, composition, expected):
    assert lines_found(tmp_path, composition) == expected


def test_composition_inside_pattern_needs_the_pattern_to_start_at_the_ancestor(tmp_path):
    # `(class_declaration)` starts at the class; the statement_block of `f` contains no class at all.
    assert lines_found(tmp_path, "inside:\n  - (class_declaration)") == {3, 4}


def test_composition_mapping_applies_only_to_the_named_language(tmp_path):
    composition = "inside:\n  python: [class_definition]"
    assert lines_found(tmp_path, composition, with_python=True) == {1, 3, 4, 6}
    assert lines_found(tmp_path, composition, PY_SAMPLE, "sample.py", with_python=True) == {3}


def test_composition_list_must_fit_every_language_of_the_rule(tmp_path):
    with pytest.raises(RuleError, match="'class_body' in 'inside' is not a python node type"):
        lines_found(tmp_path, "inside: [class_body]", with_python=True)
