"""The CI integrations run as documented: the pre-commit hook's entry, the GitHub Action's shell steps and the
GitLab CI example's script, each in a real git repository, with the installed `stateaudit` command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from .conftest import REPO
from .gitrepo import GIT_ENV, GitRepo
from .service_code import REQUIREMENTS, SESSIONS_APP, TRACKER_TS

SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent  # the environment's `stateaudit` script sits beside its python
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {**os.environ, **GIT_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


def service_repo(tmp_path) -> tuple[GitRepo, str]:
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit("accounts", {"requirements.txt": REQUIREMENTS, "app/__init__.py": "",
                                    "app/health.py": "def health() -> dict:\n    return {'ok': True}\n"})
    return repo, base


def test_pre_commit_hook_fails_on_state_in_staged_code(tmp_path):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "stateaudit")
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    repo, _ = service_repo(tmp_path)

    repo.write({"app/main.py": SESSIONS_APP})
    repo.git("add", "app/main.py")
    staged = shell(hook["entry"], repo.root, {})
    assert staged.returncode == 1, staged.stderr
    assert staged.stdout.startswith("::error file=app/main.py,line=8,")

    repo.commit("sessions, accepted in the baseline")
    assert shell("stateaudit baseline .", repo.root, {}).returncode == 0
    repo.commit("baseline")
    repo.write({"app/main.py": SESSIONS_APP.replace('return {"ok": True}', 'return {"ok": True, "user": user}')})
    repo.git("add", "-A")
    clean = shell(hook["entry"], repo.root, {})
    assert clean.returncode == 0, clean.stdout  # the staged edit touches accepted state only
    assert "::error" not in clean.stdout

    repo.write({"src/tracker.ts": TRACKER_TS, "package.json": '{"name": "web"}'})
    repo.git("add", "-A")
    tracker = shell(hook["entry"], repo.root, {})
    assert tracker.returncode == 1 and "::error file=src/tracker.ts,line=2," in tracker.stdout


def _substitute(text: str, values: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: values.get(m.group(1), ""), text)


def run_action(repo: GitRepo, tmp_path: Path, **inputs: str) -> tuple[dict[str, subprocess.CompletedProcess], Path]:
    """Run action.yml's shell steps in order, as the runner would, with `inputs` over the defaults."""
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    values = {f"inputs.{k}": str(v.get("default", "")) for k, v in action["inputs"].items()}
    values.update({f"inputs.{k}": v for k, v in inputs.items()})
    summary, outputs = tmp_path / "step-summary.md", tmp_path / "github-output"
    summary.write_text(""), outputs.write_text("")
    results = {}
    for step in action["runs"]["steps"]:
        if "run" not in step or step["id"] == "install":  # uses: steps run on GitHub; stateaudit is installed
            continue
        env = {k: _substitute(str(v), values) for k, v in step.get("env", {}).items()}
        env.update(GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(outputs))
        results[step["id"]] = shell(_substitute(step["run"], values), repo.root, env)
        for line in outputs.read_text().splitlines():
            key, _, value = line.partition("=")
            values[f"steps.{step['id']}.outputs.{key}"] = value
    return results, summary


def test_github_action_gates_uploads_sarif_and_writes_the_summary(tmp_path):
    repo, base = service_repo(tmp_path)
    repo.commit("sessions", {"app/main.py": SESSIONS_APP})
    results, summary = run_action(repo, tmp_path)
    assert results["scan"].returncode == 0  # the scan step records the code and lets the SARIF upload run
    assert results["gate"].returncode == 1, "a CRITICAL finding fails the job"
    assert results["scan"].stdout.startswith("::error file=app/main.py,line=8,")
    jsonschema.validate(json.loads((repo.root / "stateaudit.sarif").read_text()), SARIF_SCHEMA)
    assert summary.read_text().startswith("### ❌ stateaudit: 1 finding, 1 fails the gate")

    # With the finding accepted in a baseline, the same action passes and says so.
    assert shell("stateaudit baseline .", repo.root, {}).returncode == 0
    results, summary = run_action(repo, tmp_path)
    assert results["gate"].returncode == 0
    assert "1 accepted" in summary.read_text()

    # A pull request's diff base: only the changed code is reported, here nothing.
    head = repo.git("rev-parse", "HEAD").strip()
    results, _ = run_action(repo, tmp_path, **{"diff-base": head, "args": "--no-baseline"})
    assert results["gate"].returncode == 0
    assert f"0 of 1 findings are in code added or changed since {head}" in results["scan"].stderr
    results, _ = run_action(repo, tmp_path, **{"diff-base": base, "args": "--no-baseline"})
    assert results["gate"].returncode == 1

    # Bad input is exit 2, and the job fails with it.
    results, _ = run_action(repo, tmp_path, baseline="missing.json")
    assert results["gate"].returncode == 2 and "cannot read baseline" in results["scan"].stderr


def test_example_workflow_uses_the_action_with_its_inputs():
    workflow = yaml.safe_load((REPO / "docs" / "examples" / "ci" / "github-workflow.yml").read_text(encoding="utf-8"))
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["state"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert set(steps[1]["with"]) <= set(action["inputs"])
    assert workflow["permissions"]["security-events"] == "write"


def test_gitlab_example_script_runs(tmp_path):
    job = yaml.safe_load((REPO / "docs" / "examples" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))["stateaudit"]
    repo, base = service_repo(tmp_path)
    repo.commit("sessions", {"app/main.py": SESSIONS_APP})
    script = "\n".join(job["script"])
    merge_request = shell(script, repo.root, {"CI_MERGE_REQUEST_DIFF_BASE_SHA": base})
    assert merge_request.returncode == 1, merge_request.stderr  # the new CRITICAL fails the job
    for artifact in job["artifacts"]["paths"]:
        assert (repo.root / artifact).is_file(), artifact
    assert json.loads((repo.root / "findings.json").read_text())["summary"]["findings"] == 1
    assert (repo.root / "stateaudit-summary.md").read_text().startswith("### ❌ stateaudit")

    head = repo.git("rev-parse", "HEAD").strip()
    unchanged = shell(script, repo.root, {"CI_MERGE_REQUEST_DIFF_BASE_SHA": head})
    assert unchanged.returncode == 0, unchanged.stderr  # nothing changed since the base


def test_every_integration_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in (".pre-commit-hooks.yaml", "action.yml", "docs/ci.md", "gitlab-ci.yml", "github-workflow.yml"):
        assert name in readme, name
