"""Bad input gets a one-line message and the scan goes on; deep trees do not hit Python's recursion limit."""

from __future__ import annotations

import json
import os
import sys

import pytest
from click.testing import CliRunner

from stateaudit.cli import main

from .test_discover import make

STATEFUL_TS = "const jobs = new Map<string, number>();\nexport function add(id: string) { jobs.set(id, 1); }\n"


def scan_json(root, *extra):
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "json", "--fail-on", "none", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


STATEFUL_JS = "const jobs = new Map();\nexport function add(id) { jobs.set(id, 1); }\n"
STATEFUL_PY = "jobs = {}\n\ndef add(key):\n    jobs[key] = 1\n"


def test_binary_files_with_source_extensions_are_skipped_and_counted(tmp_path):
    make(tmp_path, {"a.ts": STATEFUL_TS, "blob.js": b"\x00\x01\x02binary", "image.py": b"\x89PNG\r\n\x1a\n\x00\x00"})
    data, err = scan_json(tmp_path)
    assert [f["file"] for f in data["findings"]] == ["a.ts"]
    assert {(e["file"], e["reason"]) for e in data["errors"]} == {("blob.js", "binary"), ("image.py", "binary")}
    assert data["summary"]["skipped"] == {"binary": 2}
    assert data["summary"]["parse_errors"] == 2
    assert "blob.js: binary file" in err and "image.py: binary file" in err


def test_a_bad_byte_in_a_string_does_not_hide_the_state_below_it(tmp_path):
    """The issue's case: one non-UTF-8 byte in a literal; the module array written below is still found."""
    make(tmp_path, {
        "cart.js": b"const greeting = 'caf\xe9';\nconst items = [];\nexport function add(x) { items.push(x); }\n",
        "legacy.py": "label = 'Gr\xfc\xdfe'\n".encode("latin-1") + STATEFUL_PY.encode(),
    })
    data, err = scan_json(tmp_path)
    assert sorted((f["file"], f["symbol"]) for f in data["findings"]) == [("cart.js", "items"), ("legacy.py", "jobs")]
    assert {(d["file"], d["reason"]) for d in data["degraded"]} == {("cart.js", "encoding"), ("legacy.py", "encoding")}
    assert data["summary"]["degraded"] == {"encoding": 2}
    assert data["errors"] == []
    assert "cart.js: not valid UTF-8 (first bad byte on line 1)" in err
    cart = next(f for f in data["findings"] if f["file"] == "cart.js")
    assert cart["line"] == 2 and cart["column"] == 7


def test_utf16_bom_utf8_bom_and_crlf_files_are_read_as_text(tmp_path):
    make(tmp_path, {
        "utf16le.ts": "\ufeff".encode("utf-16-le") + STATEFUL_TS.encode("utf-16-le"),
        "utf16be.py": "\ufeff".encode("utf-16-be") + STATEFUL_PY.encode("utf-16-be"),
        "bom.ts": b"\xef\xbb\xbf" + STATEFUL_TS.replace("jobs", "tasks").encode(),
        "crlf.py": STATEFUL_PY.replace("jobs", "seen").replace("\n", "\r\n").encode(),
    })
    data, err = scan_json(tmp_path)
    found = {f["file"]: (f["symbol"], f["line"], f["column"], f["snippet"]) for f in data["findings"]}
    assert found == {
        "utf16le.ts": ("jobs", 1, 7, "const jobs = new Map<string, number>();"),
        "utf16be.py": ("jobs", 1, 1, "jobs = {}"),
        "bom.ts": ("tasks", 1, 7, "const tasks = new Map<string, number>();"),
        "crlf.py": ("seen", 1, 1, "seen = {}"),
    }
    assert data["errors"] == [] and data["degraded"] == [] and err == ""


def test_crlf_and_lf_copies_of_a_file_have_the_same_fingerprints(tmp_path):
    make(tmp_path / "lf", {"a.ts": STATEFUL_TS})
    make(tmp_path / "crlf", {"a.ts": STATEFUL_TS.replace("\n", "\r\n").encode()})
    lf, _ = scan_json(tmp_path / "lf")
    crlf, _ = scan_json(tmp_path / "crlf")
    assert [f["fingerprint"] for f in lf["findings"]] == [f["fingerprint"] for f in crlf["findings"]] != []


