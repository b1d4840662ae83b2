"""The HTML state inventory: structure and escaping on the rendered string, filtering in a real headless browser.

The browser tests need Chromium (`apt-get install chromium`). Without it they are skipped locally and fail
under CI (`CI` set), where `.ci/run` installs it first.
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit.cli import FORMAT_NAMES, main
from stateaudit.config import Config
from stateaudit.model import Report, Risk
from stateaudit.report import FORMATTERS
from stateaudit.scan import scan

from .conftest import REPO

XSS = '<script>alert("x")</script>'
WINDOW = (1280, 1800)


class Page(HTMLParser):
    """The parts of a page the tests look at: every element's tag and attributes, the text of headings,
    and each finding row (an element with `data-risk`) with its text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[dict] = []
        self.h2: list[str] = []
        self._row: dict | None = None
        self._depth = 0
        self._h2: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if self._row is None and "data-risk" in attributes:
            self._row, self._depth = {"tag": tag, "attrs": attributes, "text": []}, 0
        if self._row is not None and tag == self._row["tag"]:
            self._depth += 1
        if tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag):
        if self._row is not None and tag == self._row["tag"]:
            self._depth -= 1
            if self._depth == 0:
                self._row["text"] = " ".join("".join(self._row["text"]).split())
                self.rows.append(self._row)
                self._row = None
        if tag == "h2" and self._h2 is not None:
            self.h2.append("".join(self._h2).strip())
            self._h2 = None

    def handle_data(self, data):
        if self._row is not None:
            self._row["text"].append(data)
        if self._h2 is not None:
            self._h2.append(data)

    def finding_rows(self) -> list[dict]:
        """The rows of the per-service tables: one per finding."""
        return [r for r in self.rows if "finding-row" in (r["attrs"].get("class") or "").split()]

    def by_id(self, element_id: str) -> dict[str, str | None]:
        return next(attrs for _, attrs in self.elements if attrs.get("id") == element_id)


