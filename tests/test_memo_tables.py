"""A file analysis remembers per-node answers in tables it keeps in its own `__dict__`. A table named like
one of the class's attributes shadows it: the next call finds a dict where a method was, and every file
after the first fails with an internal error. The names are checked here, from the source, for every class
of the facts package."""

from __future__ import annotations

import re
from pathlib import Path

import stateaudit.facts as facts_package
from stateaudit.facts.py_file import PyFile
from stateaudit.facts.references import EventsTable, FileAnalysis
from stateaudit.facts.ts_file import TsFile

_TABLE = re.compile(r"""__dict__\.setdefault\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")


def _table_names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(Path(facts_package.__file__).parent.glob("*.py")):
        for name in _TABLE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(path.name)
    return found


def test_the_facts_package_keeps_memo_tables_in_its_analyses():
    assert len(_table_names()) >= 5  # the check below looks at something


def test_no_memo_table_shadows_an_attribute_of_an_analysis():
    attributes = set(dir(PyFile)) | set(dir(TsFile)) | set(dir(FileAnalysis)) | set(dir(EventsTable))
    clashes = {name: files for name, files in _table_names().items() if name in attributes}
    assert clashes == {}
