"""The SARIF report validates against the official 2.1.0 schema and carries rule docs and fingerprints."""

from __future__ import annotations

import json

import jsonschema
from click.testing import CliRunner

from stateaudit.cli import main

from .conftest import FIXTURES, REPO

SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def test_sarif_report_is_valid_and_complete(tmp_path):
    out = tmp_path / "report.sarif"
    result = CliRunner().invoke(main, ["scan", str(FIXTURES / "corpus"), "--format", "sarif", "-o", str(out),
                                       "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    sarif = json.loads(out.read_text())
    jsonschema.validate(sarif, SCHEMA)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    assert all(r["help"]["markdown"].startswith("## ") for r in rules)
    results = run["results"]
    assert results
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["partialFingerprints"]["stateaudit/v1"]
        assert not res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/")
    levels = {res["properties"]["risk"]: res["level"] for res in results}
    assert levels.get("CRITICAL") == "error" and levels.get("LOW") == "note"
