"""Baselines: known findings are accepted by fingerprint; only new state fails the gate."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit.baseline import Baseline, entry_of
from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.scan import scan

from .conftest import FIXTURES
from .gitrepo import GitRepo
from .service_code import (
    RATE_LIMIT,
    REQUIREMENTS,
    SESSIONS_APP,
    SESSIONS_APP_DUPLICATE,
    SESSIONS_APP_MOVED,
)
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


# --- `stateaudit baseline` in a real git repository -----------------------------------------------------------------


def scan_json(repo: GitRepo, *extra: str):
    result = run("scan", str(repo.root), "--format", "json", "--fail-on", "HIGH", *extra)
    return result, json.loads(result.stdout)


def accounts_repo(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "accounts")
    repo.commit("accounts service", {"requirements.txt": REQUIREMENTS, "app/main.py": SESSIONS_APP})
    return repo


def test_baseline_command_writes_counts_and_the_scan_accepts_them(tmp_path):
    repo = accounts_repo(tmp_path)
    written = run("baseline", str(repo.root))
    assert written.exit_code == 0, written.output
    assert "1 findings accepted (1 CRITICAL)" in written.stdout
    data = json.loads((repo.root / ".stateaudit-baseline.json").read_text())
    assert data["stateaudit_baseline"] == 1
    assert data["counts"] == {"findings": 1, "by_risk": {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0},
                              "by_rule": {"py.app-state": 1}}
    assert [(e["rule"], e["file"], e["symbol"]) for e in data["entries"]] == [("py.app-state", "app/main.py", "sessions")]
    repo.commit("accept today's state")

    # The default baseline file at the root is picked up without a flag.
    result, report = scan_json(repo)
    assert result.exit_code == 0, result.output
    assert "covered 1 finding" in result.stderr
    assert [(f["symbol"], f["suppressed"], f["suppression"]["kind"]) for f in report["findings"]] == [
        ("sessions", True, "baseline")]
    assert run("scan", str(repo.root), "--no-baseline", "--format", "json").exit_code == 1


def test_moved_code_stays_accepted_and_a_new_finding_fails(tmp_path):
    repo = accounts_repo(tmp_path)
    assert run("baseline", str(repo.root)).exit_code == 0
    repo.commit("baseline")
    repo.commit("refactor: health route above the sessions", {"app/main.py": SESSIONS_APP_MOVED})
    result, report = scan_json(repo)
    assert result.exit_code == 0, result.stderr
    assert [(f["line"], f["suppressed"]) for f in report["findings"]] == [(18, True)]

    repo.commit("rate limiting", {"app/limits.py": RATE_LIMIT})
    result, report = scan_json(repo)
    assert result.exit_code == 1
    assert [(f["file"], f["symbol"]) for f in report["findings"] if not f["suppressed"]] == [("app/limits.py", "_hits")]
    assert "covered 1 finding" in result.stderr and "no longer match" not in result.stderr


def test_a_copy_of_an_accepted_finding_is_new(tmp_path):
    repo = accounts_repo(tmp_path)
    assert run("baseline", str(repo.root)).exit_code == 0
    repo.commit("second startup hook", {"app/main.py": SESSIONS_APP_DUPLICATE})
    result, report = scan_json(repo)
    assert result.exit_code == 1, "a second identical finding must not hide behind the first one's entry"
    found = [(f["line"], f["snippet"], f["suppressed"]) for f in report["findings"]]
    assert found == [(8, "app.state.sessions = {}", True), (19, "app.state.sessions = {}", False)]
    fingerprints = [f["fingerprint"] for f in report["findings"]]
    assert len(set(fingerprints)) == 2

    # Baselining both makes two entries; removing the first copy leaves one entry unmatched.
    assert "2 findings accepted" in run("baseline", str(repo.root)).stdout
    repo.commit("drop the first hook", {"app/main.py": SESSIONS_APP_DUPLICATE.replace(
        '@app.on_event("startup")\nasync def start_sessions() -> None:\n    app.state.sessions = {}\n\n\n', "")})
    result, _ = scan_json(repo)
    assert result.exit_code == 0
    assert "covered 1 finding" in result.stderr and "1 baseline entry no longer match" in result.stderr


def test_fixed_entries_are_listed_and_pruned(tmp_path):
    repo = accounts_repo(tmp_path)
    repo.commit("rate limiting", {"app/limits.py": RATE_LIMIT})
    assert "2 findings accepted" in run("baseline", str(repo.root)).stdout
    (repo.root / "app" / "limits.py").unlink()
    repo.commit("rate limits moved to Redis")
    result, _ = scan_json(repo)
    assert result.exit_code == 0
    assert "fixed: app/limits.py:3 py.module-collection _hits (HIGH)" in result.stderr

    pruned = run("baseline", str(repo.root), "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "dropped 1 fixed entry, kept 1" in pruned.stdout
    data = json.loads((repo.root / ".stateaudit-baseline.json").read_text())
    assert [e["symbol"] for e in data["entries"]] == ["sessions"] and data["counts"]["findings"] == 1
    result, _ = scan_json(repo)
    assert "no longer match" not in result.stderr

    # --prune never accepts anything new.
    repo.commit("rate limiting again", {"app/limits.py": RATE_LIMIT})
    run("baseline", str(repo.root), "--prune")
    assert scan_json(repo)[0].exit_code == 1


def test_baseline_path_from_the_config_and_o_flag(tmp_path):
    repo = accounts_repo(tmp_path)
    repo.write({".stateaudit.yml": "baseline: ci/accepted.json\n"})
    (repo.root / "ci").mkdir()
    written = run("baseline", str(repo.root))
    assert written.exit_code == 0 and (repo.root / "ci" / "accepted.json").is_file()
    assert not (repo.root / ".stateaudit-baseline.json").exists()
    assert scan_json(repo)[0].exit_code == 0
    other = tmp_path / "elsewhere.json"
    assert run("baseline", str(repo.root), "-o", str(other)).exit_code == 0
    assert json.loads(other.read_text())["counts"]["findings"] == 1


def test_old_findings_report_baseline_with_repeated_fingerprints_still_works(tmp_path):
    """Reports written before fingerprints were unique repeat one for identical findings: both are accepted."""
    repo = accounts_repo(tmp_path)
    repo.commit("second hook", {"app/main.py": SESSIONS_APP_DUPLICATE})
    _, report = scan_json(repo, "--no-baseline")
    first = report["findings"][0]["fingerprint"]
    for finding in report["findings"]:
        finding["fingerprint"] = first  # what the old scanner wrote
    old = tmp_path / "old-baseline.json"
    old.write_text(json.dumps(report))
    result, data = scan_json(repo, "--baseline", str(old))
    assert result.exit_code == 0, result.stderr
    assert all(f["suppressed"] for f in data["findings"])
    assert "is a findings JSON report, read as a baseline" in result.stderr

    migrated = run("baseline", str(repo.root), "--prune", "-o", str(old))
    assert migrated.exit_code == 0 and "kept 2" in migrated.stdout
    assert json.loads(old.read_text())["stateaudit_baseline"] == 1
    result, _ = scan_json(repo, "--baseline", str(old))
    assert result.exit_code == 0 and "findings JSON report" not in result.stderr


def test_fingerprints_are_unique_within_a_report():
    result = run("scan", str(FIXTURES / "rules" / "py.app-state.py"), "--format", "json", "--fail-on", "none")
    findings = json.loads(result.stdout)["findings"]
    stats = [f for f in findings if f["symbol"] == "stats"]
    assert [f["line"] for f in stats] == [27, 45] and stats[0]["snippet"] == stats[1]["snippet"]
    assert len({f["fingerprint"] for f in findings}) == len(findings)


def test_risk_counts_leave_out_accepted_and_suppressed_findings(tmp_path, ruleset):
    """by_risk() feeds every report's summary: each risk, highest first, counting only active findings."""
    make(tmp_path, {"svc/src/tracker.ts": TRACKER, "svc/src/sessions.ts": SESSIONS,
                    "svc/src/ignored.ts": "// stateaudit: ignore[ts.module-collection] per-pod warm-up list\n" + SESSIONS})
    everything = scan(tmp_path / "svc", Config(), ruleset).report
    assert [(f.location.path, f.risk.name, f.suppressed) for f in everything.findings] == [
        ("src/ignored.ts", "CRITICAL", True), ("src/sessions.ts", "CRITICAL", False), ("src/tracker.ts", "CRITICAL", False)]
    assert list(everything.by_risk().items()) == [("CRITICAL", 2), ("HIGH", 0), ("MEDIUM", 0), ("LOW", 0)]
    known = Baseline(tmp_path / "known.json",
                     tuple(entry_of(f) for f in everything.findings if f.location.path == "src/tracker.ts"))
    accepted = scan(tmp_path / "svc", Config(), ruleset, baseline=known).report
    assert accepted.by_risk() == {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0}
