"""The built wheel carries rules/ and templates/: install it in a fresh virtualenv and scan."""

from __future__ import annotations

import json
import subprocess
import sys
import venv

import pytest

from .conftest import FIXTURES, REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtualenv with the wheel built from this checkout (dependencies from the package index)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(REPO)],
                   check=True)
    wheel = next(work.glob("stateaudit-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True)
    return env_dir / "bin" / "stateaudit"


def test_installed_wheel_scans_with_shipped_rules_and_templates(installed, tmp_path):
    out = tmp_path / "findings.json"
    result = subprocess.run([str(installed), "scan", str(FIXTURES / "aiponge"), "--format", "json", "-o", str(out)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # the platform has CRITICAL state
    data = json.loads(out.read_text())
    assert data["summary"]["findings"] > 50
    md = subprocess.run([str(installed), "scan", str(FIXTURES / "aiponge"), "--format", "markdown", "--fail-on", "none"],
                        capture_output=True, text=True, cwd=tmp_path)
    assert md.returncode == 0, md.stderr
    assert "## Executive Summary" in md.stdout and "## Rules That Fired" in md.stdout
    explain = subprocess.run([str(installed), "explain", "ts.instance-collection"], capture_output=True, text=True)
    assert explain.returncode == 0 and "Why it matters" in explain.stdout
