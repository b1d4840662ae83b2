"""A rescan replays the last walk and skips reading files whose status is as it was, and is never wrong for it.

Statuses younger than RACY_SECONDS are not trusted (an edit within one clock tick leaves them as they were).
These tests shorten that margin and wait it out after each edit, so the shortcut is taken where the real
margin would make every freshly written file be read again.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit import walkmemory
from stateaudit.cache import LAYOUT
from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.discover import discover_files
from stateaudit.scan import scan
from stateaudit.walkmemory import WalkMemory, WalkRecord

from .conftest import REPO

SAME_NAMES = REPO / "tests" / "data" / "same-name-classes"
MARGIN = 0.05


@pytest.fixture
def short_margin(monkeypatch):
    monkeypatch.setattr(walkmemory, "RACY_SECONDS", MARGIN)


def settle() -> None:
    """Wait until what was just written is older than the (shortened) margin."""
    time.sleep(MARGIN * 2)


def _tree(tmp_path: Path) -> Path:
    """A service with what discovery decides on: tests, a .gitignore, a browser package, vendored and
    minified code."""
    root = tmp_path / "svc"
    shutil.copytree(SAME_NAMES, root)
    (root / ".gitignore").write_text("generated/\n", encoding="utf-8")
    (root / "generated").mkdir()
    (root / "generated" / "client.ts").write_text("export const seen = new Map<string, number>();\n", encoding="utf-8")
    (root / "src" / "app.test.ts").write_text("const calls = new Map();\n", encoding="utf-8")
    (root / "vendor").mkdir()
    (root / "vendor" / "lib.ts").write_text("export const memo = new Map();\n", encoding="utf-8")
    (root / "src" / "bundle.ts").write_text("x" * 5000, encoding="utf-8")  # no newline: looks minified
    web = root / "web"
    (web / "src").mkdir(parents=True)
    (web / "package.json").write_text('{"name": "web", "dependencies": {"react": "18.0.0"}}\n', encoding="utf-8")
    (web / "src" / "widget.ts").write_text("export const clicks = new Map<string, number>();\n", encoding="utf-8")
    return root


def _discover(root: Path, ruleset, memory: WalkMemory | None = None):
    discovery = discover_files(root, Config(), None, ruleset.roles, memory)
    return discovery.files, discovery.skipped, discovery.excluded, discovery.digests, \
        discovery.manifests.listings()


def test_a_replayed_walk_finds_what_a_walk_finds_and_reads_no_file(tmp_path, ruleset, short_margin):
    root = _tree(tmp_path)
    settle()
    first = WalkMemory(None, root_walk=True)
    walked = _discover(root, ruleset, first)
    assert first.now.replayable and len(first.read) == len(first.now.kept) > 4
    again = WalkMemory(pickle.loads(pickle.dumps(first.now)), root_walk=True)
    replayed = _discover(root, ruleset, again)
    assert replayed == walked == _discover(root, ruleset)
    assert again.read == [] and not again.changed()
    assert any(rel == "src/bundle.ts" for rel, *_ in walked[1]) and [e[1] for e in walked[2]] == ["vendored", "browser"]


def test_statuses_younger_than_the_margin_are_not_kept(tmp_path, ruleset):
    """With the real margin, files written just now are read again on the next scan, whatever their status."""
    root = _tree(tmp_path)
    memory = WalkMemory(None, root_walk=True)
    _discover(root, ruleset, memory)
    assert not memory.now.replayable  # its folders were written just now
    assert memory.now.files and all(key is None for key, _problem, _digest in memory.now.files.values())
    again = WalkMemory(memory.now, root_walk=True)
    _discover(root, ruleset, again)
    assert sorted(again.read) == sorted(memory.now.files)


def test_unchanged_rescan_reads_nothing_and_an_edit_reads_one_file(tmp_path, ruleset, short_margin):
    root = _tree(tmp_path)
    cache = tmp_path / "cache"
    settle()
    cold = scan(root, Config(), ruleset, cache_dir=cache)
    warm = scan(root, Config(), ruleset, cache_dir=cache)
    assert len(cold.read) > 4 and warm.read == () and warm.parsed == ()
    assert warm.report.findings == cold.report.findings and warm.report.errors == cold.report.errors
    assert warm.report.excluded == cold.report.excluded and warm.report.files_scanned == cold.report.files_scanned
    store = root / "src" / "cache" / "session-store.ts"
    store.write_text(store.read_text(encoding="utf-8") + "// edited\n", encoding="utf-8")
    settle()
    edited = scan(root, Config(), ruleset, cache_dir=cache)
    assert edited.read == ("src/cache/session-store.ts",) and edited.parsed == ("src/cache/session-store.ts",)


def _json_report(root: Path, *options: str) -> str:
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json", "--fail-on", "none", *options])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    data["summary"]["duration_s"] = 0.0
    return json.dumps(data, indent=2, sort_keys=True)


def _same_size_edit(path: Path, old: str, new: str) -> None:
    """Change the content, keep the size, and put the old access and modification times back."""
    assert len(old) == len(new)
    status = path.stat()
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size and path.stat().st_mtime_ns == status.st_mtime_ns


def test_after_each_kind_of_change_the_shortcut_gives_the_report_of_a_scan_without_cache(tmp_path, short_margin):
    root = _tree(tmp_path)
    cache = str(tmp_path / "cache")
    src = root / "src"
    settle()
    baseline = _json_report(root, "--cache-dir", cache)
    tree_a = {p: p.read_bytes() for p in src.rglob("*.ts")}
    edits = [
        ("same-size edit, mtime restored", lambda: _same_size_edit(
            src / "cache" / "session-store.ts", "sessions", "sessionz")),
        ("manifest same-size edit, mtime restored", lambda: _same_size_edit(
            root / "web" / "package.json", '"react"', '"reacx"')),
        ("the service renamed in its manifest, same files", lambda: _same_size_edit(
            root / "package.json", '"@shop/sessions"', '"@shop/sessionz"')),
        ("a file renamed", lambda: os.rename(src / "sessions.ts", src / "sessions-setup.ts")),
        ("a file added", lambda: (src / "registry.ts").write_text(
            'import { SessionStore } from "./cache/session-store";\n\nexport const registry = new SessionStore();\n',
            encoding="utf-8")),
        ("a file deleted", lambda: (src / "legacy" / "session-store.ts").unlink()),
        ("a folder added", lambda: ((src / "jobs").mkdir(), (src / "jobs" / "queue.ts").write_text(
            "export const pending: string[] = [];\nexport function add(j: string) { pending.push(j); }\n",
            encoding="utf-8"))),
        (".gitignore changed", lambda: (root / ".gitignore").write_text("jobs/\n", encoding="utf-8")),
        (".gitignore removed", lambda: (root / ".gitignore").unlink()),
        ("the browser package turned into a server one", lambda: (root / "web" / "package.json").write_text(
            '{"name": "web", "dependencies": {"express": "4.0.0"}}\n', encoding="utf-8")),
    ]
    reports = []
    for name, edit in edits:
        edit()
        settle()
        cached = _json_report(root, "--cache-dir", cache)
        assert cached == _json_report(root, "--no-cache"), name
        assert _json_report(root, "--cache-dir", cache) == cached, f"{name}, replayed"
        reports.append(cached)
    assert len(set(reports)) > 5 and baseline not in reports
    # Switch between two trees on one cache: back to the first one's sources, then to the second again.
    tree_b = {p: p.read_bytes() for p in src.rglob("*.ts")}
    for tree, other in ((tree_a, tree_b), (tree_b, tree_a)):
        for path in set(other) - set(tree):
            path.unlink()
        for path, data in tree.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        settle()
        assert _json_report(root, "--cache-dir", cache) == _json_report(root, "--no-cache")


def test_a_damaged_walk_record_is_ignored_and_written_again(tmp_path, ruleset, short_margin):
    root = _tree(tmp_path)
    cache = tmp_path / "cache"
    settle()
    cold = scan(root, Config(), ruleset, cache_dir=cache)
    (record,) = (cache / LAYOUT / walkmemory.WALKS).rglob("*.pickle")
    record.write_bytes(b"\x80\x05 damaged")
    again = scan(root, Config(), ruleset, cache_dir=cache)
    assert again.report.findings == cold.report.findings and sorted(again.read) == sorted(cold.read)
    assert isinstance(pickle.loads(record.read_bytes()), WalkRecord)
    assert scan(root, Config(), ruleset, cache_dir=cache).read == ()


def test_where_ctime_is_not_the_change_time_no_status_is_trusted(tmp_path, ruleset, short_margin, monkeypatch):
    """Windows: st_ctime is the creation time, so a same-size edit with its mtime set back would go unseen."""
    monkeypatch.setattr(walkmemory, "CTIME_IS_CHANGE_TIME", False)
    root = _tree(tmp_path)
    settle()
    first = WalkMemory(None, root_walk=True)
    walked = _discover(root, ruleset, first)
    assert not first.now.replayable and all(key is None for key, _p, _d in first.now.files.values())
    again = WalkMemory(first.now, root_walk=True)
    assert _discover(root, ruleset, again) == walked and sorted(again.read) == sorted(first.now.files)
