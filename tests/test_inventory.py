"""The inventory view model, on reports made by really scanning small service trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stateaudit.config import Config
from stateaudit.inventory import build_inventory
from stateaudit.model import Risk
from stateaudit.scan import scan

QUEUE = """\
const pendingQueue: string[] = [];
export function enqueue(id: string) { pendingQueue.push(id); }
export function dequeue() { return pendingQueue.shift(); }
"""
COUNTER = """\
const requestCounts = new Map<string, number>();
export function count(route: string) { requestCounts.set(route, (requestCounts.get(route) ?? 0) + 1); }
"""
CACHE = """\
const templateCache = new Map<string, string>();
export function remember(key: string, value: string) { templateCache.set(key, value); }
"""
UPLOAD = """\
import fs from 'fs';
export async function saveUpload(name: string, data: Buffer) { await fs.promises.writeFile(`uploads/${name}`, data); }
"""
STATELESS_SINGLETON = """\
export class JwtHelper {
  private static instance: JwtHelper;
  private readonly secret = process.env.JWT_SECRET!;
  static getInstance() { return (this.instance ??= new JwtHelper()); }
}
"""
CLEANUP_TIMER = """\
function cleanupExpired() { console.log('sweep'); }
setInterval(cleanupExpired, 60_000);
"""


def make_tree(root: Path, services: dict[str, dict[str, str]]) -> Path:
    """One folder with a package.json per service, holding the given `src/` files."""
    for service, files in services.items():
        (root / service / "src").mkdir(parents=True)
        (root / service / "package.json").write_text(json.dumps({"name": service}), encoding="utf-8")
        for name, text in files.items():
            (root / service / "src" / name).write_text(text, encoding="utf-8")
    return root


def inventory_of(tmp_path: Path, ruleset, services: dict[str, dict[str, str]]):
    return build_inventory(scan(make_tree(tmp_path, services), Config(), ruleset).report)


def titles(checks) -> dict[str, bool]:
    return {c.item: c.ok for c in checks}


def test_inventory_counts_equal_service_rows(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"jobs": {"queue.ts": QUEUE, "stats.ts": COUNTER}, "web": {"web.ts": CACHE}})
    rows = [r for s in inv.services for r in s.rows]
    assert inv.total == len(rows) == 3
    assert {level.risk: level.count for level in inv.levels} == {
        risk.name: sum(1 for r in rows if r.finding.risk == risk) for risk in Risk}
    assert [level.risk for level in inv.levels] == ["CRITICAL", "HIGH", "MEDIUM", "LOW"]


def test_inventory_rows_name_file_and_line_with_write_sites(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"jobs": {"queue.ts": QUEUE}})
    (row,) = inv.services[0].rows
    assert row.component == "queue.ts:1"
    assert row.writes == ("L2", "L3")
    assert row.shared == "no"


def test_inventory_lists_stateless_singletons_as_reviewed_not_as_findings(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"web": {"jwt.ts": STATELESS_SINGLETON}})
    assert inv.singletons == () and inv.total == 0
    (row,) = inv.reviewed
    assert row.target == "JwtHelper.getInstance()" and row.component == "jwt.ts:" + str(row.item.location.line)
    assert "no state written after start-up" in row.item.reason
    assert inv.services[0].readiness == "ready"


def test_checklist_ticks_queue_item_only_without_queue_findings(tmp_path, ruleset):
    without = inventory_of(tmp_path / "a", ruleset, {"web": {"web.ts": CACHE}})
    with_queue = inventory_of(tmp_path / "b", ruleset, {"web": {"web.ts": CACHE, "queue.ts": QUEUE}})
    queue_item = next(c.item for c in with_queue.checklist if not c.ok and
                      all(r.finding.category == "queue" for r in c.failing))
    assert titles(without.checklist)[queue_item] is True
    assert titles(with_queue.checklist)[queue_item] is False
    failing = next(c for c in with_queue.checklist if c.item == queue_item)
    assert [(name, [r.component for r in rows]) for name, rows in failing.by_service] == [("web", ["queue.ts:1"])]


def test_checklist_is_all_ticked_when_only_low_state_is_found(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"metrics": {"stats.ts": COUNTER}})
    assert inv.checklist and all(c.ok for c in inv.checklist)


def test_infrastructure_follows_what_findings_need(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"web": {"upload.ts": UPLOAD}})
    assert len(inv.requirements) == 1
    (requirement,) = inv.requirements
    assert requirement.services == ("web",) and [r.component for r in requirement.rows] == ["upload.ts:2"]
    assert inv.services[0].needs == (requirement.requirement,)
    queued = inventory_of(tmp_path / "q", ruleset, {"jobs": {"queue.ts": QUEUE}})
    assert requirement.requirement not in [q.requirement for q in queued.requirements]
    assert len(queued.requirements) >= 2  # a shared store and a job queue


def test_no_infrastructure_or_architecture_for_acceptable_state(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"metrics": {"stats.ts": COUNTER}, "web": {"jwt.ts": STATELESS_SINGLETON}})
    assert inv.requirements == () and inv.architecture == ()


def test_architecture_changes_are_only_those_called_for(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"jobs": {"queue.ts": QUEUE}})
    assert len(inv.architecture) == 1
    (change,) = inv.architecture
    assert change.diagram and [r.component for _, rows in change.by_service for r in rows] == ["queue.ts:1"]


def test_priorities_hold_every_finding_once_under_its_risk(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {
        "jobs": {"queue.ts": QUEUE, "stats.ts": COUNTER}, "web": {"web.ts": CACHE, "upload.ts": UPLOAD}})
    placed = {}
    for priority in inv.priorities:
        for row in priority.rows:
            for r in row.rows:
                assert r.finding.risk.name in priority.risks
                placed[r.component] = priority.name
    assert placed == {"queue.ts:1": "P1", "upload.ts:2": "P1", "stats.ts:1": "P3", "web.ts:1": "P3"}
    assert [p.name for p in inv.priorities] == ["P0", "P1", "P2", "P3"]
    assert inv.priorities[0].rows == ()


def test_p3_folds_many_alike_findings_of_several_services(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {name: {"stats.ts": COUNTER} for name in ("api", "billing", "search")})
    p3 = next(p for p in inv.priorities if p.name == "P3")
    (row,) = p3.rows
    assert row.alike and row.services == ("api", "billing", "search") and len(row.rows) == 3
    assert not row.needs_work  # metrics collectors are fine per instance


def test_p3_keeps_alike_findings_of_one_service_apart(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"api": {"a.ts": COUNTER, "b.ts": COUNTER, "c.ts": COUNTER}})
    p3 = next(p for p in inv.priorities if p.name == "P3")
    assert [row.alike for row in p3.rows] == [False, False, False]


def test_required_changes_are_deduplicated_and_critical_first(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"jobs": {"a.ts": QUEUE, "b.ts": QUEUE, "c.ts": CACHE}})
    (service,) = inv.services
    (change,) = service.changes  # the MEDIUM cache is not a required change
    assert change.risk == Risk.CRITICAL and change.targets == ("pendingQueue",)
    assert [r.component for r in inv.critical] == ["a.ts:1", "b.ts:1"]
    assert service.blockers == ("a.ts", "b.ts")


def test_timers_split_into_acceptable_and_needing_attention(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {
        "jobs": {"queue.ts": QUEUE + "setInterval(() => { pendingQueue.length = 0; }, 1000);\n"},
        "web": {"sweep.ts": CLEANUP_TIMER}})
    assert [r.component for r in inv.timers_acceptable] == ["sweep.ts:2"]
    assert [r.component for r in inv.timers_attention] == ["queue.ts:4"]
    assert sum(c.acceptable for c in inv.timer_categories) == 1
    assert sum(c.attention for c in inv.timer_categories) == 1


def test_readiness_counts_cover_every_service(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {
        "jobs": {"queue.ts": QUEUE}, "web": {"web.ts": CACHE}, "metrics": {"stats.ts": COUNTER}})
    assert inv.readiness == {"stateful": 1, "needs-work": 1, "ready": 1}
    assert [s.name for s in inv.services] == ["jobs", "metrics", "web"]


def test_inventory_covers_python_services(tmp_path, ruleset):
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "requirements.txt").write_text("fastapi\n", encoding="utf-8")
    (tmp_path / "worker" / "jobs.py").write_text(
        "_jobs = {}\n\ndef submit(job_id, payload):\n    _jobs[job_id] = payload\n", encoding="utf-8")
    inv = build_inventory(scan(tmp_path, Config(), ruleset).report)
    assert inv.languages == ("python",)
    assert [r.component for r in inv.services[0].rows] == ["jobs.py:1"]


def test_inventory_of_a_clean_tree_is_empty_but_complete(tmp_path, ruleset):
    inv = inventory_of(tmp_path, ruleset, {"web": {"pure.ts": "export const add = (a: number, b: number) => a + b;\n"}})
    assert inv.total == 0 and inv.critical == () and inv.requirements == ()
    assert all(c.ok for c in inv.checklist)
    assert [p.rows for p in inv.priorities] == [(), (), (), ()]


@pytest.mark.parametrize("root, title", [("fixtures/aiponge", "aiponge"), (".", ""), ("/abs/shop/", "shop")])
def test_inventory_title_is_the_scanned_folder(tmp_path, ruleset, root, title):
    report = scan(make_tree(tmp_path, {"web": {"web.ts": CACHE}}), Config(), ruleset).report
    from dataclasses import replace

    assert build_inventory(replace(report, root=root)).title == title


def test_a_team_report_table_changes_priorities_and_checks(tmp_path, ruleset):
    from stateaudit.resources import rules_dir
    from stateaudit.ruleset import load_rules

    team = tmp_path / "team-rules"
    (team / "classify").mkdir(parents=True)
    (team / "classify" / "report.yaml").write_text(
        "infrastructure:\n"
        "  - {name: P1, risk: MEDIUM, title: Fix this sprint, phase: Now}\n"
        "checklist:\n"
        "  - {checklist: No template caches, when: {category: cache}}\n", encoding="utf-8")
    own = load_rules([rules_dir(), team])
    inv = build_inventory(scan(make_tree(tmp_path / "src", {"web": {"web.ts": CACHE}}), Config(), own).report)
    p1 = next(p for p in inv.priorities if p.name == "P1")
    assert p1.title == "Fix this sprint" and p1.phase == "Now" and p1.risks == ("MEDIUM", "CRITICAL")
    assert [r.component for row in p1.rows for r in row.rows] == ["web.ts:1"]
    assert [r.component for p in inv.priorities if p.name == "P3" for row in p.rows for r in row.rows] == []
    assert inv.checklist[0].item == "No template caches" and not inv.checklist[0].ok


def test_reviewed_singletons_are_in_the_json_beside_the_findings_and_never_fail_the_gate(tmp_path):
    import json

    from click.testing import CliRunner

    from stateaudit.cli import main

    root = make_tree(tmp_path, {"web": {"jwt.ts": STATELESS_SINGLETON, "queue.ts": QUEUE}})
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json", "--fail-on", "LOW"],
                                catch_exceptions=False)
    report = json.loads(result.stdout)
    assert [r["symbol"] for r in report["reviewed"]] == ["JwtHelper.getInstance()"]
    assert report["reviewed"][0]["file"] == "web/src/jwt.ts" and report["reviewed"][0]["kind"] == "singleton"
    assert all(f["file"] != "web/src/jwt.ts" for f in report["findings"])
    assert report["summary"]["findings"] == len(report["findings"]) > 0
    only_stateless = make_tree(tmp_path / "b", {"web": {"jwt.ts": STATELESS_SINGLETON}})
    gate = CliRunner().invoke(main, ["scan", str(only_stateless), "--fail-on", "LOW"], catch_exceptions=False)
    assert gate.exit_code == 0, gate.output
    assert "1 singleton(s) reviewed and found stateless" in " ".join(gate.stdout.split())
