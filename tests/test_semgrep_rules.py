"""The benchmark's Semgrep rules (benchmarks/semgrep_rules.py) say what the floor's 10 queries per language say.

The floor (../shared/bench/floor.py) runs ../shared/bench/queries/{ts,py}.scm with py-tree-sitter; run.py
times Semgrep with these rules on the same files. Without Semgrep the rule files' structure is checked; with
it (pip install semgrep), a real Semgrep run on tests/data/bench-rules must report, rule by rule, the lines
the floor's query reports there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_python
import tree_sitter_typescript
import yaml

from .conftest import REPO

QUERIES = REPO.parent / "shared" / "bench" / "queries"
FIXTURE = REPO / "tests" / "data" / "bench-rules"
SUFFIXES = {"ts": (".ts", ".tsx", ".js"), "py": (".py",)}
OPERATORS = {"pattern", "pattern-either", "pattern-not", "pattern-inside", "pattern-not-inside",
             "metavariable-regex", "focus-metavariable"}


def _rules_module():
    spec = importlib.util.spec_from_file_location("semgrep_rules", REPO / "benchmarks" / "semgrep_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _floor_rule_ids(language: str) -> set[str]:
    """The floor's rule ids: its captures named r_*, as the Semgrep rules name them."""
    source = (QUERIES / f"{language}.scm").read_text(encoding="utf-8")
    return {name.replace("_", "-") for name in re.findall(r"@r_(\w+)", source)}


def _operators(patterns: list[dict]) -> list[tuple[str, object]]:
    """Every operator of a rule's `patterns`, nested ones included (explicit stack)."""
    found, stack = [], [patterns]
    while stack:
        for item in stack.pop():
            for key, value in item.items():
                found.append((key, value))
                if key == "pattern-either":
                    stack.append(value)
    return found


@pytest.mark.parametrize("language", ["ts", "py"])
def test_each_floor_pattern_is_one_well_formed_semgrep_rule(tmp_path, language):
    module = _rules_module()
    written = yaml.safe_load(module.write_config(tmp_path / "rules.yml", language).read_text(encoding="utf-8"))
    rules = written["rules"]
    assert [rule["id"] for rule in rules] == list(module.TYPESCRIPT if language == "ts" else module.PYTHON)
    assert len(rules) == 10 == len({rule["id"] for rule in rules})
    if QUERIES.is_dir():
        assert {rule["id"] for rule in rules} == _floor_rule_ids(language)
    for rule in rules:
        assert set(rule) == {"id", "languages", "severity", "message", "patterns"}, rule["id"]
        assert rule["languages"] == (["typescript", "javascript"] if language == "ts" else ["python"])
        operators = _operators(rule["patterns"])
        assert {key for key, _ in operators} <= OPERATORS, rule["id"]
        positive = " ".join(value for key, value in operators if key in ("pattern", "pattern-inside"))
        assert positive, rule["id"]
        for key, value in operators:
            if key == "metavariable-regex":
                re.compile(value["regex"])
                assert value["metavariable"] in positive, (rule["id"], value)
            elif key == "focus-metavariable":
                assert value in positive, (rule["id"], value)


def _semgrep() -> str | None:
    return shutil.which("semgrep") or shutil.which("semgrep", path=str(Path(sys.executable).parent))


def _fixture_files(language: str) -> list[Path]:
    return sorted(p for p in (FIXTURE / language).rglob("*") if p.suffix in SUFFIXES[language])


def _floor_lines(language: str, files: list[Path]) -> set[tuple[str, str, int]]:
    """(rule id, file, line) of every floor match, run as floor.py runs it: one grammar per file kind."""
    grammars = {".py": tree_sitter_python.language(), ".tsx": tree_sitter_typescript.language_tsx(),
                ".ts": tree_sitter_typescript.language_typescript(),
                ".js": tree_sitter_typescript.language_typescript()}
    source = (QUERIES / f"{language}.scm").read_text(encoding="utf-8")
    lines = set()
    for path in files:
        grammar = tree_sitter.Language(grammars[path.suffix])
        tree = tree_sitter.Parser(grammar).parse(path.read_bytes())
        for _, captures in tree_sitter.QueryCursor(tree_sitter.Query(grammar, source)).matches(tree.root_node):
            for name, nodes in captures.items():
                if name.startswith("r_"):
                    lines.update((name[2:].replace("_", "-"), str(path), n.start_point[0] + 1) for n in nodes)
    return lines


def _semgrep_lines(semgrep: str, config: Path, files: list[Path]) -> set[tuple[str, str, int]]:
    env = dict(os.environ, SEMGREP_SEND_METRICS="off", SEMGREP_ENABLE_VERSION_CHECK="0")
    done = subprocess.run([semgrep, "scan", "--config", str(config), "--metrics", "off", "--disable-version-check",
                           "--quiet", "--json", "--jobs", "1", *map(str, files)],
                          capture_output=True, text=True, env=env, timeout=600)
    report = json.loads(done.stdout)
    assert report["errors"] == [], report["errors"]
    return {(r["check_id"].rsplit(".", 1)[-1], r["path"], r["start"]["line"]) for r in report["results"]}


@pytest.mark.parametrize("language", ["ts", "py"])
def test_semgrep_rules_match_the_lines_the_floor_matches(tmp_path, language):
    semgrep = _semgrep()
    if semgrep is None:
        pytest.skip("semgrep is not installed (pip install semgrep): only the rules' structure was checked")
    if not QUERIES.is_dir():
        pytest.skip(f"{QUERIES}: the floor's queries are not here (../shared/bench/)")
    module = _rules_module()
    files = _fixture_files(language)
    floor = _floor_lines(language, files)
    found = _semgrep_lines(semgrep, module.write_config(tmp_path / "rules.yml", language), files)
    for rule_id in (module.TYPESCRIPT if language == "ts" else module.PYTHON):
        expected = sorted((f, line) for r, f, line in floor if r == rule_id)
        assert expected, f"{rule_id}: the fixture holds no case of this rule"
        assert sorted((f, line) for r, f, line in found if r == rule_id) == expected, rule_id


def test_benchmark_runs_semgrep_offline_on_exactly_the_floors_files(tmp_path):
    """run.py's semgrep step: the command it times scans the corpus's files (tests/ included), and only them."""
    semgrep = _semgrep()
    if semgrep is None:
        pytest.skip("semgrep is not installed (pip install semgrep)")
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_run", bench)  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    corpus_root = tmp_path / "corpus"
    shutil.copytree(FIXTURE / "ts", corpus_root / "src")
    shutil.copytree(FIXTURE / "ts", corpus_root / "tests" / "src")  # Semgrep's default ignore list drops tests/
    (corpus_root / "package.json").write_text('{"name": "sessions", "dependencies": {"express": "4"}}\n')
    corpus = bench.load_corpus("sessions", corpus_root)
    assert len(corpus.files) == 4 and corpus.language == "ts"
    work = tmp_path / "work"
    work.mkdir()
    command, env = bench.other_tools(type("Args", (), {"jobs": 1})(), corpus, work)["semgrep"]
    assert {"--metrics", "off"} <= set(command) and "--disable-version-check" in command
    copied = Path(command[-1])
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()) == sorted(corpus.files)
    done = subprocess.run(command, env=dict(os.environ, **env), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert bench.semgrep_errors(corpus, work) == "4 of 4 files scanned, 80 matches, no errors"
