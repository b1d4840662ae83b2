"""Classification: table order, field-by-field assessment, the category sources, service-wide facts, fingerprints.

Real scans of small services on disk, with the shipped rules; where a test is about the order of a table, the
same scan runs with the table's rows reordered and the answer must follow the order.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from stateaudit.classify import fingerprint
from stateaudit.config import Config
from stateaudit.discover import discover_files
from stateaudit.match import match_file
from stateaudit.model import Finding, Risk
from stateaudit.ruleset import RuleSet
from stateaudit.scan import classify_all, scan
from stateaudit.services import detect_services

from .conftest import FIXTURES
from .test_discover import make

LIMITER = """\
import express from 'express';

export const app = express();

const sessionAttempts = new Map<string, number>();

app.post('/login', (req, res) => {
  const key = String(req.body.user);
  sessionAttempts.set(key, (sessionAttempts.get(key) ?? 0) + 1);
  res.status(204).end();
});
"""

SESSION_STORE = """\
import { Injectable } from '@nestjs/common';

interface Session { userId: string; expiresAt: number }

@Injectable()
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor() {
    setInterval(() => this.evictExpired(), 60_000);
  }

  put(token: string, session: Session): void {
    this.sessions.set(token, session);
  }

  private evictExpired(): void {
    const now = Date.now();
    for (const [token, session] of this.sessions) {
      if (session.expiresAt < now) this.sessions.delete(token);
    }
  }
}
"""


def findings(root: Path, ruleset: RuleSet, config: Config | None = None) -> dict[tuple[str, int], Finding]:
    report = scan(root, config or Config(include_tests=True), ruleset).report
    return {(f.location.path, f.location.line): f for f in report.findings}


def with_table(ruleset: RuleSet, name: str, rows: list[dict]) -> RuleSet:
    return RuleSet(ruleset.rules, {**ruleset.tables, name: tuple(rows)}, ruleset.disabled)


# --- table order -------------------------------------------------------------------------------------------


def test_first_matching_category_row_wins(tmp_path, ruleset):
    """`sessionAttempts` has words of two categories; whichever row comes first names it."""
    make(tmp_path, {"src/app.ts": LIMITER})
    rows = [{"category": "rate-limit", "when": {"words": "attempts"}}, {"category": "session", "when": {"words": "session"}}]
    assert findings(tmp_path, with_table(ruleset, "categories", rows))[("src/app.ts", 5)].category == "rate-limit"
    rows.reverse()
    assert findings(tmp_path, with_table(ruleset, "categories", rows))[("src/app.ts", 5)].category == "session"


def test_shipped_categories_put_rate_limits_before_sessions(tmp_path, ruleset):
    make(tmp_path, {"src/app.ts": LIMITER})
    found = findings(tmp_path, ruleset)[("src/app.ts", 5)]
    assert (found.category, found.risk) == ("rate-limit", Risk.HIGH)


def test_first_matching_storage_row_wins(tmp_path, ruleset):
    make(tmp_path, {"src/app.ts": LIMITER})
    rows = [{"storage": "redis", "shared": "yes", "when": {"kind": "collection"}}, {"storage": "in-memory", "shared": "no", "when": {}}]
    found = findings(tmp_path, with_table(ruleset, "storage", rows))[("src/app.ts", 5)]
    assert (found.storage, found.shared, found.risk) == ("redis", "yes", Risk.LOW)  # shared: "yes" row of assessment
    rows.reverse()
    found = findings(tmp_path, with_table(ruleset, "storage", rows))[("src/app.ts", 5)]
    assert (found.storage, found.shared) == ("in-memory", "no")


def test_assessment_takes_each_field_from_the_first_row_that_sets_it(tmp_path, ruleset):
    make(tmp_path, {"src/app.ts": LIMITER})
    rows = [
        {"when": {"kind": "timer"}, "risk": "CRITICAL", "action": "never: wrong kind"},
        {"when": {"kind": "collection"}, "risk": "MEDIUM", "reason": "first risk row"},
        {"when": {"kind": "collection"}, "priority": "P0", "reason": "no risk here: its priority and reason are ignored",
         "action": "Move {Name} to Redis"},
        {"when": {}, "risk": "CRITICAL", "action": "default action", "effort": "2 days"},
    ]
    rule = ruleset.rules["ts.module-collection"]
    rules = {**ruleset.rules, rule.id: replace(rule, assess=())}
    found = findings(tmp_path, RuleSet(rules, {**ruleset.tables, "assessment": tuple(rows)}))[("src/app.ts", 5)]
    assert (found.risk, found.action, found.effort, found.priority) == (Risk.MEDIUM, "Move Session attempts to Redis",
                                                                       "2 days", "P3")
    assert found.reasons[0] == "ts.module-collection baseline HIGH; first risk row"


def test_a_rules_own_assess_rows_come_before_the_tables(tmp_path, ruleset):
    make(tmp_path, {"src/app.ts": LIMITER})
    rule = ruleset.rules["ts.module-collection"]
    own = ({"when": {"words": "attempts"}, "risk": "LOW", "action": "own row", "effort": "none"},)
    rules = {**ruleset.rules, rule.id: replace(rule, assess=own + rule.assess)}
    found = findings(tmp_path, RuleSet(rules, ruleset.tables))[("src/app.ts", 5)]
    assert (found.risk, found.action) == (Risk.LOW, "own row")


def test_test_file_row_comes_first(tmp_path, ruleset):
    make(tmp_path, {"src/app.test.ts": LIMITER})
    found = findings(tmp_path, ruleset)[("src/app.test.ts", 5)]
    assert (found.risk, found.action) == (Risk.LOW, "None: test code")


def test_timers_are_classified_after_the_state_they_maintain(tmp_path, ruleset):
    """A cleanup timer beside CRITICAL in-memory state of its class takes that into account."""
    make(tmp_path, {"src/session.store.ts": SESSION_STORE})
    found = findings(tmp_path, ruleset)
    sessions, timer = found[("src/session.store.ts", 7)], found[("src/session.store.ts", 10)]
    assert (sessions.risk, sessions.owner) == (Risk.CRITICAL, "SessionStore")
    assert timer.kind == "timer" and timer.risk == Risk.MEDIUM
    assert "it maintains CRITICAL in-memory state of the same class" in timer.reasons[0]
    # With sessions configured as HIGH there is no CRITICAL state beside it: the same timer is judged on its own.
    alone = findings(tmp_path, ruleset, Config(include_tests=True, category_risk={"session": Risk.HIGH}))
    assert alone[("src/session.store.ts", 7)].risk == Risk.HIGH
    assert alone[("src/session.store.ts", 10)].risk != timer.risk
    assert "maintains" not in alone[("src/session.store.ts", 10)].reasons[0]


# --- where the category comes from ------------------------------------------------------------------------


CATEGORY_SOURCES = """\
import {{ Injectable }} from '@nestjs/common';

