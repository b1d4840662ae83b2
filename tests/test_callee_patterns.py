"""Rule patterns that only name a callee are answered from one shared pattern: each rule must still get
exactly the matches its own query gives, in the same order, and anything unusual must stay in the query."""

from __future__ import annotations

import pytest

from stateaudit.callee_patterns import KNOWN_CALLEES, CalleeDispatch, split_query

from .joined_queries import alone_and_joined

PYTHON_SOURCE = b'''import shutil, sqlite3
from pathlib import Path

def export(report, target):
    with open(target, "w") as handle:
        handle.write(report)
    Path(target).write_text(report)
    shutil.copy(target, target + ".bak"); copy(target, "/tmp/x")
    sqlite3.connect("state.db"); aiosqlite.connect(path); pool.connect(); connect(); self.sqlite3.connect(x)
    open(target, "w"); open(target); open(target, mode="rb")
    engine = create_engine("sqlite:///state.db"); other.create_engine()
    cache = DiskSQLiteCache(); SQLiteStore(); db.SqliteCache()
    open_later = opener.open
    return (lambda: open)(), ab(), a(), b(), xb()
'''

TS_SOURCE = b'''import { writeFile } from "fs/promises";
export async function save(path: string, body: string) {
  await writeFile(path, body);
  await fs.promises.writeFile(path, body);
  setTimeout(() => save(path, body), 1000); timers.setTimeout(tick, 5);
  outputJson(path, {}); this.store.outputFile(path); persistState(); writer.download(path);
  new Cron("* * * * *", tick); Cron("0 0 * * *", tick); queue.upsertJobScheduler("x", {});
  obj?.writeFile(path, body); (writeFile)(path, body); this.#writeFile(path);
  agenda.every("1 minute", job); this.agenda.every(5, job); jobs.every((j) => j.done); every(2);
  queue.add("a", { repeat: { every: 5 } }); queue.add("b", {}); seen.add(1); add({ repeat: 1 });
  getQueue(queue.add("x", { repeat: 1 })).add("y", { repeat: 2 }); queue.add(tag`repeat: ${1}`);
  CacheModule.register({}); this.CacheModule.register(); modules.register(); CacheModule.registerAsync({});
}
'''

PYTHON_QUERIES = [
    '(call function: (identifier) @fn (#eq? @fn "open")) @target\n'
    '(call function: (attribute attribute: (identifier) @fn) (#eq? @fn "open")) @target\n'
    '(call function: (attribute attribute: (identifier) @fn)\n'
    '  (#match? @fn "^(write_text|write_bytes|copy|move)$")) @target\n'
    '; a comment between patterns\n'
    '(call function: (identifier) @fn (#match? @fn "^(copy|move)$")) @target\n',
    # The same call twice in one rule: both matches, in pattern order.
    '(call function: [(identifier) @fn (attribute attribute: (identifier) @fn)] (#match? @fn "^create_engine$")) @target\n'
    '(call function: [(attribute attribute: (identifier) @e) (identifier) @e] (#eq? @e "create_engine")) @target\n'
    '(call function: (attribute object: (identifier) @obj attribute: (identifier) @fn)\n'
    '  (#eq? @obj "sqlite3") (#eq? @fn "connect")) @target\n'
    '(call function: [(identifier) @cls (attribute attribute: (identifier) @cls)]\n'
    '  (#match? @cls "^\\\\w*(SQLite|Sqlite)\\\\w*(Cache|Store)$")) @target\n',
    # Not a set of names: `^a|b$` is "starts with a or ends with b"; a negated predicate; another target.
    '(call function: (identifier) @fn (#match? @fn "^a|b$")) @target\n'
    '(call function: (identifier) @fn (#not-eq? @fn "open")) @target\n'
    '(call function: (identifier) @fn (#eq? @fn "open")) @call\n',
    # Tests beside the callee: the member's object, the call's arguments; a capture no predicate tests.
    '(call function: (attribute object: (identifier) @obj attribute: (identifier) @fn)\n'
    '  (#match? @obj "sqlite3$") (#eq? @fn "connect")) @target\n'
    '(call function: (identifier) @fn arguments: (argument_list) @args (#eq? @fn "open") (#match? @args "w")) @target\n'
    '(call function: [(identifier) @fn (attribute object: (_) attribute: (identifier) @fn)]\n'
    '  arguments: (argument_list) (#eq? @fn "connect")) @target\n',
]

TS_QUERIES = [
    '(call_expression function: (member_expression property: (property_identifier) @fn)\n'
    '  (#match? @fn "^(writeFile|outputFile|outputJson)$")) @target\n'
    '(call_expression function: (identifier) @fn (#match? @fn "^(writeFile|outputJson)$")) @target\n',
    '(call_expression function: (identifier) @fn (#eq? @fn "setTimeout")) @target\n'
    '(call_expression function: [(identifier) @fn (member_expression object: (identifier) @obj\n'
    '  property: (property_identifier) @fn (#match? @obj "^(timers)$"))] (#eq? @fn "setTimeout")) @target\n',
    '(call_expression function: [(identifier) @fn (member_expression property: (property_identifier) @fn)]\n'
    '  (#match? @fn "^(output|write|save|persist|download)")) @target\n'
    '(new_expression constructor: (identifier) @ctor (#match? @ctor "^(Cron)$")) @target\n'
    '(call_expression function: (identifier) @fn (#eq? @fn "Cron")) @target\n'
    '(call_expression function: (member_expression property: (property_identifier) @fn)\n'
    '  (#eq? @fn "upsertJobScheduler")) @target\n',
    # Tests beside the callee, in one rule, as a scheduler's rule has them.
    '(call_expression function: (member_expression object: (_) @obj property: (property_identifier) @fn)\n'
    '  (#eq? @fn "every") (#match? @obj "[Aa]genda$")) @target\n'
    '(call_expression function: (member_expression property: (property_identifier) @fn) arguments: (arguments) @args\n'
    '  (#eq? @fn "add") (#match? @args "repeat\\\\s*:")) @target\n'
    '(call_expression function: (member_expression object: (identifier) @obj property: (property_identifier) @fn)\n'
    '  (#eq? @obj "CacheModule") (#match? @fn "^(register|registerAsync)$")) @target\n'
    '(call_expression function: [(identifier) @fn (member_expression object: (identifier) property: (property_identifier) @fn)]\n'
    '  (#eq? @fn "add")) @target\n',
]


