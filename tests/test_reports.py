"""Golden reports (Markdown, JSON, SARIF, HTML) and the Markdown inventory's internal consistency.

Regenerate the golden files after an intended change with `python -m pytest tests/test_reports.py --update-golden`,
then review the diff. Timing fields (the JSON's summary.duration_s) are left out of the golden files.
"""

from __future__ import annotations

import json
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
# --format name -> golden file name, for the formats that have a golden report.
GOLDEN_FORMATS = {"markdown": "report.md", "json": "report.json", "sarif": "report.sarif", "html": "report.html"}
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


def scan_aiponge(out: Path, format_name: str) -> str:
    """The README's command, run from the repository root so that paths in the report are relative."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        result = CliRunner().invoke(main, ["scan", "fixtures/aiponge", "--format", format_name, "-o", str(out),
                                           "--fail-on", "none"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def without_timing(format_name: str, text: str) -> str:
    """The report with its timing fields removed: they differ on every run."""
    if format_name != "json":
        return text
    data = json.loads(text)
    del data["summary"]["duration_s"]  # a KeyError here means the field moved: update this function
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def aiponge_reports(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("reports")
    return {name: scan_aiponge(folder / golden, name) for name, golden in GOLDEN_FORMATS.items()}


@pytest.fixture(scope="module")
def aiponge_markdown(aiponge_reports) -> str:
    return aiponge_reports["markdown"]


@pytest.mark.parametrize("format_name", list(GOLDEN_FORMATS))
def test_report_of_aiponge_matches_golden(aiponge_reports, format_name, update_golden):
    actual = without_timing(format_name, aiponge_reports[format_name])
    assert_golden(actual, GOLDEN / "aiponge" / GOLDEN_FORMATS[format_name], update_golden)


def test_only_timing_is_left_out_of_the_json_golden(aiponge_reports):
    raw, golden = json.loads(aiponge_reports["json"]), json.loads(without_timing("json", aiponge_reports["json"]))
    assert isinstance(raw["summary"].pop("duration_s"), float)
    assert raw == golden


@pytest.mark.parametrize("format_name", ["json", "sarif", "html", "md"])
def test_reports_differ_only_in_timing_between_runs(ruleset, monkeypatch, format_name):
    monkeypatch.chdir(REPO)
    report = scan(Path("fixtures/corpus"), Config(), ruleset).report
    slower = replace(report, duration_s=report.duration_s + 12.34)
    first, second = FORMATTERS[format_name](report), FORMATTERS[format_name](slower)
    name = "markdown" if format_name == "md" else format_name
    assert without_timing(name, first) == without_timing(name, second)
    assert (first == second) is (format_name != "json")


def test_json_report_is_the_text_the_standard_library_writes(ruleset, monkeypatch):
    """The findings JSON is written by orjson for speed; its bytes must stay what json.dumps writes, whatever
    a snippet holds (control characters, quotes, non-ASCII, a lone surrogate from an undecodable name)."""
    monkeypatch.chdir(REPO)
    report = scan(Path("fixtures/corpus"), Config(), ruleset).report
    assert report.findings
    awkward = ['tab\there "quoted" back\\slash', "nul\x00 bell\x07 esc\x1b del\x7f", "née 状態 🚀 \u2028 \ufeff",
               "name\udcff.ts"]
    for snippet in awkward:
        changed = replace(report, duration_s=0.07,
                          findings=(replace(report.findings[0], snippet=snippet, symbol=None), *report.findings[1:]))
        expected = json.dumps(to_dict(changed), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert FORMATTERS["json"](changed) == expected


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
