"""The benchmark's synthetic monorepo builds anywhere and holds exactly the state it was written with."""

from __future__ import annotations

import collections
import importlib.util
import sys

from stateaudit.config import Config
from stateaudit.scan import scan

from .conftest import REPO


def _generator():
    spec = importlib.util.spec_from_file_location("synthetic", REPO / "benchmarks" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("synthetic", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_synthetic_monorepo_is_deterministic_and_scans_to_what_was_planted(tmp_path, ruleset):
    synthetic = _generator()
    planted = synthetic.generate(tmp_path / "a", kloc=3)
    again = synthetic.generate(tmp_path / "b", kloc=3)
    assert planted == again and planted.services >= 3 and planted.lines >= 3000
    assert sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*.ts")) == sorted(
        p.relative_to(tmp_path / "b").as_posix() for p in (tmp_path / "b").rglob("*.ts"))
    report = scan(tmp_path / "a", Config(), ruleset).report
    assert report.files_scanned == planted.files and report.lines_scanned == planted.lines
    assert dict(collections.Counter(f.rule_id for f in report.findings)) == planted.stateful
    assert len(report.services) == planted.services


def test_synthetic_monorepo_as_one_service_holds_the_same_state(tmp_path, ruleset):
    synthetic = _generator()
    apart = synthetic.generate(tmp_path / "apart", kloc=3)
    planted = synthetic.generate(tmp_path / "one", kloc=3, one_service=True)
    assert planted.services == 1 and apart.services >= 3
    assert (planted.files, planted.lines, planted.stateful) == (apart.files, apart.lines, apart.stateful)
    report = scan(tmp_path / "one", Config(), ruleset).report
    assert report.files_scanned == planted.files and len(report.services) == 1
    assert dict(collections.Counter(f.rule_id for f in report.findings)) == planted.stateful
