"""Outputs: written atomically, identical for identical input whatever the order on disk, and HTML-escaped."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit.atomic import write_atomic
from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.report import FORMATTERS
from stateaudit.scan import scan

from .conftest import FIXTURES
from .test_discover import make


def test_write_atomic_replaces_the_file_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["report.json"], "no temp file left behind"


def test_write_atomic_gives_a_new_file_the_usual_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "fresh.md", "# report\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "fresh.md").stat().st_mode) == 0o644


def test_a_report_written_to_a_pipe_or_device_keeps_it_a_pipe(tmp_path):
    # `-o /dev/null` once replaced the machine's /dev/null with a regular file: a rename over a device
    # swaps the device for a file. A named pipe stands in for the device here.
    pipe = tmp_path / "report.json"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(FIXTURES / "aiponge"), "--no-cache", "--fail-on", "none", "-o", str(pipe)])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert json.loads(received[0])["findings"]
    assert os.listdir(tmp_path) == ["report.json"], "no temp file left behind"


def test_a_failed_write_leaves_the_old_target_and_no_temp_file(tmp_path):
    """os.replace cannot put a file over a non-empty folder: a real failure after the temp file is written."""
    target = tmp_path / "report.json"
    target.mkdir()
    (target / "keep.txt").write_text("kept")
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert (target / "keep.txt").read_text() == "kept"
    assert sorted(os.listdir(tmp_path)) == ["report.json"]


def test_a_report_that_cannot_be_written_is_a_one_line_error(tmp_path):
    make(tmp_path, {"app.py": "jobs = {}\n"})
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--format", "json", "-o", str(tmp_path / "no" / "r.json")])
    assert result.exit_code == 2
    assert result.stderr == f"stateaudit: {tmp_path / 'no' / 'r.json'}: cannot write the report (No such file or directory)\n"


def _copy_in_order(source, target, reverse: bool) -> None:
    """Copy a tree creating files (and folders) in sorted or reverse order, so directory order differs."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    for path in reversed(files) if reverse else files:
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def _without_timing(text: str) -> str:
    return re.sub(r'"duration_s": [0-9.]+', '"duration_s": 0', text)


def test_output_is_byte_identical_whatever_the_file_order_on_disk(tmp_path, monkeypatch, ruleset):
    """Two copies of the same tree, written in opposite orders (so folders list them differently)."""
    outputs = []
    for name, reverse in (("first", False), ("second", True)):
        _copy_in_order(FIXTURES / "aiponge", tmp_path / name / "aiponge", reverse)
        make(tmp_path / name / "aiponge", {
            "odd/bad-byte.js": b"const s = '\xff';\nconst q = [];\nexport const f = (x) => q.push(x);\n",
            "odd/broken.ts": "class {{{ (\nconst m = new Map();\nexport function g(k){ m.set(k, 1) }\n",
            "odd/blob.ts": b"\x00\x01"})
        monkeypatch.chdir(tmp_path / name)
        report = scan(Path("aiponge"), Config(), ruleset).report
        outputs.append({fmt: _without_timing(render(report)) for fmt, render in FORMATTERS.items()})
    for fmt in FORMATTERS:
        assert outputs[0][fmt] == outputs[1][fmt], fmt
    assert "odd/broken.ts" in outputs[0]["json"] and "odd/blob.ts" in outputs[0]["json"]


HOSTILE = '<img src=x onerror="alert(1)">'


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.mark.skipif(os.name == "nt", reason="'<', '>' and '\"' are not allowed in Windows file names")
def test_html_escapes_names_snippets_and_paths_taken_from_scanned_code(tmp_path):
    make(tmp_path, {
        f"src/{HOSTILE}.ts": f"const jobs = new Map(); // {HOSTILE}</script><script>alert(2)</script>\n"
                             "export function add(id: string) { jobs.set(id, 1); }\n",
        f"src/{HOSTILE}-broken.ts": "class {{{ (\nconst m = new Map();\nexport function g(k){ m.set(k, 1) }\n",
        f"src/{HOSTILE}.js": b"\x00binary",
    })
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "src"), "--format", "html", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    page = result.stdout
    elements = _Elements()
    elements.feed(page)
    assert [t for t, _ in elements.tags].count("script") == 1, "only the page's own script"
    assert not [t for t, _ in elements.tags if t == "img"], "no element comes from scanned text"
    assert not [(t, a) for t, a in elements.tags for name in a if name.startswith("on")]
    assert page.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") >= 4  # finding path, snippet, skipped, degraded
    assert "alert(2)&lt;/script&gt;" in page


def test_json_lists_what_was_skipped_and_degraded_additively(tmp_path):
    """The findings contract's fields are unchanged; the new ones are added beside them."""
    make(tmp_path, {"a.py": "jobs = {}\n\ndef add(k):\n    jobs[k] = 1\n", "b.py": b"x = '\xe9'\n", "c.js": b"\x00"})
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--format", "json", "--fail-on", "none"])
    data = json.loads(result.stdout)
    assert set(data) >= {"schema_version", "tool", "root", "summary", "services", "findings"}
    assert data["schema_version"] == 1
    assert set(data["summary"]) >= {"files_scanned", "lines_scanned", "parse_errors", "duration_s", "findings", "by_risk"}
    assert data["summary"]["skipped"] == {"binary": 1} and data["summary"]["degraded"] == {"encoding": 1}
    assert data["summary"]["internal_errors"] == 0 and data["internal_errors"] == []
    assert data["errors"] == [{"file": "c.js", "message": "binary file (NUL bytes), skipped", "reason": "binary"}]