@pytest.mark.parametrize(("grammar", "source", "texts"), [
    ("python", PYTHON_SOURCE, PYTHON_QUERIES),
    ("typescript", TS_SOURCE, TS_QUERIES),
    ("tsx", TS_SOURCE, TS_QUERIES),
    ("javascript", TS_SOURCE.replace(b": string", b""), TS_QUERIES),
])
def test_each_query_gets_its_own_matches_in_order(grammar, source, texts):
    alone, joined, _ = alone_and_joined(grammar, source, texts)
    assert sum(map(len, alone)) >= 30  # the source exercises the patterns
    assert joined == alone
    again, joined_again, _ = alone_and_joined(grammar, source, texts)
    assert joined_again == again  # the callees' accepting patterns now come from memory


def test_the_callees_remembered_are_bounded_and_answer_as_when_worked_out():
    split = split_query("python", 0, PYTHON_QUERIES[1])
    dispatch = CalleeDispatch("python", list(split.callees))
    texts = [b"create_engine", b"DiskSQLiteCache", b"SqliteCache", b"open", b"connect"]
    first = [dispatch.accepting(text) for text in texts]
    assert first[0] == (0, 1) and first[1] == first[2] == (3,) and first[3] == () and first[4] == (2,)
    for number in range(KNOWN_CALLEES + 10):
        dispatch.accepting(b"name%d" % number)
    assert len(dispatch.known) <= KNOWN_CALLEES
    assert [dispatch.accepting(text) for text in texts] == first


def test_only_patterns_whose_meaning_is_certain_are_taken_out():
    split = split_query("python", 2, PYTHON_QUERIES[2])
    assert [p.names for p in split.callees] == [None]  # `^a|b$` is a regex, tested per call, not two names
    assert "#not-eq?" in split.text and "@call" in split.text  # a negated predicate, another target: kept
    split = split_query("python", 0, PYTHON_QUERIES[0])
    assert [sorted(p.forms) for p in split.callees] == [["name"], ["member"], ["member"], ["name"]]
    assert split.callees[2].names == {b"write_text", b"write_bytes", b"copy", b"move"}
    assert split.text.strip() == ""
    sqlite = split_query("python", 1, PYTHON_QUERIES[1])
    assert len(sqlite.callees) == 4 and sqlite.callees[3].names is None  # a regex, tested per call
    connect = sqlite.callees[2]  # sqlite3.connect: a member's name, tested on its object too
    assert connect.forms == {"member"} and connect.names == {b"connect"}
    assert (connect.receiver.type, connect.receiver.capture, connect.receiver.tests) == ("identifier", "obj", (("eq", b"sqlite3"),))
    assert sqlite.text.strip() == ""
    timers = split_query("typescript", 1, TS_QUERIES[1])
    assert len(timers.callees) == 2  # the predicate on the object in one branch of the alternation tests it
    assert timers.callees[1].forms == {"name", "member"} and timers.callees[1].receiver.capture == "obj"
    beside = split_query("python", 3, PYTHON_QUERIES[3])
    assert [(p.receiver and p.receiver.type, p.arguments and p.arguments.capture) for p in beside.callees] == [
        ("identifier", None), (None, "args"), ("_", None)]
    kept = ('(call function: (attribute object: (identifier) @obj attribute: (identifier) @fn)'
            ' (#eq? @obj "sqlite3")) @target\n'  # nothing tests the callee: it would be given every call
            '(call function: (attribute object: (identifier) @fn attribute: (identifier) @fn)'
            ' (#eq? @fn "x")) @target\n'  # one capture twice
            '(call function: (attribute object: (identifier) @target attribute: (identifier) @fn)'
            ' (#eq? @fn "x")) @target\n'  # the target twice: two nodes in one capture
            '(call function: (identifier) @fn arguments: (argument_list (string) @s) (#eq? @fn "x")) @target\n'
            '(call function: (identifier) @fn (#eq? @fn "x") (#eq? @other "y")) @target\n'
            '(call function: (identifier) @fn (#eq? @fn "x") (#eq? @fn @fn)) @target\n'
            '(call function: (attribute object: (primary_expression) attribute: (identifier) @fn)'
            ' (#eq? @fn "x")) @target\n')  # a supertype: many node types, not one
    assert split_query("python", 0, kept).callees == ()


def test_escapes_other_than_backslash_and_quote_are_left_to_tree_sitter():
    text = '(call function: (identifier) @fn (#match? @fn "^open\\\\s$")) @target\n' \
           '(call function: (identifier) @fn (#match? @fn "^open\\n$")) @target\n'
    split = split_query("python", 0, text)
    assert len(split.callees) == 1 and split.callees[0].names is None
    assert "\\n" in split.text


def test_an_unbalanced_text_is_left_whole():
    text = '(call function: (identifier) @fn (#eq? @fn "open"))) @target'
    assert split_query("python", 0, text).text == text
