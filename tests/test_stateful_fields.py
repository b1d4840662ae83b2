"""A class's stateful fields: the cheap look for code that could rebind a field (may_rebind_members) may
spare the events table, never change the answer."""

from __future__ import annotations

from stateaudit.facts import facts_module
from stateaudit.syntax import QUERY_LANGUAGE, descendants, parse_source, release_index

from .conftest import FIXTURES

CLASSES_TS = b"""import { Injectable } from '@nestjs/common';

@Injectable()
export class TokenStore {
  private lastIssued?: string;
  constructor(private readonly secret: string) {
    this.lastIssued = undefined;  // initialised, not written after start-up
  }
  issue(user: string): string {
    this.lastIssued = `${user}:${this.secret}`;
    return this.lastIssued;
  }
}

export class RequestCounter {
  private served = 0;
  count(): void {
    this.served++;
  }
}

export class Settings {
  private readonly region: string;
  constructor(region: string) {
    this.region = region;
  }
  describe(): string {
    return `region ${this.region}`;
  }
}

export class Warmer {
  private warmed = false;
  constructor() {
    setTimeout(() => { this.warmed = true; }, 1000);  // a callback the constructor hands on runs later
  }
}
"""


def _classes(source: bytes, grammar: str):
    release_index()
    parsed = parse_source(source, grammar)
    analysis = facts_module(QUERY_LANGUAGE[grammar]).analyse(parsed)
    types = ("class_declaration", "class", "abstract_class_declaration") if grammar != "python" else ("class_definition",)
    return analysis, descendants(parsed.root, frozenset(types))


def _with_every_class_rebinding(analysis, cls):
    """What _stateful_fields says when the pre-check is told every class may rebind its fields."""
    own = analysis.may_rebind_members
    analysis.may_rebind_members = lambda _cls: True
    try:
        return analysis._stateful_fields(cls)
    finally:
        analysis.may_rebind_members = own


def test_rebinds_after_start_up_make_a_class_stateful_and_constructor_writes_do_not():
    analysis, classes = _classes(CLASSES_TS, "typescript")
    found = {analysis.class_name(cls): analysis.stateful_fields(cls) for cls in classes}
    assert found == {"TokenStore": ("lastIssued",), "RequestCounter": ("served",), "Settings": (),
                     "Warmer": ("warmed",)}
    settings = next(cls for cls in classes if analysis.class_name(cls) == "Settings")
    assert not analysis.may_rebind_members(settings)


def test_the_pre_check_never_changes_what_a_class_holds():
    """Every class of the fixtures, in both languages: the answer with the pre-check is the answer without."""
    checked = skipped = 0
    sources = [(CLASSES_TS, "typescript")]
    sources += [(p.read_bytes(), "tsx" if p.suffix == ".tsx" else "typescript") for p in sorted(FIXTURES.rglob("*.ts*"))]
    sources += [(p.read_bytes(), "python") for p in sorted(FIXTURES.rglob("*.py"))]
    for source, grammar in sources:
        analysis, classes = _classes(source, grammar)
        for cls in classes:
            assert analysis._stateful_fields(cls) == _with_every_class_rebinding(analysis, cls), \
                (grammar, analysis.class_name(cls))
            checked += 1
            skipped += not analysis.may_rebind_members(cls)
    assert checked > 250 and skipped > 100, (checked, skipped)