def test_files_over_the_size_limit_are_skipped_with_a_notice_and_the_limit_is_configurable(tmp_path):
    big = STATEFUL_TS + "// padding\n" * 200  # about 2.4 kB
    make(tmp_path, {"big.ts": big, "small.py": STATEFUL_PY, ".stateaudit.yml": "max_file_bytes: 1000\n"})
    data, err = scan_json(tmp_path)
    assert [f["file"] for f in data["findings"]] == ["small.py"]
    assert [(e["file"], e["reason"]) for e in data["errors"]] == [("big.ts", "too-large")]
    assert "over the 1000-byte limit (max_file_bytes)" in err
    (tmp_path / ".stateaudit.yml").write_text("max_file_bytes: 100000\n")
    data, _ = scan_json(tmp_path)
    assert sorted(f["file"] for f in data["findings"]) == ["big.ts", "small.py"]


def test_syntax_errors_warn_and_still_report_what_parses(tmp_path):
    make(tmp_path, {"broken.ts": STATEFUL_TS + "export function oops( {\n", "fine.py": "x = 1\n"})
    data, err = scan_json(tmp_path)
    assert [(f["symbol"], f["confidence"]) for f in data["findings"]] == [("jobs", "medium")]
    assert "the file has syntax errors" in data["findings"][0]["reasons"]
    assert [(d["file"], d["reason"]) for d in data["degraded"]] == [("broken.ts", "syntax-error")]
    assert "broken.ts: syntax errors" in err


def test_a_broken_line_above_the_state_does_not_hide_it(tmp_path):
    """The issue's case: tree-sitter folds everything after `class {{{ broken ( =>` into one ERROR node."""
    make(tmp_path, {"cache.js": "class {{{ broken ( =>\nconst cache = new Map(); export function f(k){ cache.set(k,1) }\n",
                    "clean.js": "const cache = new Map(); export function f(k){ cache.set(k,1) }\n"})
    data, err = scan_json(tmp_path)
    found = {f["file"]: f for f in data["findings"]}
    assert (found["cache.js"]["symbol"], found["cache.js"]["line"], found["cache.js"]["column"]) == ("cache", 2, 7)
    assert found["clean.js"]["confidence"] == "high" and found["cache.js"]["confidence"] == "medium"
    assert [d["message"] for d in data["degraded"]] == [
        "syntax errors; line(s) 1 ignored so the rest parses; findings here have lower confidence"]


def test_empty_and_whitespace_only_files_are_scanned(tmp_path):
    make(tmp_path, {"empty.ts": "", "blank.py": "\n\n   \n", "only-bom.js": b"\xef\xbb\xbf", "a.ts": STATEFUL_TS})
    data, err = scan_json(tmp_path)
    assert data["summary"]["files_scanned"] == 4
    assert [f["file"] for f in data["findings"]] == ["a.ts"]
    assert data["errors"] == [] and data["degraded"] == [] and err == ""


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loops_and_links_out_of_the_root_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    make(outside, {"secret.ts": STATEFUL_TS})
    root = tmp_path / "repo"
    make(root, {"src/a.ts": STATEFUL_TS})
    (root / "src" / "loop").symlink_to(root / "src")  # a folder that contains itself
    (root / "ping.ts").symlink_to(root / "pong.ts")
    (root / "pong.ts").symlink_to(root / "ping.ts")
    (root / "escape").symlink_to(outside)
    (root / "escape.ts").symlink_to(outside / "secret.ts")
    (root / "alias.ts").symlink_to(root / "src" / "a.ts")
    data, err = scan_json(root)
    assert [f["file"] for f in data["findings"]] == ["src/a.ts"]
    assert {(e["file"], e["reason"]) for e in data["errors"]} == {
        ("ping.ts", "symlink"), ("pong.ts", "symlink"), ("escape", "symlink"), ("escape.ts", "symlink")}
    assert data["summary"]["skipped"] == {"symlink": 4}
    assert "escape: symlink out of the scan root, not followed" in err
    assert "ping.ts: broken or looping symlink, not followed" in err