@Injectable()
export class {cls} {{
  private readonly {field} = new Map<string, number>();

  track(id: string): void {{
    this.{field}.set(id, Date.now());
  }}
}}
"""


@pytest.mark.parametrize("cls, field, category", [
    ("CircuitBreakerRegistry", "sessions", "session"),  # the state's own name decides first
    ("CircuitBreakerRegistry", "cache", "circuit-breaker"),  # a generic own name gives way to the owner's
    ("SessionStore", "byUser", "session"),  # `byX` is an index of the owner's records: the owner decides
    ("SessionStore", "items", "session"),
], ids=["own-name", "generic-own-name", "by-index", "owner-name"])
def test_category_sources_in_order(tmp_path, ruleset, cls, field, category):
    make(tmp_path, {"src/registry.ts": CATEGORY_SOURCES.format(cls=cls, field=field)})
    assert findings(tmp_path, ruleset)[("src/registry.ts", 5)].category == category


# --- service-wide facts --------------------------------------------------------------------------------------


def test_python_singleton_of_an_imported_class_takes_its_state(ruleset):
    """`registry = JobRegistry()` in main.py; JobRegistry writes its dict in jobs.py."""
    found = findings(FIXTURES / "rules" / "py.singleton.imported-class", ruleset)
    singleton = found[("render_queue/main.py", 11)]
    assert singleton.rule_id == "py.singleton" and singleton.storage == "in-memory"
    assert "an exported instance; its mutable state is reported on the fields that hold it" in singleton.reasons[0]
    assert found[("render_queue/jobs.py", 23)].rule_id == "py.instance-collection"


def test_typescript_singleton_of_an_imported_class_takes_its_state(ruleset):
    """`export const quotaLedger = new QuotaLedger()` in quota/index.ts; the Map is in QuotaLedger.ts."""
    found = findings(FIXTURES / "rules" / "ts.singleton.imported-class", ruleset)
    singleton = found[("src/quota/index.ts", 7)]
    assert (singleton.rule_id, singleton.storage, singleton.shared) == ("ts.singleton", "in-memory", "no")
    assert "an exported instance" in singleton.reasons[0]
    ledger = found[("src/quota/QuotaLedger.ts", 9)]
    assert ledger.risk == Risk.HIGH and "QuotaLedger is instantiated at module level" in ledger.reasons


def test_classification_leaves_the_matches_facts_as_they_were(tmp_path, ruleset):
    """Imported classes, client checks, timers and every table build new mappings: a match's facts are
    what its file said, so the order of these steps cannot leak into each other through a shared dict."""
    service = FIXTURES / "rules" / "ts.singleton.imported-class"
    make(tmp_path, {"package.json": (service / "package.json").read_text(encoding="utf-8"),
                    "src/session.store.ts": SESSION_STORE, "src/app.ts": LIMITER,
                    **{f"src/quota/{p.name}": p.read_text(encoding="utf-8") for p in (service / "src" / "quota").iterdir()},
                    "src/files.ts": "import { FilesRepository } from './files.repository';\n"
                                    "const repositories = new Map<string, FilesRepository>();\n"
                                    "export function open(id: string) { repositories.set(id, new FilesRepository(id)); }\n",
                    "src/files.repository.ts": "export class FilesRepository { constructor(readonly id: string) {} }\n"})
    config = Config(include_tests=True)
    files = list(discover_files(tmp_path, config).files)
    results = {f.rel: match_file(f, ruleset) for f in files}
    before = {rel: [copy.deepcopy(dict(m.facts)) for m in r.matches] for rel, r in results.items()}
    internal: list = []
    findings, _reviewed = classify_all(files, results, detect_services(tmp_path, files), ruleset, config, internal)
    assert internal == []
    assert {m.kind for r in results.values() for m in r.matches} >= {"singleton", "timer", "collection"}
    assert any(m.facts.get("client_refs") for r in results.values() for m in r.matches)
    assert len(findings) >= 5
    assert {rel: [dict(m.facts) for m in r.matches] for rel, r in results.items()} == before


# --- fingerprints ---------------------------------------------------------------------------------------------


def test_fingerprint_depends_on_rule_file_symbol_and_code():
    base = fingerprint("ts.module-collection", "src/app.ts", "sessions", "const sessions = new Map();")
    assert len(base) == 20 and int(base, 16) >= 0
    assert base == fingerprint("ts.module-collection", "src/app.ts", "sessions", "  const   sessions = new Map();\n")
    others = {
        fingerprint("ts.module-collection", "src/app.ts", "sessions", "const sessions = new Map<string, User>();"),
        fingerprint("ts.mutable-global", "src/app.ts", "sessions", "const sessions = new Map();"),
        fingerprint("ts.module-collection", "src/auth.ts", "sessions", "const sessions = new Map();"),
        fingerprint("ts.module-collection", "src/app.ts", "tokens", "const sessions = new Map();"),
        fingerprint("ts.module-collection", "src/app.ts", None, "const sessions = new Map();"),
    }
    assert base not in others and len(others) == 5


def test_fingerprint_survives_a_line_move_but_not_a_change_of_the_code(tmp_path, ruleset):
    make(tmp_path, {"src/app.ts": LIMITER})
    before = findings(tmp_path, ruleset)[("src/app.ts", 5)].fingerprint
    make(tmp_path, {"src/app.ts": "// login attempts per user\n\n" + LIMITER})
    assert findings(tmp_path, ruleset)[("src/app.ts", 7)].fingerprint == before
    make(tmp_path, {"src/app.ts": LIMITER.replace("new Map<string, number>()", "new Map<string, number[]>()")})
    changed = findings(tmp_path, ruleset)[("src/app.ts", 5)]
    assert changed.symbol == "sessionAttempts" and changed.fingerprint != before


def test_the_join_never_changes_what_a_file_settles(ruleset, monkeypatch):
    """Stage 1 drops a candidate whose `where:` fails on what join.settled says the join will give: sound only
    while that is what the join gives. Checked on every candidate (the early drop off, so the ones it would
    drop are checked too) of the aiponge services and the rule fixtures, fact by fact."""
    from stateaudit import match as match_module
    from stateaudit.conditions import FACT_NAMES
    from stateaudit.facts import ServiceIndex
    from stateaudit.facts.references import CLASS_FACTS_LATER
    from stateaudit.join import JOINED, service_facts, settled, settled_early, settled_shape

    EARLY = ("scope", "name", "class_name", "container", "declared_with")  # facts.*.early_state_facts
    SHAPE = ("callee", "callee_name", "callee_module", "callee_object", "fs_call", "receiver", "daemon",
             "write_mode", "mode", "first_arg", "positional_count", "memory_db", "sqlite_url", "first_arg_path",
             "persistent_temp")  # facts.*.call_shape_facts, both languages

    monkeypatch.setattr(match_module, "may_hold", lambda condition, known: True)
    checked = decided = shaped = staged = 0
    for root in (FIXTURES / "aiponge", FIXTURES / "rules"):
        config = Config(include_tests=True)
        files = list(discover_files(root, config).files)
        services = detect_services(root, files)
        results = {f.rel: match_file(f, ruleset) for f in files}
        indexes: dict[str, ServiceIndex] = {}
        for file in files:
            indexes.setdefault(services.owner_of(file.rel).path, ServiceIndex()).add(results[file.rel].index)
        for file in files:
            service = services.owner_of(file.rel)
            classes: dict = {}
            for info in results[file.rel].index.classes:
                classes.setdefault(info.name, info)
            for match in results[file.rel].matches:
                joined = service_facts(match, service, indexes[service.path], file.is_test)
                known = settled(match.facts, classes)
                for name in FACT_NAMES | JOINED:
                    if name in known:
                        assert joined.get(name) == known[name], (file.rel, match.rule_id, name)
                        decided += name in JOINED
                early = {name: match.facts[name] for name in EARLY if name in match.facts}
                for name, value in settled_early(early, classes).items():
                    assert joined.get(name) == value, (file.rel, match.rule_id, name, "early")
                shape = {name: match.facts[name] for name in SHAPE if name in match.facts}
                for name, value in settled_shape(shape).items():
                    assert joined.get(name) == value, (file.rel, match.rule_id, name, "shape")
                    shaped += 1
                # A class candidate is first judged without its costly facts, which must then count as unknown.
                before = {name: match.facts[name] for name in FACT_NAMES if name in match.facts
                          and name not in CLASS_FACTS_LATER}
                known_before = settled(before, classes, unknown=CLASS_FACTS_LATER)
                for name in FACT_NAMES | JOINED:
                    if name in known_before:
                        assert name not in CLASS_FACTS_LATER, (file.rel, match.rule_id, name)
                        assert joined.get(name) == known_before[name], (file.rel, match.rule_id, name, "before")
                        staged += match.rule_id.endswith(".client-backed-store") and name in JOINED
                checked += 1
    assert checked > 2000 and decided > 10000 and shaped > 1000 and staged > 10, (checked, decided, shaped, staged)
