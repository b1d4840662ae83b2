"""Per-file results kept between scans: reused when a file is unchanged, never stale, never fatal when damaged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from stateaudit.cache import CACHE_DIR_NAME, ResultCache, context_digest
from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.discover import discover_files
from stateaudit.model import Risk
from stateaudit.scan import scan

from .conftest import FIXTURES, REPO

SAME_NAMES = REPO / "tests" / "data" / "same-name-classes"


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def _entries(cache: Path) -> list[Path]:
    """The per-file records, v1/<2 hex digits>/<key>.pickle (joins, index shares, walks and the rule set sit in
    folders of their own beside them, the list of queries known to compile in v1 itself)."""
    return sorted(p for p in (cache / "v1").glob("*/*.pickle") if p.is_file() and len(p.parent.name) == 2)


def test_unchanged_rescan_parses_nothing_and_finds_the_same(tmp_path, ruleset):
    service = _copy(FIXTURES / "aiponge" / "services" / "user-service", tmp_path)
    cache = tmp_path / "cache"
    cold = scan(service, Config(), ruleset, cache_dir=cache)
    warm = scan(service, Config(), ruleset, cache_dir=cache)
    files = [f.rel for f in discover_files(service, Config()).files]
    assert cold.parsed == tuple(files) and len(files) > 5
    assert warm.parsed == () and warm.rejoined == ()
    assert warm.report.findings == cold.report.findings and warm.report.reviewed == cold.report.reviewed
    assert len(cold.report.findings) + len(cold.report.reviewed) > 3
    assert warm.warnings == cold.warnings
    assert len(_entries(cache)) == len(files)


def test_after_one_change_only_that_file_is_parsed_and_cross_file_facts_follow(tmp_path, ruleset):
    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    before = scan(service, Config(), ruleset, cache_dir=cache).report.findings
    store = next(f for f in before if f.location.path == "src/cache/session-store.ts")
    assert any("instantiated at module level" in r for r in store.reasons)
    # The instantiation moves into a function: the unchanged class file's lifetime fact must follow.
    (service / "src" / "sessions.ts").write_text(
        'import { SessionStore } from "./cache/session-store";\n\n'
        "export function createSessions(): SessionStore {\n  return new SessionStore();\n}\n", encoding="utf-8")
    after = scan(service, Config(), ruleset, cache_dir=cache)
    assert after.parsed == ("src/sessions.ts",)
    store = next(f for f in after.report.findings if f.location.path == "src/cache/session-store.ts")
    assert any("instantiated inside functions" in r for r in store.reasons)
    assert after.report.findings == scan(service, Config(), ruleset).report.findings


def test_corrupt_entries_are_ignored_and_rebuilt(tmp_path, ruleset):
    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    first = scan(service, Config(), ruleset, cache_dir=cache)
    entries = _entries(cache)
    entries[0].write_bytes(b"not a pickle")
    entries[1].write_bytes(entries[1].read_bytes()[:20])
    entries[2].write_bytes(b"")
    (join,) = (cache / "v1" / "joins").rglob("*.pickle")
    join.write_bytes(b"\x80\x05 damaged")
    again = scan(service, Config(), ruleset, cache_dir=cache)
    assert len(again.parsed) == 3 and again.rejoined == (".",)
    assert again.report.findings == first.report.findings
    assert scan(service, Config(), ruleset, cache_dir=cache).parsed == ()


def test_a_different_rule_set_or_budget_does_not_reuse_results(tmp_path, ruleset):
    assert context_digest(ruleset) != context_digest(ruleset.without(frozenset({"ts.singleton"})))
    assert (ResultCache.for_config(tmp_path, ruleset, Config()).context
            != ResultCache.for_config(tmp_path, ruleset, Config(file_budget=5)).context)
    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    scan(service, Config(), ruleset, cache_dir=cache)
    fewer = scan(service, Config(disable=frozenset({"ts.singleton"})), ruleset, cache_dir=cache)
    assert len(fewer.parsed) == 4
    assert {f.rule_id for f in fewer.report.findings} == {"ts.instance-collection"}


def test_a_cache_that_cannot_be_written_is_one_warning_and_the_scan_goes_on(tmp_path, ruleset):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = scan(SAME_NAMES, Config(), ruleset, cache_dir=blocker / "cache")
    assert [w for w in result.warnings if "cache" in w] == [
        f"cache {blocker / 'cache'}: cannot write (Not a directory); scanning without it"]
    assert len(result.report.findings) == 2


def test_the_cli_keeps_the_cache_in_the_scan_root_and_discovery_skips_it(tmp_path):
    service = _copy(SAME_NAMES, tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(service), "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    cache = service / CACHE_DIR_NAME
    assert (cache / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    (cache / "stray.ts").write_text("export const seen = new Map<string, number>();\n", encoding="utf-8")
    assert [f.rel for f in discover_files(service, Config()).files] == [
        "src/app.ts", "src/cache/session-store.ts", "src/legacy/session-store.ts", "src/sessions.ts"]
    elsewhere = tmp_path / "elsewhere"
    again = runner.invoke(main, ["scan", str(service), "--format", "json", "--fail-on", "none",
                                 "--cache-dir", str(elsewhere)])
    assert json.loads(again.stdout)["findings"] == json.loads(result.stdout)["findings"]
    assert len(_entries(elsewhere)) == 4


def test_no_cache_writes_nothing(tmp_path):
    service = _copy(SAME_NAMES, tmp_path)
    result = CliRunner().invoke(main, ["scan", str(service), "--no-cache", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    assert not (service / CACHE_DIR_NAME).exists()


def test_two_scans_at_once_share_one_cache(tmp_path, ruleset):
    service = _copy(FIXTURES / "aiponge" / "services" / "user-service", tmp_path)
    command = [sys.executable, "-m", "stateaudit", "scan", str(service), "--format", "json", "--fail-on", "none",
               "--jobs", "1"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err.decode() for _, err in outputs]
    first, second = (json.loads(out)["findings"] for out, _ in outputs)
    assert first == second and first
    cache = service / CACHE_DIR_NAME
    assert not [p for p in cache.rglob(".*.tmp")]  # atomic.write_atomic's temp files
    stored = ResultCache.for_config(cache, ruleset, Config())
    keys = [stored.key_of(f) for f in discover_files(service, Config()).files]
    assert keys and all(stored.get(k) is not None for k in keys)


def test_queries_that_compiled_before_are_compiled_only_when_first_used(tmp_path):
    from stateaudit.syntax import _compiled, compile_query, query_digest, trust_queries

    text = "(identifier) @name ; only in this test"
    trust_queries([query_digest("python", text)])
    misses = _compiled.cache_info().misses
    query = compile_query("python", text)
    assert _compiled.cache_info().misses == misses
    assert query.query is not None and _compiled.cache_info().misses == misses + 1


def test_a_scan_with_a_cache_records_the_queries_that_compiled(tmp_path, ruleset):
    service = _copy(SAME_NAMES, tmp_path)
    result = CliRunner().invoke(main, ["scan", str(service), "--fail-on", "none", "--format", "json"])
    assert result.exit_code == 0, result.output
    (listing,) = (service / CACHE_DIR_NAME / "v1").glob("queries-*.txt")
    recorded = set(listing.read_text(encoding="ascii").split())
    from stateaudit.syntax import query_digest

    used = {query_digest(q.language, q.text) for rule in ruleset.rules.values() for q in rule.queries.values()}
    assert used <= recorded


def test_only_the_service_with_a_changed_file_is_joined_again(tmp_path, ruleset):
    platform = tmp_path / "platform"
    shutil.copytree(FIXTURES / "aiponge" / "services" / "user-service", platform / "user-service")
    shutil.copytree(SAME_NAMES, platform / "sessions")
    cache = tmp_path / "cache"
    cold = scan(platform, Config(), ruleset, cache_dir=cache)
    assert cold.rejoined == ("sessions", "user-service")
    (platform / "sessions" / "src" / "sessions.ts").write_text(
        'import { SessionStore } from "./cache/session-store";\n\n'
        "export function createSessions(): SessionStore {\n  return new SessionStore();\n}\n", encoding="utf-8")
    warm = scan(platform, Config(), ruleset, cache_dir=cache)
    assert warm.parsed == ("sessions/src/sessions.ts",) and warm.rejoined == ("sessions",)
    fresh = scan(platform, Config(), ruleset).report
    assert warm.report.findings == fresh.findings and warm.report.reviewed == fresh.reviewed
    assert warm.report.files_scanned == fresh.files_scanned and warm.report.lines_scanned == fresh.lines_scanned
    assert warm.report.errors == fresh.errors and warm.report.degraded == fresh.degraded
    store = next(f for f in warm.report.findings if f.location.path == "sessions/src/cache/session-store.ts")
    assert any("instantiated inside functions" in r for r in store.reasons)


def test_a_changed_config_joins_every_service_again(tmp_path, ruleset):
    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    scan(service, Config(), ruleset, cache_dir=cache)
    lowered = Config(risk_overrides={"ts.instance-collection": Risk.LOW})
    again = scan(service, lowered, ruleset, cache_dir=cache)
    assert again.parsed == () and again.rejoined == (".",)
    assert again.report.findings == scan(service, lowered, ruleset).report.findings
    assert {f.risk for f in again.report.findings if f.rule_id == "ts.instance-collection"} == {Risk.LOW}


def test_service_join_keys_are_the_same_in_every_process(tmp_path):
    """Keys must not depend on hash randomisation, or no later scan would ever find a join."""
    program = (
        "from pathlib import Path\n"
        "from stateaudit.config import Config\n"
        "from stateaudit.incremental import stable_repr\n"
        "from stateaudit.model import Service\n"
        "service = Service('shop', '.', 'package.json', frozenset({'express', 'ioredis', 'pg', 'zod', 'bullmq'}))\n"
        "config = Config(disable=frozenset({'ts.singleton', 'py.singleton', 'ts.mutable-global'}))\n"
        "print(stable_repr(service) + stable_repr(config))\n")
    outputs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(REPO))
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1 and "'bullmq', 'express'" in outputs.pop()


def _json_report(service: Path, *options: str) -> str:
    """`scan --format json` of `service` as text, its one timing field set to zero."""
    result = CliRunner().invoke(main, ["scan", str(service), "--format", "json", "--fail-on", "none", *options])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    data["summary"]["duration_s"] = 0.0
    return json.dumps(data, indent=2, sort_keys=True)


def test_after_each_kind_of_change_a_cached_rescan_writes_the_cold_scans_report_byte_for_byte(tmp_path):
    """Edits that leave the service index alone, edits that change a cross-file fact, added and removed
    files: the rescan with the cache must say exactly what a scan without it says."""
    service = _copy(SAME_NAMES, tmp_path)
    cache = str(tmp_path / "cache")
    _json_report(service, "--cache-dir", cache)
    src = service / "src"
    edits = [
        # a body edit: the index is unchanged, only this file is judged again
        lambda: (src / "cache" / "session-store.ts").write_text(
            (src / "cache" / "session-store.ts").read_text(encoding="utf-8").replace(
                "this.sessions.delete(token);", "this.sessions.delete(token);\n    this.sessions.delete(`old:${token}`);"),
            encoding="utf-8"),
        # a new file that adds nothing to the service index
        lambda: (src / "format.ts").write_text(
            "export function initials(name: string): string {\n  return name.slice(0, 1);\n}\n", encoding="utf-8"),
        # the instantiation moves into a function: session-store.ts's lifetime changes with no edit of its own
        lambda: (src / "sessions.ts").write_text(
            'import { SessionStore } from "./cache/session-store";\n\n'
            "export function createSessions(): SessionStore {\n  return new SessionStore();\n}\n", encoding="utf-8"),
        # a new file makes the class a module-level singleton again
        lambda: (src / "registry.ts").write_text(
            'import { SessionStore } from "./cache/session-store";\n\nexport const registry = new SessionStore();\n'
            "export const seen = new Map<string, number>();\n", encoding="utf-8"),
        lambda: (src / "legacy" / "session-store.ts").unlink(),
        lambda: (src / "registry.ts").unlink(),
        lambda: (src / "format.ts").unlink(),
    ]
    for number, edit in enumerate(edits):
        edit()
        assert _json_report(service, "--cache-dir", cache) == _json_report(service, "--no-cache"), f"edit {number}"


def test_a_change_that_leaves_the_service_index_alone_needs_no_other_files_record(tmp_path, ruleset):
    service = _copy(FIXTURES / "aiponge" / "services" / "user-service", tmp_path)
    cache = tmp_path / "cache"
    cold = scan(service, Config(), ruleset, cache_dir=cache).report
    for entry in _entries(cache):  # were the unchanged files needed, they would have to be parsed again
        entry.unlink()
    with_finding = cold.findings[0].location.path
    changed = next(f for f in discover_files(service, Config()).files if f.rel == with_finding)
    changed.path.write_text(changed.path.read_text(encoding="utf-8") + "\n// an edit that changes no fact\n",
                            encoding="utf-8")
    warm = scan(service, Config(), ruleset, cache_dir=cache)
    assert warm.parsed == (changed.rel,) and warm.rejoined == (".",)
    fresh = scan(service, Config(), ruleset).report
    assert warm.report.findings == fresh.findings and warm.report.reviewed == fresh.reviewed
    assert warm.report.files_scanned == fresh.files_scanned and warm.report.lines_scanned == fresh.lines_scanned
    assert len(fresh.findings) + len(fresh.reviewed) > 3 and len({f.location.path for f in fresh.findings}) > 1
    # A new file that adds nothing to the index, then an edit of another file: still one parse each.
    (service / "src" / "format.ts").write_text(
        "export function initials(name: string): string {\n  return name.split(' ').map((w) => w[0]).join('');\n}\n",
        encoding="utf-8")
    for entry in _entries(cache):
        entry.unlink()
    assert scan(service, Config(), ruleset, cache_dir=cache).parsed == ("src/format.ts",)
    changed.path.write_text(changed.path.read_text(encoding="utf-8") + "// and another\n", encoding="utf-8")
    again = scan(service, Config(), ruleset, cache_dir=cache)
    assert again.parsed == (changed.rel,)
    assert again.report.findings == scan(service, Config(), ruleset).report.findings


def test_damaged_index_shares_mean_a_whole_join_again(tmp_path, ruleset):
    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    scan(service, Config(), ruleset, cache_dir=cache)
    (shares,) = (cache / "v1" / "indexes").rglob("*.pickle")
    shares.write_bytes(b"\x80\x05 damaged")
    (service / "src" / "app.ts").write_text(
        (service / "src" / "app.ts").read_text(encoding="utf-8") + "\n// edited\n", encoding="utf-8")
    again = scan(service, Config(), ruleset, cache_dir=cache)
    assert again.parsed == ("src/app.ts",) and again.rejoined == (".",)
    assert again.report.findings == scan(service, Config(), ruleset).report.findings


def test_a_rule_set_is_read_once_and_read_again_when_a_rule_file_changes(tmp_path):
    from stateaudit.cache import cached_rules
    from stateaudit.resources import rules_dir
    from stateaudit.ruleset import load_rules

    rules = tmp_path / "rules"
    shutil.copytree(rules_dir(), rules)
    cache = tmp_path / "cache"
    loads = []

    def load(dirs):
        loads.append(dirs)
        return load_rules(dirs)

    first = cached_rules(cache, [rules], load)
    assert first == load_rules([rules]) and len(loads) == 1
    assert cached_rules(cache, [rules], load) == first and len(loads) == 1
    rule = rules / "py.app-state.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("title: ", "title: Edited ", 1), encoding="utf-8")
    edited = cached_rules(cache, [rules], load)
    assert len(loads) == 2 and edited.rules["py.app-state"].title.startswith("Edited ")
    vocabulary = next((rules / "vocabulary").glob("*.yaml"))
    vocabulary.write_text(vocabulary.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert cached_rules(cache, [rules], load) == edited and len(loads) == 3
    for entry in (cache / "v1" / "rules").glob("*.pickle"):
        entry.write_bytes(b"\x80\x05 damaged")
    assert cached_rules(cache, [rules], load) == edited and len(loads) == 4


def test_the_list_of_queries_known_to_compile_only_grows(tmp_path):
    """A rule set taken from the cache validated no query in this process; its queries stay listed."""
    from stateaudit.cache import _queries_file, save_known_queries
    from stateaudit.syntax import known_good_queries

    listing = _queries_file(tmp_path)
    listing.parent.mkdir(parents=True)
    listing.write_text("f" * 32 + "\n", encoding="ascii")
    save_known_queries(tmp_path)
    assert set(listing.read_text(encoding="ascii").split()) == {"f" * 32} | known_good_queries()


def test_switching_back_to_a_tree_scanned_before_joins_nothing(tmp_path, ruleset):
    """A branch and back on one cache: each service's join of the earlier tree is still there, found by the
    keys of its files, so going back parses nothing and joins nothing."""
    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    sessions = service / "src" / "sessions.ts"
    tree_a = sessions.read_bytes()
    on_a = scan(service, Config(), ruleset, cache_dir=cache)
    # the instantiation moves into a function: the service index changes, the service is joined again
    sessions.write_text('import { SessionStore } from "./cache/session-store";\n\n'
                        "export function createSessions(): SessionStore {\n  return new SessionStore();\n}\n",
                        encoding="utf-8")
    on_b = scan(service, Config(), ruleset, cache_dir=cache)
    assert on_b.rejoined == (".",) and on_b.report.findings != on_a.report.findings
    sessions.write_bytes(tree_a)
    back = scan(service, Config(), ruleset, cache_dir=cache)
    assert back.parsed == () and back.rejoined == ()
    assert back.report.findings == on_a.report.findings == scan(service, Config(), ruleset).report.findings
    sessions.write_text(sessions.read_text(encoding="utf-8") + "// a comment\n", encoding="utf-8")
    edited = scan(service, Config(), ruleset, cache_dir=cache)  # an edit after the switch: joined from that file
    assert edited.parsed == ("src/sessions.ts",) and edited.rejoined == (".",)
    assert edited.report.findings == on_a.report.findings


def test_a_rescan_with_nothing_changed_loads_neither_the_matching_nor_the_process_pool(tmp_path):
    """Parsing, the fact extractors and multiprocessing are a tenth of a warm scan's time to import alone."""
    service = _copy(SAME_NAMES, tmp_path)
    program = (
        "import sys\n"
        "from stateaudit.cli import main\n"
        "try:\n"
        f"    main(['scan', {str(service)!r}, '--format', 'json', '-o', {str(tmp_path / 'out.json')!r},\n"
        f"          '--fail-on', 'none', '--cache-dir', {str(tmp_path / 'cache')!r}, '--quiet'])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print(' '.join(sorted(sys.modules)))\n")
    heavy = {"stateaudit.facts", "stateaudit.match", "stateaudit.pool", "multiprocessing", "concurrent.futures"}
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def loaded() -> set[str]:
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
        return set(done.stdout.split()) & heavy

    assert loaded() == heavy  # the first scan parses every file
    assert loaded() == set()
