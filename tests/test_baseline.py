"""Baselines: known findings are accepted by fingerprint; only new state fails the gate."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.scan import scan

from .test_discover import make

TRACKER = """import { Injectable } from '@nestjs/common';

@Injectable()
export class TaskTracker {
  private readonly tasks = new Map<string, string>();

  start(id: string): void {
    this.tasks.set(id, 'running');
  }
}
"""

SESSIONS = """const sessions = new Map<string, string>();

export function login(token: string, user: string): void {
  sessions.set(token, user);
}
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_baseline_accepts_known_findings_and_fails_on_new_ones(tmp_path):
    make(tmp_path, {"svc/src/tracker.ts": TRACKER})
    baseline = tmp_path / "baseline.json"
    assert run("scan", str(tmp_path / "svc"), "--format", "json", "-o", str(baseline)).exit_code == 1

    # Unrelated edits above the finding move its line; the fingerprint stays.
    make(tmp_path, {"svc/src/tracker.ts": "// tracks generation tasks\n\n" + TRACKER})
    accepted = run("scan", str(tmp_path / "svc"), "--format", "json", "--baseline", str(baseline))
    assert accepted.exit_code == 0, accepted.output
    data = json.loads(accepted.stdout)
    assert [f["suppressed"] for f in data["findings"]] == [True]
    assert data["summary"]["findings"] == 0

    make(tmp_path, {"svc/src/sessions.ts": SESSIONS})
    new = run("scan", str(tmp_path / "svc"), "--format", "json", "--baseline", str(baseline))
    assert new.exit_code == 1
    active = [f for f in json.loads(new.stdout)["findings"] if not f["suppressed"]]
    assert [f["symbol"] for f in active] == ["sessions"]


def test_baseline_from_config_file_is_relative_to_it(tmp_path):
    make(tmp_path, {"svc/src/tracker.ts": TRACKER})
    assert run("scan", str(tmp_path / "svc"), "--format", "json", "-o", str(tmp_path / "svc" / "known.json")).exit_code == 1
    make(tmp_path, {"svc/.stateaudit.yml": "baseline: known.json\n"})
    assert run("scan", str(tmp_path / "svc"), "--format", "json").exit_code == 0


def test_unreadable_baseline_is_a_usage_error(tmp_path):
    make(tmp_path, {"svc/src/tracker.ts": TRACKER, "bad.json": "{ not json"})
    missing = run("scan", str(tmp_path / "svc"), "--baseline", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "cannot read baseline" in missing.output
    broken = run("scan", str(tmp_path / "svc"), "--baseline", str(tmp_path / "bad.json"))
    assert broken.exit_code == 2 and "not a findings JSON report" in broken.output


def test_risk_counts_leave_out_accepted_and_suppressed_findings(tmp_path, ruleset):
    """by_risk() feeds every report's summary: each risk, highest first, counting only active findings."""
    make(tmp_path, {"svc/src/tracker.ts": TRACKER, "svc/src/sessions.ts": SESSIONS,
                    "svc/src/ignored.ts": "// stateaudit: ignore[ts.module-collection] per-pod warm-up list\n" + SESSIONS})
    everything = scan(tmp_path / "svc", Config(), ruleset).report
    assert [(f.location.path, f.risk.name, f.suppressed) for f in everything.findings] == [
        ("src/ignored.ts", "CRITICAL", True), ("src/sessions.ts", "CRITICAL", False), ("src/tracker.ts", "CRITICAL", False)]
    assert list(everything.by_risk().items()) == [("CRITICAL", 2), ("HIGH", 0), ("MEDIUM", 0), ("LOW", 0)]
    known = frozenset(f.fingerprint for f in everything.findings if f.location.path == "src/tracker.ts")
    accepted = scan(tmp_path / "svc", Config(), ruleset, baseline=known).report
    assert accepted.by_risk() == {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0}
