"""What a scan keeps in memory: each service is joined as soon as its files are in, and of a joined file
nothing but its slim record stays (its matches wait on disk until the join, then are let go).

The memory figures themselves are measured by benchmarks/run.py (docs/performance.md), not here.
"""

from __future__ import annotations

from stateaudit.config import Config
from stateaudit.discover import discover_files
from stateaudit.incremental import FileOutcome, MatchSpill, ServiceJoiner
from stateaudit.pool import FileWork, match_files, packed_record
from stateaudit.scan import classify_all, classify_service
from stateaudit.services import detect_services

from .conftest import FIXTURES


def test_each_service_is_joined_when_its_last_file_arrives_and_keeps_no_matches(ruleset):
    root = FIXTURES / "aiponge"
    files = list(discover_files(root, Config()).files)
    services = detect_services(root, files, ())
    todo: dict[str, list] = {}
    for file in files:
        todo.setdefault(services.owner_of(file.rel).path, []).append(file)
    assert len(todo) >= 8
    joiner = ServiceJoiner(todo, services, ruleset, Config(), classify_service)
    work = FileWork(ruleset)
    joined = []
    with MatchSpill() as spill:
        for path, members in todo.items():
            for file in members:
                assert joiner.add(file.rel, packed_record(file, work), spill) == (path if file is members[-1] else None)
                kept = joiner.records[file.rel]  # what the report needs, without matches or index share
                assert type(kept) is FileOutcome and not hasattr(kept, "matches") and not hasattr(kept, "index")
            joined.append(path)
            # The service's matches were read back and let go; its index is gone with them.
            assert spill.waiting == 0
            assert path not in joiner.indexes and set(joiner.done) == set(joined)
    streamed = sorted((f for join in joiner.done.values() for f in join.findings), key=repr)
    whole, _reviewed = classify_all(files, match_files(files, work, 1), services, ruleset, Config())
    assert len(streamed) > 20
    assert streamed == sorted(whole, key=repr)


def test_matches_wait_on_disk_until_their_service_is_joined(ruleset):
    files = list(discover_files(FIXTURES / "aiponge", Config()).files)
    records = {f.rel: packed_record(f, FileWork(ruleset)) for f in files[:5]}
    with MatchSpill() as spill:
        for rel, record in records.items():
            spill.put(rel, record.matches)
        assert spill.waiting == 5
        for rel in reversed(records):
            assert spill.take(rel) == match_files([f for f in files if f.rel == rel], FileWork(ruleset), 1)[rel].matches
        assert spill.waiting == 0


def test_puts_after_a_take_do_not_overwrite_what_still_waits(ruleset):
    """Services are joined while other files' records still arrive: takes and puts interleave in the file."""
    files = list(discover_files(FIXTURES / "aiponge", Config()).files)[:6]
    records = {f.rel: packed_record(f, FileWork(ruleset)).matches for f in files}
    rels = list(records)
    with MatchSpill() as spill:
        spill.put(rels[0], records[rels[0]])
        spill.put(rels[1], records[rels[1]])
        assert spill.take(rels[0]) == _unpickled(records[rels[0]])
        for rel in rels[2:]:
            spill.put(rel, records[rel])
        assert spill.take(rels[4]) == _unpickled(records[rels[4]])
        spill.put(rels[0], records[rels[0]])
        assert [spill.take(rel) for rel in (rels[1], rels[0], rels[2], rels[3], rels[5])] == \
            [_unpickled(records[rel]) for rel in (rels[1], rels[0], rels[2], rels[3], rels[5])]
        assert spill.waiting == 0


def _unpickled(blob: bytes) -> list:
    """What a take gives back for a put of `blob`: the matches it pickles."""
    import pickle

    return pickle.loads(blob)
