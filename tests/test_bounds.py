"""Bounded work: bundles recognised by their shape, and a per-file CPU budget that cuts a file short, not the scan."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from stateaudit.bounds import generated_shape
from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.scan import scan

from .conftest import FIXTURES, REPO

SAME_NAMES = REPO / "tests" / "data" / "same-name-classes"
LARGE = FIXTURES / "aiponge" / "services" / "ai-analytics-service" / "src" / "application" / "use-cases"


def _bundle(modules: int) -> str:
    """What a bundler writes: every module of an app on one line, a short banner above it."""
    body = ";".join(
        f"var m{i}=function(e,t,n){{\"use strict\";var r=new Map;t.get=function(k){{return r.get(k)}};"
        f"t.set=function(k,v){{r.set(k,v)}}}}" for i in range(modules))
    return f"/*! app.js, built by the bundler */\n!function(){{{body}}}();\n"


def test_bundles_are_recognised_by_shape_whatever_their_name():
    assert "bytes per line on average" in generated_shape(_bundle(400).encode())
    # A dev build: readable module wrappers around one huge eval'd line.
    wrapper = "".join(f"/***/ function(module, exports) {{ /* module {i} */ }},\n" for i in range(200))
    dev_build = (wrapper + "eval(" + json.dumps(_bundle(150)) + ");\n").encode()
    assert "-byte line holds most of the file" in generated_shape(dev_build)


def test_hand_written_code_is_never_taken_for_generated():
    sources = [p for p in FIXTURES.rglob("*") if p.suffix in {".ts", ".tsx", ".js", ".py"}]
    assert len(sources) > 150
    assert [p for p in sources if generated_shape(p.read_bytes())] == []
    assert generated_shape(_bundle(10).encode()[:4000]) is None  # too small to judge


def test_a_bundle_with_an_ordinary_name_is_skipped_with_a_notice_and_the_rest_is_scanned(tmp_path, ruleset):
    service = tmp_path / "shop"
    shutil.copytree(SAME_NAMES, service)
    (service / "src" / "vendor.js").write_text(_bundle(400), encoding="utf-8")
    report = scan(service, Config(), ruleset).report
    assert [(e.path, e.message.split(" (")[0]) for e in report.errors] == [
        ("src/vendor.js", "skipped: looks minified or generated")]
    assert {f.rule_id for f in report.findings} == {"ts.instance-collection", "ts.singleton"}


def test_a_file_over_its_budget_is_cut_short_reported_and_the_scan_goes_on(tmp_path, ruleset):
    service = tmp_path / "analytics"
    service.mkdir()
    for source in sorted(LARGE.glob("*.ts")):
        shutil.copy(source, service / source.name)
    files = sorted(p.name for p in service.glob("*.ts"))
    unbounded = scan(service, Config(file_budget=0), ruleset).report
    assert unbounded.errors == () and unbounded.files_scanned == len(files) >= 2
    cut = scan(service, Config(file_budget=0.001), ruleset).report
    assert sorted(e.path for e in cut.errors) == files
    assert {e.message for e in cut.errors} == {"cut short after 0.001 s of CPU time (file_budget); not scanned"}
    assert cut.files_scanned == 0 and cut.findings == ()


def test_the_budget_is_a_setting_and_a_flag(tmp_path):
    service = tmp_path / "analytics"
    service.mkdir()
    shutil.copy(LARGE / "ManageAlertRulesUseCase.ts", service)
    (service / ".stateaudit.yml").write_text("file_budget: 0.001\n", encoding="utf-8")
    runner = CliRunner()
    cut = runner.invoke(main, ["scan", str(service), "--format", "json", "--no-cache", "--fail-on", "none"])
    assert [e["message"] for e in json.loads(cut.stdout)["errors"]][0].startswith("cut short after 0.001 s")
    whole = runner.invoke(main, ["scan", str(service), "--format", "json", "--no-cache", "--fail-on", "none",
                                 "--file-budget", "0"])
    assert json.loads(whole.stdout)["errors"] == []
    (service / ".stateaudit.yml").write_text("file_budget: -1\n", encoding="utf-8")
    refused = runner.invoke(main, ["scan", str(service), "--no-cache"])
    assert refused.exit_code == 2 and "file_budget must be 0 (no limit) or more seconds" in refused.stderr
