"""`stateaudit diff` between two scans and `stateaudit merge` of several repositories' reports."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit.cli import main

from .gitrepo import GitRepo
from .service_code import (
    METRICS_TS,
    RATE_LIMIT,
    REGISTRY_TS,
    REQUIREMENTS,
    SESSIONS_APP,
    SESSIONS_APP_MOVED,
    TRACKER_TS,
)
from .test_html_report import dump_dom


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def scan_to(repo: GitRepo, out) -> dict:
    result = run("scan", str(repo.root), "--format", "json", "-o", str(out), "--fail-on", "none")
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def accounts(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "accounts")
    repo.commit("accounts", {"requirements.txt": REQUIREMENTS, "app/main.py": SESSIONS_APP})
    return repo


def jobs(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "jobs")
    repo.commit("jobs", {"package.json": '{"name": "jobs", "dependencies": {"express": "^4.19.0"}}',
                         "src/tracker.ts": TRACKER_TS, "src/registry.ts": REGISTRY_TS, "src/metrics.ts": METRICS_TS})
    return repo


def test_diff_of_two_scans_matches_by_fingerprint(tmp_path):
    repo = accounts(tmp_path)
    old = scan_to(repo, tmp_path / "week1.json")
    # Moved code is the same finding; a new module appears; a risk override changes a risk.
    repo.commit("week 2", {"app/main.py": SESSIONS_APP_MOVED, "app/limits.py": RATE_LIMIT,
                           ".stateaudit.yml": "risk_overrides:\n  py.app-state: HIGH\n"})
    new = scan_to(repo, tmp_path / "week2.json")
    assert old["findings"][0]["line"] != new["findings"][1]["line"]

    text = run("diff", str(tmp_path / "week1.json"), str(tmp_path / "week2.json"), "--format", "markdown")
    assert text.exit_code == 0, text.output
    md = text.stdout
    assert "1 appeared, 0 disappeared, 1 changed risk." in md
    assert "| CRITICAL | 1 | 0 | -1 |" in md and "| HIGH | 0 | 2 | +2 |" in md
    assert "| HIGH | `app/limits.py:3 _hits` | py.module-collection | accounts |" in md
    assert "| CRITICAL | HIGH | `app/main.py:18 sessions` | py.app-state |" in md

    table = CliRunner().invoke(main, ["diff", str(tmp_path / "week2.json"), str(tmp_path / "week1.json")],
                               env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "disappeared" in table.stdout and "app/limits.py:3 _hits" in table.stdout
    assert "HIGH → CRITICAL" in table.stdout

    bad = tmp_path / "bad.json"
    bad.write_text('{"no": "findings"}')
    refused = run("diff", str(bad), str(tmp_path / "week1.json"))
    assert refused.exit_code == 2 and "not a findings JSON report" in refused.output


def test_merge_gives_one_inventory_with_a_section_per_repository(tmp_path):
    a = scan_to(accounts(tmp_path), tmp_path / "accounts.json")
    b = scan_to(jobs(tmp_path), tmp_path / "jobs-findings.json")
    out = tmp_path / "org"
    out.mkdir()
    result = run("merge", str(tmp_path / "accounts.json"), f"jobs={tmp_path / 'jobs-findings.json'}",
                 "-o", str(out / "org.md"), "-o", str(out / "org.html"), "-o", str(out / "org.json"),
                 "--title", "Acme")
    assert result.exit_code == 0, result.output

    merged = json.loads((out / "org.json").read_text())
    assert [r["name"] for r in merged["repositories"]] == ["accounts", "jobs"]
    assert merged["summary"]["findings"] == a["summary"]["findings"] + b["summary"]["findings"]
    assert merged["summary"]["files_scanned"] == a["summary"]["files_scanned"] + b["summary"]["files_scanned"]
    assert [(f["repository"], f["file"]) for f in merged["findings"]] == [
        ("accounts", "app/main.py"), ("jobs", "src/registry.ts"), ("jobs", "src/tracker.ts")]
    assert {s["repository"] for s in merged["services"]} == {"accounts", "jobs"}

    md = (out / "org.md").read_text()
    assert md.startswith("# Acme State Inventory\n")
    assert "| [accounts](#repo-accounts) | 1 | 1 | 1 | 1 | 0 | 0 | 0 |" in md
    assert "\n## accounts\n" in md and "\n## jobs\n" in md
    assert md.index("## accounts") < md.index("`app/main.py:8` `sessions`") < md.index("## jobs")

    page = (out / "org.html").read_text()
    assert page.count("<section class=\"repository\"") == 2
    assert "<svg role=\"img\"" in page and "accounts / accounts: 1 CRITICAL" in page

    # A merged report merges again and diffs like any report.
    assert run("diff", str(out / "org.json"), str(out / "org.json"), "--format", "markdown").stdout.count(
        "0 appeared, 0 disappeared, 0 changed risk.") == 1
    twice = run("merge", f"all={out / 'org.json'}", f"again={tmp_path / 'accounts.json'}", "-o", str(out / "x.json"))
    assert twice.exit_code == 0
    assert {f["repository"] for f in json.loads((out / "x.json").read_text())["findings"]} == {"accounts", "jobs", "again"}


def test_merge_refuses_two_reports_with_one_name(tmp_path):
    scan_to(accounts(tmp_path), tmp_path / "accounts.json")
    same = run("merge", str(tmp_path / "accounts.json"), str(tmp_path / "accounts.json"))
    assert same.exit_code == 2 and "name each one as NAME=PATH" in same.output
    wrong = run("merge", str(tmp_path / "accounts.json"), "-o", str(tmp_path / "org.pdf"))
    assert wrong.exit_code == 2 and "merge writes .md, .html or .json" in wrong.output


def test_merged_page_hides_repositories_and_services_without_a_match_in_a_browser(browser, tmp_path):
    scan_to(accounts(tmp_path), tmp_path / "accounts.json")
    scan_to(jobs(tmp_path), tmp_path / "jobs.json")
    page = tmp_path / "org.html"
    assert run("merge", str(tmp_path / "accounts.json"), str(tmp_path / "jobs.json"), "-o", str(page)).exit_code == 0

    text, dom = dump_dom(browser, tmp_path, page.as_uri() + "#risk=LOW")
    rows = dom.finding_rows()
    visible = [r for r in rows if "hidden" not in r["attrs"]]
    assert [r["attrs"]["data-risk"] for r in visible] == ["LOW"]  # the jobs registry singleton
    sections = {a["data-repository"]: a for t, a in dom.elements if t == "section" and "data-repository" in a}
    assert "hidden" in sections["accounts"] and "hidden" not in sections["jobs"]
    assert f"Showing 1 of {len(rows)} findings." in text

    _, everything = dump_dom(browser, tmp_path, page.as_uri())
    assert not [a for t, a in everything.elements if "hidden" in a and t in ("section", "details", "tr")]