@pytest.mark.skipif(sys.platform == "win32", reason="newlines are not allowed in Windows file names")
def test_odd_path_names_are_scanned_and_reported_on_one_line(tmp_path):
    names = ["with space/a b.ts", "ünïcødé/日本.py", "new\nline.ts", "quote'\"<&>.js"]
    make(tmp_path, {names[0]: STATEFUL_TS, names[1]: STATEFUL_PY, names[2]: STATEFUL_TS + "function oops( {\n",
                    names[3]: STATEFUL_JS})
    data, err = scan_json(tmp_path)
    assert sorted(f["file"] for f in data["findings"]) == sorted(names)
    assert "stateaudit: new\\nline.ts: syntax errors" in err  # the newline is escaped, the message stays one line
    sarif = CliRunner().invoke(main, ["scan", str(tmp_path), "--format", "sarif", "--fail-on", "none"])
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(sarif.stdout)["runs"][0]["results"]}
    assert uris == {"with%20space/a%20b.ts", "%C3%BCn%C3%AFc%C3%B8d%C3%A9/%E6%97%A5%E6%9C%AC.py",
                    "new%0Aline.ts", "quote'%22%3C&%3E.js"}


def test_a_scan_path_that_does_not_exist_exits_2_with_a_clear_message(tmp_path):
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "nowhere"), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"stateaudit: {tmp_path / 'nowhere'}: no such file or directory\n"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_is_reported(tmp_path):
    make(tmp_path, {"a.ts": STATEFUL_TS, "secret.ts": STATEFUL_TS})
    (tmp_path / "secret.ts").chmod(0)
    data, err = scan_json(tmp_path)
    assert "secret.ts: cannot read (Permission denied)" in err
    assert [(e["file"], e["reason"]) for e in data["errors"]] == [("secret.ts", "unreadable")]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_folder_is_reported_and_the_rest_scanned(tmp_path):
    make(tmp_path, {"a.ts": STATEFUL_TS, "locked/b.ts": STATEFUL_TS})
    (tmp_path / "locked").chmod(0)
    try:
        data, err = scan_json(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert [f["file"] for f in data["findings"]] == ["a.ts"]
    assert [(e["file"], e["reason"]) for e in data["errors"]] == [("locked", "unreadable")]
    assert "locked: cannot read folder (Permission denied)" in err


def test_deeply_nested_generated_code_does_not_recurse(tmp_path):
    depth = 5000
    nested = "const deep = " + "[\n" * depth + "]\n" * depth + ";\n"
    make(tmp_path, {"generated.ts": nested + STATEFUL_TS, "deep.py": "x = " + "(\n" * 900 + "1" + ")\n" * 900 + "\n"})
    data, _ = scan_json(tmp_path)
    assert [f["symbol"] for f in data["findings"]] == ["jobs"]


def test_deep_folder_trees_are_walked(tmp_path):
    folder = tmp_path
    for i in range(120):
        folder = folder / f"d{i}"
    make(folder, {"a.ts": STATEFUL_TS})
    data, _ = scan_json(tmp_path)
    assert len(data["findings"]) == 1


def test_names_rebound_from_their_own_attributes_terminate(tmp_path):
    """`tb = tb.tb_next` once made a name its own alias and the scan never ended."""
    make(tmp_path, {
        "walk.py": "def frames(tb):\n    out = []\n    while tb is not None:\n        out.append(tb)\n        tb = tb.tb_next\n    return out\n",
        "list.ts": "export function last(node: any) {\n  while (node.next) {\n    node = node.next;\n  }\n  return node;\n}\n",
    })
    data, _ = scan_json(tmp_path)
    assert data["findings"] == []


def test_file_that_cannot_be_read_is_an_error_not_a_crash(tmp_path, ruleset):
    """Root can read anything, so make the read itself fail: the file vanished after discovery."""
    from stateaudit.match import match_file
    from stateaudit.model import SourceFile

    result = match_file(SourceFile(tmp_path / "gone.ts", "gone.ts", "typescript"), ruleset)
    assert result.matches == []
    assert result.error is not None and result.error.path == "gone.ts" and result.error.reason == "unreadable"
    assert result.error.message.startswith("cannot read (")
