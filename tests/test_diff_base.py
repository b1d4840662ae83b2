"""--diff-base REF: only findings in code added or changed since REF, judged with the whole service's facts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.gitdiff import parse_diff

from .gitrepo import GitRepo
from .service_code import (
    METRICS_TS,
    METRICS_TS_WITH_HIT,
    REGISTRY_TS,
    TRACKER_TS,
    TRACKER_TS_WITH_FINISH,
    UPLOADS_TS,
)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def findings(result) -> list[tuple[str, str, str]]:
    return [(f["file"], f["rule"], f["risk"]) for f in json.loads(result.stdout)["findings"]]


def jobs_repo(tmp_path) -> tuple[GitRepo, str]:
    repo = GitRepo(tmp_path / "platform")
    base = repo.commit("jobs service", {
        "services/jobs/package.json": '{"name": "jobs", "dependencies": {"express": "^4.19.0"}}',
        "services/jobs/src/tracker.ts": TRACKER_TS, "services/jobs/src/registry.ts": REGISTRY_TS,
        "services/jobs/src/metrics.ts": METRICS_TS, "services/jobs/.gitignore": "scratch/\n",
    })
    return repo, base


def test_only_changed_and_untracked_code_is_reported(tmp_path):
    repo, base = jobs_repo(tmp_path)
    repo.commit("count hits", {"services/jobs/src/metrics.ts": METRICS_TS_WITH_HIT})  # a write site added
    repo.write({"services/jobs/src/uploads.ts": UPLOADS_TS,  # untracked, not ignored
                "services/jobs/scratch/cache.ts": UPLOADS_TS})  # ignored: never scanned
    everything = run("scan", str(repo.root / "services" / "jobs"), "--format", "json", "--fail-on", "none")
    assert [f for f, _, _ in findings(everything)] == ["src/metrics.ts", "src/registry.ts", "src/tracker.ts",
                                                       "src/uploads.ts"]

    result = run("scan", str(repo.root / "services" / "jobs"), "--format", "json", "--fail-on", "none",
                 "--diff-base", base)
    assert result.exit_code == 0, result.output
    assert [f for f, _, _ in findings(result)] == ["src/metrics.ts", "src/uploads.ts"]
    assert f"2 of 4 findings are in code added or changed since {base}" in result.stderr

    # Committed to HEAD: nothing changed since HEAD but the untracked file.
    head = run("scan", str(repo.root / "services" / "jobs"), "--format", "json", "--diff-base", "HEAD")
    assert [f for f, _, _ in findings(head)] == ["src/uploads.ts"]


def test_cross_file_facts_still_see_the_whole_service(tmp_path):
    """Only tracker.ts changed, but its Map is CRITICAL because registry.ts (unchanged) instantiates the class."""
    repo, base = jobs_repo(tmp_path)
    repo.write({"services/jobs/src/tracker.ts": TRACKER_TS_WITH_FINISH})  # unstaged edit
    result = run("scan", str(repo.root), "--format", "json", "--diff-base", base)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(f["file"], f["risk"]) for f in report["findings"]] == [("services/jobs/src/tracker.ts", "CRITICAL")]
    assert "TaskTracker is instantiated at module level" in report["findings"][0]["reasons"]


def test_a_bad_ref_or_a_folder_outside_git_is_a_usage_error(tmp_path):
    repo, _ = jobs_repo(tmp_path)
    bad = run("scan", str(repo.root), "--diff-base", "no-such-branch")
    assert bad.exit_code == 2 and "--diff-base no-such-branch: not a commit" in bad.output
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "a.ts").write_text("export const a = 1;\n")
    outside = run("scan", str(tmp_path / "loose"), "--diff-base", "HEAD")
    assert outside.exit_code == 2 and "git rev-parse failed" in outside.output


def test_parse_diff_reads_added_lines_per_file():
    patch = ("diff --git a/x.ts b/x.ts\n--- a/x.ts\n+++ b/x.ts\n@@ -3,0 +4,2 @@ f\n+a\n+b\n@@ -9 +11 @@\n-c\n+d\n"
             "diff --git a/gone.ts b/gone.ts\n--- a/gone.ts\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n"
             "diff --git a/y.py b/y.py\n--- a/y.py\n+++ b/y.py\n@@ -5,2 +5,0 @@\n-p\n-q\n")
    assert parse_diff(patch) == {"x.ts": {4, 5, 11}, "y.py": set()}