@pytest.fixture(scope="module")
def aiponge(ruleset) -> Report:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        return scan(Path("fixtures/aiponge"), Config(), ruleset).report


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    """The README-style command with --format html, run from the repository root."""
    out = tmp_path_factory.mktemp("html") / "report.html"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        result = CliRunner().invoke(main, ["scan", "fixtures/aiponge", "--format", "html", "-o", str(out),
                                           "--fail-on", "none"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def page(page_file) -> str:
    return page_file.read_text(encoding="utf-8")


def test_html_format_is_registered_in_the_cli_and_formatters():
    assert FORMAT_NAMES["html"] == "html" and "html" in FORMATTERS


def test_html_report_is_one_self_contained_page(page):
    assert page.startswith("<!DOCTYPE html>\n") and page.rstrip().endswith("</html>")
    tags = Page(page).elements
    assert not [a for _, a in tags if "src" in a], "nothing may be loaded from a src"
    assert not [t for t, a in tags if t == "link"], "no stylesheets or icons from elsewhere"
    assert not re.search(r"@import|url\(|https?://[^\s\"'<]*\.(?:js|css)\b", page)
    csp = next(a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp


def test_html_report_has_the_sections_of_the_markdown_report(page, aiponge):
    markdown_sections = re.findall(r"^## (.+)$", FORMATTERS["md"](aiponge), re.M)
    assert Page(page).h2 == markdown_sections


def test_html_report_has_one_row_per_finding_with_its_risk(page, aiponge):
    rows = Page(page).finding_rows()
    assert len(rows) == len(aiponge.active)
    by_risk = aiponge.by_risk()
    assert {risk: sum(r["attrs"]["data-risk"] == risk for r in rows) for risk in by_risk} == by_risk
    for row, finding in zip(rows, aiponge.active, strict=True):
        assert row["attrs"]["data-service"] == finding.service
        # risk as text, not only as colour; the component as File.ts:line
        assert f" {finding.risk.name} " in f" {row['text']} "
        assert f"{Path(finding.location.path).name}:{finding.location.line}" in row["text"]


def test_html_report_tables_and_controls_are_accessible(page, aiponge):
    parsed = Page(page)
    services = [a for t, a in parsed.elements if t == "details" and "service" in (a.get("class") or "").split()]
    assert len(services) == len(aiponge.services)
    assert all(a.get("scope") in ("col", "row") for t, a in parsed.elements if t == "th")
    assert page.count('<th scope="row"><details class="finding-details">') == len(aiponge.active)
    assert page.count("<caption>") == page.count("<table")
    labelled = {a["for"] for t, a in parsed.elements if t == "label" and a.get("for")}
    search = [a for t, a in parsed.elements if t == "input" and a.get("type") == "search"]
    assert search and all(a["id"] in labelled for a in search)
    # risk checkboxes sit inside their <label>, one per risk
    boxes = re.findall(r'<label><input type="checkbox" name="risk" value="(\w+)" checked> (\w+) \(\d+\)</label>', page)
    assert [value for value, _ in boxes] == [text for _, text in boxes] == [r.name for r in sorted(Risk, reverse=True)]


def test_html_report_documents_every_rule_that_fired(page, aiponge):
    for rule_id, rule in aiponge.rules.items():
        start = page.index(f'<section class="rule-doc" id="rule-{rule_id}">')
        doc = page[start:page.index("</section>", start)]
        assert f"<h3>{rule_id}: " in doc and "<strong>Why it matters.</strong>" in doc, rule_id
        if rule.docs.get("bad"):
            assert "<pre><code" in doc, rule_id


def _with_hostile_text(report: Report) -> Report:
    """The report with markup in every free-text field a finding and a rule doc carry."""
    def hostile(f):
        return replace(f, message=f"{f.message} {XSS}", snippet=f"{f.snippet} {XSS}", action=f"{f.action} {XSS}",
                       state_type=f"{f.state_type} {XSS}", reasons=(*f.reasons, XSS), symbol=f"{f.symbol}{XSS}")
    services = tuple(replace(s, findings=tuple(hostile(f) for f in s.findings)) for s in report.services)
    rules = {rid: replace(rule, title=rule.title + XSS, docs={**rule.docs, "why": f"{rule.docs['why']} {XSS}",
                                                            "fix": f"[click](javascript:alert(1)) {XSS}"})
             for rid, rule in report.rules.items()}
    return replace(report, findings=tuple(hostile(f) for f in report.findings), services=services, rules=rules)


def test_html_report_escapes_markup_in_findings_and_rule_docs(aiponge):
    page = FORMATTERS["html"](_with_hostile_text(aiponge))
    assert page.count("<script") == 1, "only the page's own script"
    assert "&lt;script&gt;alert(" in page
    assert not re.search(r"""href=["']?\s*javascript:""", page, re.I), "markdown-it must not link javascript: URLs"
    parsed = Page(page)
    assert len(parsed.finding_rows()) == len(aiponge.active)
    assert all(XSS in r["text"] for r in parsed.finding_rows())  # shown as text, not dropped


def test_html_report_is_deterministic(aiponge):
    assert FORMATTERS["html"](aiponge) == FORMATTERS["html"](replace(aiponge, duration_s=aiponge.duration_s + 12.34))


def test_html_report_of_a_clean_tree_renders(tmp_path, ruleset):
    (tmp_path / "package.json").write_text('{"name": "clean"}', encoding="utf-8")
    (tmp_path / "index.ts").write_text("export const add = (a: number, b: number) => a + b;\n", encoding="utf-8")
    page = FORMATTERS["html"](scan(tmp_path, Config(), ruleset).report)
    assert Page(page).finding_rows() == [] and "No in-process state found." in page
    assert "Showing all 0 findings." in page


# --- a real browser ------------------------------------------------------------------------------------------------


def run_browser(browser: str, tmp_path: Path, *args: str, url: str) -> subprocess.CompletedProcess:
    """One headless run with a throwaway profile, no network chatter, and time to run the page's script."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", *args, url]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{Path(browser).name} did not finish within 120 s: {' '.join(command)}")
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def dump_dom(browser: str, tmp_path: Path, url: str) -> tuple[str, Page]:
    """The DOM after the page's script ran, serialised (attributes such as `hidden` included)."""
    text = run_browser(browser, tmp_path, "--dump-dom", url=url).stdout
    return text, Page(text)


def test_browser_applies_the_risk_filter_from_the_url_fragment(browser, page_file, aiponge, tmp_path):
    text, dom = dump_dom(browser, tmp_path, page_file.as_uri() + "#risk=CRITICAL")
    rows = dom.finding_rows()
    assert len(rows) == len(aiponge.active)
    visible = [r for r in rows if "hidden" not in r["attrs"]]
    assert len(visible) == aiponge.by_risk()["CRITICAL"] > 0
    assert {r["attrs"]["data-risk"] for r in visible} == {"CRITICAL"}
    # every other finding row too (key findings, priorities, singletons, timers) shows only CRITICAL
    for row in dom.rows:
        assert ("hidden" in row["attrs"]) == ("CRITICAL" not in row["attrs"]["data-risk"].split()), row["text"][:80]
    assert "hidden" not in dom.by_id("filters"), "the controls appear once the script runs"
    assert f"Showing {len(visible)} of {len(rows)} findings." in text


def test_browser_combines_risk_and_search_filters(browser, page_file, tmp_path):
    _, dom = dump_dom(browser, tmp_path, page_file.as_uri() + "#risk=LOW,MEDIUM&q=setInterval%20api-gateway")
    rows = dom.finding_rows()

    def matches(row):
        text = f"{row['attrs']['data-service']} {row['text']}".lower()
        return row["attrs"]["data-risk"] in ("LOW", "MEDIUM") and "setinterval" in text and "api-gateway" in text

    visible = [r for r in rows if "hidden" not in r["attrs"]]
    assert visible, "the search should find the api-gateway timers"
    assert [r for r in rows if matches(r)] == visible
    # while the filter is active, a service without a matching finding is hidden; one with a match is not
    service_boxes = {a["id"]: a for t, a in dom.elements if t == "details" and "service" in (a.get("class") or "")}
    assert "hidden" in service_boxes["service-music-service"]
    assert "hidden" not in service_boxes["service-api-gateway"]
    shown = {a["id"] for a in service_boxes.values() if "hidden" not in a}
    assert shown == {"service-" + r["attrs"]["data-service"] for r in visible}


def test_browser_shows_every_service_again_without_a_filter(browser, page_file, tmp_path):
    _, dom = dump_dom(browser, tmp_path, page_file.as_uri() + "#risk=CRITICAL,HIGH,MEDIUM,LOW&q=")
    assert not [a for t, a in dom.elements if t == "details" and "hidden" in a]


def test_html_report_draws_findings_by_service_and_risk_as_svg(aiponge):
    page = FORMATTERS["html"](aiponge)
    svg = page[page.index("<svg"):page.index("</svg>")]
    for summary in aiponge.services:
        for risk, count in summary.by_risk.items():
            assert f"<title>{summary.service.name}: {count} {risk}</title>" in svg
    bars = re.findall(r'<g class="chart-bar" data-service="([^"]+)">', svg)
    assert bars == [s.service.name for s in aiponge.services]
    assert "<script" not in svg and "href=\"#service-music-service\"" in svg


def test_browser_screenshot_of_the_report_is_a_png(browser, page_file, tmp_path):
    shot = tmp_path / "report.png"
    run_browser(browser, tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                "--hide-scrollbars", url=page_file.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert struct.unpack(">II", data[16:24]) == WINDOW  # IHDR width, height
