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


def test_binary_and_non_utf8_files_are_reported_and_skipped(tmp_path):
    make(tmp_path, {"a.ts": STATEFUL_TS, "blob.js": b"\x00\x01\x02binary", "latin.py": "x = 'caf\xe9'\n".encode("latin-1")})
    data, err = scan_json(tmp_path)
    assert [f["file"] for f in data["findings"]] == ["a.ts"]
    messages = {e["file"]: e["message"] for e in data["errors"]}
    assert "binary" in messages["blob.js"]
    assert "UTF-8" in messages["latin.py"]
    assert "blob.js" in err and "latin.py" in err
    assert data["summary"]["parse_errors"] == 2


def test_syntax_errors_warn_and_still_report_what_parses(tmp_path):
    make(tmp_path, {"broken.ts": STATEFUL_TS + "export function oops( {\n", "fine.py": "x = 1\n"})
    data, err = scan_json(tmp_path)
    assert [f["symbol"] for f in data["findings"]] == ["jobs"]
    assert "broken.ts: syntax errors" in err


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_is_reported(tmp_path):
    make(tmp_path, {"a.ts": STATEFUL_TS, "secret.ts": STATEFUL_TS})
    (tmp_path / "secret.ts").chmod(0)
    data, err = scan_json(tmp_path)
    assert "secret.ts" in err


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
    assert result.error is not None and result.error.path == "gone.ts"
    assert result.error.message.startswith("cannot read (")
