"""docs/writing-rules.md: its worked example tests clean, fires in a scan and matches the guide; every fact is documented."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from stateaudit.cli import main

from .conftest import REPO

GUIDE = REPO / "docs" / "writing-rules.md"
EXAMPLES = REPO / "docs" / "examples" / "rules"
RULE_ID = "acme.flag-client-cache"

SAMPLE = """\
import { FlagClient } from '@acme/flags';

export const flags = new FlagClient({ sdkKey: process.env.FLAGS_KEY! });

export async function isOn(name: string): Promise<boolean> {
  return flags.isEnabled(name, 'anonymous');
}
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def checkout_service(root: Path, dependencies: dict[str, str]) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "checkout", "dependencies": dependencies}))
    (root / "src" / "flags.ts").write_text(SAMPLE, encoding="utf-8")
    return root


def test_example_rule_passes_its_own_fixture():
    result = run("test-rules", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert "4 found, 0 missing, 0 unexpected" in result.output


def test_example_rule_fires_in_a_scan_with_the_default_action(tmp_path):
    root = checkout_service(tmp_path / "checkout", {"@acme/flags": "^3.0.0"})
    result = run("scan", str(root), "--rules", str(EXAMPLES), "--format", "json", "--fail-on", "none")
    findings = [f for f in json.loads(result.output)["findings"] if f["rule"] == RULE_ID]
    assert [(f["file"], f["line"], f["symbol"]) for f in findings] == [("src/flags.ts", 3, "flags")]
    assert findings[0]["category"] == "config"
    assert findings[0]["risk"] == "HIGH"
    assert findings[0]["action"].startswith("Add @acme/flags-redis")


def test_example_rule_changes_action_when_service_depends_on_redis_store(tmp_path):
    root = checkout_service(tmp_path / "checkout", {"@acme/flags": "^3.0.0", "@acme/flags-redis": "^1.2.0"})
    result = run("scan", str(root), "--rules", str(EXAMPLES), "--format", "json", "--fail-on", "none")
    finding = next(f for f in json.loads(result.output)["findings"] if f["rule"] == RULE_ID)
    assert finding["action"].startswith("Pass `store: redisFlagStore(redis)`")


def test_example_rule_fails_its_fixture_without_not_inside(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(EXAMPLES, folder)
    rule = folder / f"{RULE_ID}.yaml"
    data = yaml.safe_load(rule.read_text())
    del data["not_inside"]
    rule.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run("test-rules", str(folder))
    assert result.exit_code == 1
    assert f"unexpected  {(folder / f'{RULE_ID}.ts').as_posix()}:42  {RULE_ID}" in result.output


def test_example_rule_is_explained_from_its_folder():
    result = run("explain", RULE_ID, "--rules", str(EXAMPLES))
    assert result.exit_code == 0
    assert "redisFlagStore" in result.output


def test_guide_yaml_blocks_are_valid_yaml():
    for block in re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S):
        yaml.safe_load(block)


def test_guide_shows_the_example_rule_as_it_is():
    text = GUIDE.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if f"id: {RULE_ID}" in b)
    shipped = (EXAMPLES / f"{RULE_ID}.yaml").read_text(encoding="utf-8").splitlines()
    for line in block.splitlines():
        if line.strip() not in ("what: ...",):
            assert line in shipped, f"docs/writing-rules.md shows a line the example does not have: {line!r}"


def test_guide_documents_every_fact():
    from stateaudit.conditions import FACT_NAMES

    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Facts"):text.index("## Messages")]
    missing = sorted(f for f in FACT_NAMES if f"`{f}`" not in section)
    assert not missing, f"docs/writing-rules.md does not explain these facts: {missing}"
