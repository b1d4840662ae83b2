"""Per-file results kept between scans: reused when a file is unchanged, never stale, never fatal when damaged."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from stateaudit.cache import CACHE_DIR_NAME, LAYOUT, RECORD_INDEX, RECORDS, ResultCache, context_digest
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


def _entries(cache: Path) -> dict[str, tuple[str, int, int, int]]:
    """The per-file records the cache's index names: key -> (pack, offset, size, last used). Joins, index
    shares, walks and the rule set sit in folders of their own beside them."""
    index = cache / LAYOUT / RECORDS / RECORD_INDEX
    return pickle.loads(index.read_bytes()) if index.exists() else {}


def _forget_records(cache: Path) -> None:
    """Remove every per-file record (packs and index), keeping joins and index shares."""
    shutil.rmtree(cache / LAYOUT / RECORDS)


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
    records = sorted(_entries(cache).values(), key=lambda location: location[1])
    (pack,) = {location[0] for location in records}  # four small files, one process: one pack
    pack = cache / LAYOUT / RECORDS / pack
    content = bytearray(pack.read_bytes())
    _, offset, size, _ = records[0]
    content[offset:offset + size] = b"x" * size  # not a pickle
    pack.write_bytes(bytes(content[:records[-1][1] + 5]))  # and the last record cut short
    (join,) = (cache / LAYOUT / "joins").rglob("*.pickle")
    join.write_bytes(b"\x80\x05 damaged")
    again = scan(service, Config(), ruleset, cache_dir=cache)
    assert len(again.parsed) == 2 and again.rejoined == (".",)
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
    (listing,) = (service / CACHE_DIR_NAME / LAYOUT).glob("queries-*.txt")
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
    _forget_records(cache)  # were the unchanged files needed, they would have to be parsed again
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
    _forget_records(cache)
    assert scan(service, Config(), ruleset, cache_dir=cache).parsed == ("src/format.ts",)
    changed.path.write_text(changed.path.read_text(encoding="utf-8") + "// and another\n", encoding="utf-8")
    again = scan(service, Config(), ruleset, cache_dir=cache)
    assert again.parsed == (changed.rel,)
    assert again.report.findings == scan(service, Config(), ruleset).report.findings


def test_damaged_index_shares_mean_a_whole_join_again(tmp_path, ruleset):
    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    scan(service, Config(), ruleset, cache_dir=cache)
    (shares,) = (cache / LAYOUT / "indexes").rglob("*.pickle")
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
    for entry in (cache / LAYOUT / "rules").glob("*.pickle"):
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
    """Parsing, the fact extractors and multiprocessing are a tenth of a warm scan's time to import alone;
    PyYAML and the TOML and INI parsers, needed only to read rule, config and manifest files, a few hundredths
    more: a rescan takes its rule set from the cache and reads no config here."""
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
    heavy = {"stateaudit.facts", "stateaudit.match", "stateaudit.pool", "yaml", "stateaudit.callee_patterns"}
    pool = {"multiprocessing", "concurrent.futures"}  # a scan this small stays in one process
    readers = {"tomllib", "tomli", "configparser"}  # for pyproject.toml and setup.cfg, which the service has none of
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def loaded() -> set[str]:
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
        return set(done.stdout.split()) & (heavy | pool | readers)

    assert loaded() == heavy  # the first scan parses every file and reads the rules
    assert loaded() == set()


def test_pool_workers_write_their_records_in_packs_that_a_later_scan_reads(tmp_path, ruleset):
    """Each worker writes one pack per batch; the parent names them all in one index, written once."""
    from stateaudit.pool import FileWork, batches_by_size, packed_records

    files = list(discover_files(FIXTURES / "corpus", Config(include_tests=True)).files)
    writer = ResultCache(tmp_path / "cache", ruleset)
    assert writer.open() is None
    keys = {f.rel: writer.key_of(f) for f in files}
    made = {rel: record for rel, record, parsed in
            packed_records(files, FileWork(ruleset, writer), 2, min_pool_bytes=0, keys=keys) if parsed}
    assert sorted(made) == sorted(f.rel for f in files) and len(files) > 40
    assert not (tmp_path / "cache" / LAYOUT / RECORDS / RECORD_INDEX).exists()  # not before the scan ends
    writer.records.commit(set(keys.values()))
    packs = list((tmp_path / "cache" / LAYOUT / RECORDS).glob("*.pack"))
    batches = batches_by_size(files, [f.path.stat().st_size for f in files], 2)
    assert len(packs) == len(batches) < len(files)  # a pack per batch, not a file per record
    reader = ResultCache(tmp_path / "cache", ruleset)
    assert {rel: reader.get(keys[rel]) for rel in made} == made
    again = list(packed_records(files, FileWork(ruleset, reader), 2, min_pool_bytes=0, keys=keys))
    assert not any(parsed for _, _, parsed in again) and {rel: r for rel, r, _ in again} == made


def _rescan_from_records(service: Path, cache: Path, ruleset):
    """A scan that joins again from every record (a changed config): each record is read from the cache."""
    lowered = Config(risk_overrides={"ts.instance-collection": Risk.LOW})
    return scan(service, lowered, ruleset, cache_dir=cache), scan(service, lowered, ruleset)


def test_a_missing_pack_or_a_damaged_index_is_a_miss_and_the_records_are_made_again(tmp_path, ruleset):
    service = _copy(FIXTURES / "aiponge" / "services" / "user-service", tmp_path)
    cache = tmp_path / "cache"
    files = [f.rel for f in discover_files(service, Config()).files]
    scan(service, Config(), ruleset, cache_dir=cache)
    for pack in (cache / LAYOUT / RECORDS).glob("*.pack"):
        pack.unlink()
    again, fresh = _rescan_from_records(service, cache, ruleset)
    assert again.parsed == tuple(files) and again.warnings == fresh.warnings
    assert again.report.findings == fresh.report.findings and again.report.errors == fresh.report.errors
    assert len(_entries(cache)) == len(files)  # written again, readable by the next scan
    (cache / LAYOUT / RECORDS / RECORD_INDEX).write_bytes(b"\x80\x05 damaged")
    lowered = Config(risk_overrides={"ts.instance-collection": Risk.HIGH})
    damaged = scan(service, lowered, ruleset, cache_dir=cache)
    assert damaged.parsed == tuple(files)
    assert damaged.report.findings == scan(service, lowered, ruleset).report.findings
    assert scan(service, Config(), ruleset, cache_dir=cache).parsed == ()


def test_packs_no_entry_names_are_deleted_once_old_and_unused_entries_after_two_weeks(tmp_path, ruleset):
    from stateaudit.cache import PACK_GRACE_S, RECORD_KEEP_S

    cache = ResultCache(tmp_path / "cache", ruleset)
    assert cache.open() is None
    folder = tmp_path / "cache" / LAYOUT / RECORDS
    cache.records.add("kept", b"record one")
    cache.records.add("old", b"record two")
    cache.records.commit({"kept", "old"})
    (named,) = folder.glob("*.pack")
    now = time.time()
    old = now - PACK_GRACE_S - 60
    orphan_old, orphan_young, leftover = folder / "1-dead.pack", folder / "2-running.pack", folder / ".x.pack.tmp"
    for path in (orphan_old, orphan_young, leftover):
        path.write_bytes(b"bytes no index names")
    for path in (orphan_old, leftover, named):
        os.utime(path, (old, old))
    cache.records.add("new", b"record three")  # a commit writes the index, and deletes then
    cache.records.commit({"kept", "old", "new"})
    assert not orphan_old.exists() and not leftover.exists() and named.exists() and orphan_young.exists()
    # Two weeks on, "old" (no file has that content now) goes; "kept" is a current file's and stays, so
    # its pack does too.
    later = now + RECORD_KEEP_S + 86400
    cache.records.commit({"kept", "new"}, now=later)
    reader = ResultCache(tmp_path / "cache", ruleset)
    assert reader.records.read("kept") == b"record one" and reader.records.read("old") is None
    assert named.exists() and set(_entries(tmp_path / "cache")) == {"kept", "new"}
    cache.records.commit(set(), now=later + RECORD_KEEP_S + 86400)  # nothing current: every pack goes
    assert not list(folder.glob("*.pack")) and _entries(tmp_path / "cache") == {}


def test_the_index_written_last_keeps_what_another_scan_wrote_before_it(tmp_path, ruleset):
    """Two scans at once: each writes its own packs; the index is merged with the one on disk when written."""
    first, second = (ResultCache(tmp_path / "cache", ruleset) for _ in range(2))
    assert first.open() is None
    assert not first.records.has_any() and not second.records.has_any()
    first.records.add("a", b"from the first scan")
    second.records.add("b", b"from the second scan")
    second.records.flush()
    first.records.commit({"a"})
    second.records.commit({"b"})
    reader = ResultCache(tmp_path / "cache", ruleset)
    assert reader.records.read("a") == b"from the first scan" and reader.records.read("b") == b"from the second scan"
    assert len(list((tmp_path / "cache" / LAYOUT / RECORDS).glob("*.pack"))) == 2


def _stored_indexes(cache: Path):
    from stateaudit.incremental import ServiceIndexes

    (path,) = (cache / LAYOUT / "indexes").rglob("*.pickle")
    entry = pickle.loads(path.read_bytes())
    assert isinstance(entry, ServiceIndexes)
    return path, entry


def test_the_stored_service_index_is_the_one_its_stored_shares_build(tmp_path, ruleset):
    """What a rescan classifies a changed file against, without building it again from every share."""
    from stateaudit.facts import ServiceIndex

    service = _copy(FIXTURES / "aiponge" / "services" / "user-service", tmp_path)
    cache = tmp_path / "cache"
    scan(service, Config(), ruleset, cache_dir=cache)
    _, entry = _stored_indexes(cache)
    assert sorted(entry.shares) == [f.rel for f in discover_files(service, Config()).files]
    built = ServiceIndex()
    for rel in sorted(entry.shares):
        built.add(entry.share(rel), rel)
    assert entry.whole() == built and built.classes and built.sites


def test_a_large_service_index_pickled_in_a_child_beside_classification_is_stored_the_same(tmp_path, ruleset,
                                                                                        monkeypatch):
    """From PICKLE_BESIDE_FROM_FILES member files the index is pickled in a forked child while the parent
    classifies: what is stored and found is what the parent alone stores and finds."""
    import stateaudit.beside as beside
    import stateaudit.incremental as incremental

    service = _copy(FIXTURES / "aiponge" / "services" / "user-service", tmp_path)
    alone = scan(service, Config(), ruleset, cache_dir=tmp_path / "alone")
    _, stored_alone = _stored_indexes(tmp_path / "alone")
    forks = []
    run_beside = beside.run_beside
    monkeypatch.setattr(beside, "run_beside", lambda task, chores: forks.append(1) or run_beside(task, chores))
    monkeypatch.setattr(incremental, "PICKLE_BESIDE_FROM_FILES", 1)
    forked = scan(service, Config(), ruleset, cache_dir=tmp_path / "forked")
    _, stored_forked = _stored_indexes(tmp_path / "forked")
    assert forks == ([1] if beside.can_fork() else [])
    assert stored_forked.index == stored_alone.index and stored_forked.shares == stored_alone.shares
    assert forked.report.findings == alone.report.findings and forked.report.reviewed == alone.report.reviewed
    assert len(alone.report.findings) + len(alone.report.reviewed) > 3


def test_a_damaged_stored_service_index_means_a_whole_join_again(tmp_path, ruleset):
    from dataclasses import replace

    service = _copy(SAME_NAMES, tmp_path)
    cache = tmp_path / "cache"
    scan(service, Config(), ruleset, cache_dir=cache)
    path, entry = _stored_indexes(cache)
    path.write_bytes(pickle.dumps(replace(entry, index=entry.index[:40])))
    (service / "src" / "app.ts").write_text(
        (service / "src" / "app.ts").read_text(encoding="utf-8") + "\n// edited\n", encoding="utf-8")
    again = scan(service, Config(), ruleset, cache_dir=cache)
    assert again.parsed == ("src/app.ts",) and again.rejoined == (".",)
    assert again.report.findings == scan(service, Config(), ruleset).report.findings


def test_an_index_entry_that_is_not_well_formed_or_points_past_its_pack_is_a_miss(tmp_path, ruleset):
    cache = ResultCache(tmp_path / "cache", ruleset)
    assert cache.open() is None
    cache.records.add("good", b"a record")
    cache.records.commit({"good"})
    folder = tmp_path / "cache" / LAYOUT / RECORDS
    (pack,) = folder.glob("*.pack")
    index = _entries(tmp_path / "cache")
    index.update({"past the end": (pack.name, 4, 10**9, 0), "a folder": ("../x.pack", 0, 1, 0),
                  "not a tuple": ["x.pack", 0, 1, 0], "negative": (pack.name, -1, 2, 0), 7: (pack.name, 0, 1, 0)})
    (folder / RECORD_INDEX).write_bytes(pickle.dumps(index))
    reader = ResultCache(tmp_path / "cache", ruleset)
    assert reader.records.read("good") == b"a record"
    for key in ("past the end", "a folder", "not a tuple", "negative"):
        assert reader.records.read(key) is None and reader.get(key) is None
    reader.records.add("more", b"another record")
    reader.records.commit({"good", "more"})  # the malformed entries are not carried on
    assert set(_entries(tmp_path / "cache")) == {"good", "more"}
