"""Golden reports and the Markdown inventory's internal consistency.

Regenerate the golden files after an intended change with `python -m pytest tests/test_reports.py --update-golden`,
then review the diff.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.report import FORMATTERS
from stateaudit.report.json import to_dict
from stateaudit.scan import scan

from .conftest import REPO

GOLDEN = REPO / "tests" / "golden"
SUMMARY_ROW = re.compile(r"^\| \*\*(CRITICAL|HIGH|MEDIUM|LOW)\*\*[^|]*\| (\d+) \|$")
TOTAL_ROW = re.compile(r"^\| \*\*In-process state found\*\* \| (\d+) \|$")


def assert_golden(actual: str, golden: Path, update: bool) -> None:
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing; run pytest --update-golden"
    assert actual == golden.read_text(encoding="utf-8"), f"{golden} changed; review, then --update-golden"


def section(markdown: str, title: str) -> str:
    """The text of one `## title` section, up to the next level-2 heading."""
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end != -1 else len(markdown)]


def summary_counts(markdown: str) -> tuple[int, dict[str, int]]:
    text = section(markdown, "Executive Summary")
    total = int(next(m.group(1) for line in text.splitlines() if (m := TOTAL_ROW.match(line))))
    return total, {m.group(1): int(m.group(2)) for line in text.splitlines() if (m := SUMMARY_ROW.match(line))}


def service_table_risks(markdown: str) -> list[str]:
    """The Risk cell of every finding row of the per-service tables."""
    risks = []
    for line in section(markdown, "State by Service").splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            risks.append(cells[4].strip("*"))
    return risks


@pytest.fixture(scope="module")
def aiponge_markdown(tmp_path_factory) -> str:
    """The README's command, run from the repository root so that paths in the report are relative."""
    out = tmp_path_factory.mktemp("md") / "report.md"
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        result = runner.invoke(main, ["scan", "fixtures/aiponge", "--format", "markdown", "-o", str(out),
                                      "--fail-on", "none"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_markdown_report_of_aiponge_matches_golden(aiponge_markdown, update_golden):
    assert_golden(aiponge_markdown, GOLDEN / "aiponge" / "report.md", update_golden)


@pytest.mark.parametrize("project", ["aiponge", "corpus"])
def test_markdown_summary_counts_equal_table_rows_and_json(project, ruleset, monkeypatch):
    monkeypatch.chdir(REPO)
    report = scan(Path("fixtures") / project, Config(), ruleset).report
    markdown = FORMATTERS["md"](report)
    total, by_risk = summary_counts(markdown)
    rows = service_table_risks(markdown)
    assert total == len(rows) == to_dict(report)["summary"]["findings"]
    assert by_risk == {risk: rows.count(risk) for risk in by_risk} == to_dict(report)["summary"]["by_risk"]
    for service in to_dict(report)["services"]:
        heading = re.search(rf"\n### {re.escape(service['name'])}\n\n`[^`]*` · [^·]+ · (\d+) finding", markdown)
        assert heading and int(heading.group(1)) == service["findings"]


def test_markdown_priorities_hold_each_finding_of_their_risk(aiponge_markdown):
    """P1 lists CRITICAL and P2 HIGH findings: the (N findings) counts of their rows add up to the summary."""
    _, by_risk = summary_counts(aiponge_markdown)
    text = section(aiponge_markdown, "Recommendations Priority")
    for name, risk in (("P1", "CRITICAL"), ("P2", "HIGH")):
        block = text[text.index(f"### {name} - "):]
        block = block[:block.find("\n### ", 1)]
        rows = [line for line in block.splitlines() if re.match(r"^\| \d+ \|", line)]
        found = sum(int(m.group(1)) if (m := re.search(r"\((\d+) findings\)", line)) else 1 for line in rows)
        assert found == by_risk[risk], name


def test_markdown_report_is_deterministic_and_has_no_duration(ruleset, monkeypatch):
    monkeypatch.chdir(REPO)
    report = scan(Path("fixtures/corpus"), Config(), ruleset).report
    assert FORMATTERS["md"](report) == FORMATTERS["md"](replace(report, duration_s=report.duration_s + 12.34))


def test_markdown_report_documents_every_rule_that_fired(aiponge_markdown, ruleset, monkeypatch):
    monkeypatch.chdir(REPO)
    report = scan(Path("fixtures/aiponge"), Config(), ruleset).report
    rules = section(aiponge_markdown, "Rules That Fired")
    assert re.findall(r"^### (\S+):", rules, re.M) == list(report.rules)


def test_markdown_report_sections_follow_the_reference_order(aiponge_markdown):
    headings = re.findall(r"^## (.+)$", aiponge_markdown, re.M)
    assert headings == ["Executive Summary", "Key Findings", "State by Service", "Recommendations Priority",
                        "Stateless Readiness Checklist", "Singleton Pattern Analysis", "Timer/Interval Analysis",
                        "Recommended Architecture Changes", "Migration Priority", "Rules That Fired"]
    assert aiponge_markdown.endswith("\n") and not aiponge_markdown.endswith("\n\n")
    assert "\n\n\n" not in aiponge_markdown


def test_markdown_report_of_a_clean_tree_renders(tmp_path, ruleset):
    (tmp_path / "package.json").write_text('{"name": "clean"}', encoding="utf-8")
    (tmp_path / "index.ts").write_text("export const add = (a: number, b: number) => a + b;\n", encoding="utf-8")
    markdown = FORMATTERS["md"](scan(tmp_path, Config(), ruleset).report)
    assert summary_counts(markdown) == (0, {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0})
    assert "- [x] " in markdown and "- [ ] " not in markdown
