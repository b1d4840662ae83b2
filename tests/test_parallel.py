"""Per-file work across processes: the same findings, in the same order, whatever the process count or file order."""

from __future__ import annotations

import json
import pickle

from click.testing import CliRunner

from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.discover import discover_files
from stateaudit.facts import ServiceIndex
from stateaudit.pool import FileWork, batches_by_size, match_files
from stateaudit.scan import classify_all
from stateaudit.services import detect_services

from .conftest import FIXTURES, REPO

SAME_NAMES = REPO / "tests" / "data" / "same-name-classes"


def _findings_json(args: list[str]) -> list[dict]:
    result = CliRunner().invoke(main, ["scan", *args, "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["findings"]


def test_rule_set_crosses_to_a_worker_process_and_matches_the_same(ruleset):
    clone = pickle.loads(pickle.dumps(ruleset))
    file = discover_files(FIXTURES / "traps", Config()).files[0]
    assert match_files([file], FileWork(clone), 1) == match_files([file], FileWork(ruleset), 1)


def test_two_processes_give_the_same_per_file_records_as_one(ruleset):
    files = list(discover_files(FIXTURES / "corpus", Config(include_tests=True)).files)
    alone = match_files(files, FileWork(ruleset), 1)
    pooled = match_files(files, FileWork(ruleset), 2, min_pool_bytes=0)
    assert list(pooled) != [] and sorted(pooled) == sorted(alone)
    for rel, record in alone.items():
        assert pooled[rel] == record, rel


def test_scan_findings_and_their_order_do_not_depend_on_jobs():
    # The fixtures folder is over a megabyte: with 2 jobs it goes through the pool.
    one = _findings_json(["fixtures", "--jobs", "1"])
    two = _findings_json(["fixtures", "--jobs", "2"])
    assert len(one) > 100
    assert two == one


def test_batches_hold_every_file_once_largest_first(ruleset):
    files = list(discover_files(FIXTURES / "aiponge", Config()).files)
    sizes = [f.path.stat().st_size for f in files]
    batches = batches_by_size(files, sizes, 2)
    assert sorted(f.rel for b in batches for f in b) == sorted(f.rel for f in files)
    weights = [sum(f.path.stat().st_size for f in b) for b in batches]
    assert weights == sorted(weights, reverse=True) and len(batches) > 2


def test_the_last_quarter_of_the_work_goes_in_smaller_and_smaller_batches():
    """A full batch taken last keeps the scan waiting on one core: the tail is cut finer."""
    from stateaudit.pool import BATCHES_PER_JOB, SMALLEST_BATCH

    files = [f"f{n}" for n in range(4000)]  # the files are only carried: 4,000 of 100 bytes
    batches = batches_by_size(files, [100] * len(files), 2)
    weights = [100 * len(b) for b in batches]
    full = 400_000 // (2 * BATCHES_PER_JOB)
    assert [f for b in batches for f in b] == files  # consecutive runs, in order: full ones, then the tail
    assert weights[0] == full and weights == sorted(weights, reverse=True)
    assert sum(w for w in weights if w < full) <= 400_000 // 4
    assert weights[-1] <= full * SMALLEST_BATCH + 100 and len(batches) > 2 * BATCHES_PER_JOB


def _index(records, order) -> ServiceIndex:
    index = ServiceIndex()
    for rel in order:
        index.add(records[rel].index)
    return index


def test_class_lookup_is_the_same_whatever_order_files_arrive_in(ruleset):
    files = list(discover_files(SAME_NAMES, Config()).files)
    records = match_files(files, FileWork(ruleset), 1)
    stateful, plain = "src/cache/session-store.ts", "src/legacy/session-store.ts"
    forward = _index(records, [f.rel for f in files])
    backward = _index(records, [f.rel for f in reversed(files)])
    assert [c.file for c in forward.classes["SessionStore"]] != [c.file for c in backward.classes["SessionStore"]]
    for index in (forward, backward):
        assert index.lookup("SessionStore", plain).file == plain
        found = index.lookup("SessionStore", "src/sessions.ts")
        assert found.file == stateful and found.stateful_fields == ("sessions",)


def test_service_findings_are_the_same_whatever_order_files_arrive_in(ruleset):
    files = list(discover_files(SAME_NAMES, Config()).files)
    records = match_files(files, FileWork(ruleset), 1)
    services = detect_services(SAME_NAMES, files, ())
    forward, forward_reviewed = classify_all(files, records, services, ruleset, Config())
    backward, backward_reviewed = classify_all(list(reversed(files)), records, services, ruleset, Config())
    assert {f.rule_id for f in forward} == {"ts.instance-collection", "ts.singleton"}
    assert sorted(forward, key=repr) == sorted(backward, key=repr)
    assert sorted(forward_reviewed, key=repr) == sorted(backward_reviewed, key=repr)
