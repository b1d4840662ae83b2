"""Shared fixtures: the shipped rule set, loaded once, and the repository's paths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from stateaudit.resources import rules_dir
from stateaudit.ruleset import RuleSet, load_rules

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden report files.")


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return load_rules([rules_dir()])


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("no headless browser found (chromium, chromium-browser or google-chrome) and CI is set: "
                    "the HTML report's filtering must be checked in a browser; .ci/run installs chromium")
    pytest.skip("no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium)")
