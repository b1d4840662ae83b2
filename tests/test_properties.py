"""Property tests (hypothesis): whatever the bytes of a file, the scanner does not fail, and what it
reports is consistent.

- random source text, random byte mutations and random truncations of real fixture files never make
  the analysis raise (a raise would show up as an internal-error entry, so the tests check there is none);
- every finding's line and column lie within its file, as the scanner decoded it;
- scanning a file twice, or with a blank line added above everything, gives the same fingerprints.

Examples are bounded (max_examples, no deadline: the machine is shared) so the suite stays fast.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stateaudit.config import Config
from stateaudit.match import read_source
from stateaudit.model import Report, SourceFile
from stateaudit.scan import scan

from .conftest import FIXTURES

SAMPLES = [FIXTURES / "corpus" / p for p in (
    "express/src/routes/cart.ts", "koa/src/chat/rooms.ts", "nestjs/src/sessions/session.service.ts",
    "fastapi/app/ratelimit.py", "celery/worker/tasks/search.py", "flask/shop/thumbnails.py",
)]
EXTENSIONS = [".ts", ".tsx", ".js", ".py"]
BOUNDED = settings(max_examples=25, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def workdir():
    folder = Path(tempfile.mkdtemp(prefix="stateaudit-prop-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def scan_one(folder: Path, name: str, data: bytes, ruleset) -> Report:
    """Scan a folder holding just this one file (written fresh for each example)."""
    for old in folder.iterdir():
        old.unlink()
    (folder / name).write_bytes(data)
    return scan(folder, Config(), ruleset).report


def assert_sound(report: Report, folder: Path, name: str) -> None:
    assert report.internal_errors == (), report.internal_errors
    if not report.findings:
        return
    text = read_source(SourceFile(folder / name, name, "typescript")).data.decode("utf-8")
    lines = text.split("\n")
    for f in report.findings:
        where = f.location
        assert where.path == name
        assert 1 <= where.line <= where.end_line <= len(lines), where
        assert 1 <= where.column <= len(lines[where.line - 1]) + 1, (where, lines[where.line - 1])


SOURCE_TEXT = st.text(st.sampled_from(list("abcdefgxyz_$ \n\t(){}[]<>=;:.,'\"`#@!+-*/\\0123456789"))
                      | st.characters(), max_size=400)
SNIPPETS = st.lists(st.sampled_from([
    "const jobs = new Map();", "export function add(k) { jobs.set(k, 1); }", "class A {", "}", "cache = {}",
    "def f(k):", "    cache[k] = 1", "setInterval(() => {}, 1000);", "private tasks = new Map<string, number>();",
    "constructor() {", "@Injectable()", "export class S {", "import x from 'y';", "if (", "=>", "{{{", "'''", '"""',
]), max_size=25).map("\n".join)


@BOUNDED
@given(text=SOURCE_TEXT | SNIPPETS, ext=st.sampled_from(EXTENSIONS))
def test_random_source_text_never_breaks_the_scan(workdir, ruleset, text, ext):
    name = "random" + ext
    assert_sound(scan_one(workdir, name, text.encode("utf-8", "surrogatepass"), ruleset), workdir, name)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Each edit (kind, position, byte): 0 replaces, 1 inserts, 2 deletes a byte."""
    buffer = bytearray(data)
    for kind, position, value in edits:
        at = position % (len(buffer) + 1)
        if kind == 0 and at < len(buffer):
            buffer[at] = value
        elif kind == 1:
            buffer.insert(at, value)
        elif kind == 2 and at < len(buffer):
            del buffer[at]
    return bytes(buffer)


EDITS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=12)


@BOUNDED
@given(sample=st.sampled_from(SAMPLES), edits=EDITS)
def test_random_byte_mutations_of_fixture_files_never_break_the_scan(workdir, ruleset, sample, edits):
    name = "mutated" + sample.suffix
    data = _mutate(sample.read_bytes(), edits)
    assert_sound(scan_one(workdir, name, data, ruleset), workdir, name)


@BOUNDED
@given(sample=st.sampled_from(SAMPLES), cut=st.floats(0, 1))
def test_random_truncations_of_fixture_files_never_break_the_scan(workdir, ruleset, sample, cut):
    name = "truncated" + sample.suffix
    data = sample.read_bytes()
    assert_sound(scan_one(workdir, name, data[: int(len(data) * cut)], ruleset), workdir, name)


def fingerprints(report: Report) -> list[tuple[str, int]]:
    return sorted((f.fingerprint, f.location.line) for f in report.findings)


@BOUNDED
@given(sample=st.sampled_from(SAMPLES), edits=st.none() | EDITS)
def test_fingerprints_are_stable_across_runs_and_line_shifts(workdir, ruleset, sample, edits):
    name = "stable" + sample.suffix
    data = sample.read_bytes() if edits is None else _mutate(sample.read_bytes(), edits)
    first = fingerprints(scan_one(workdir, name, data, ruleset))
    again = fingerprints(scan_one(workdir, name, data, ruleset))
    shifted = fingerprints(scan_one(workdir, name, b"\n" + data, ruleset))
    assert first == again
    assert shifted == [(fp, line + 1) for fp, line in first]


def test_the_samples_have_findings_so_the_stability_property_is_not_vacuous(workdir, ruleset):
    for sample in SAMPLES:
        assert scan_one(workdir, "sample" + sample.suffix, sample.read_bytes(), ruleset).findings, sample
