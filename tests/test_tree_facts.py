"""Facts read from the syntax tree, not from the source text: a comment or a string cannot flip them.

Each case parses real code; the same words in code do make the fact, so the tests can fail both ways.
"""

from __future__ import annotations

import pytest

from stateaudit.facts.common import code_line, write_tags, writes_through_client
from stateaudit.facts.ts_calls import option_keys
from stateaudit.syntax import field, parse_source, walk


@pytest.mark.parametrize("source, language, tags", [
    (b"jobs.set(id, 'queued'); // picked up by a worker; its promise resolves later\n", "typescript", set()),
    (b"jobs.set(id, 'worker socket promise');\n", "typescript", set()),
    (b"jobs.set(id, `${prefix} timer`);\n", "typescript", set()),
    (b"jobs.set(id, promise);\n", "typescript", {"handle"}),
    (b"hits.set(key, `${(hits.get(key) ?? 0) + 1}`);\n", "typescript", {"increment"}),
    (b"self.pending[key] = status  # resolve, reject later\n", "python", set()),
    (b"self.pending[key] = (resolve, reject)\n", "python", {"callback"}),
    (b"self.counts[key] = f\"{n} += 1\"\n", "python", set()),
    (b"self.counts[key] += 1  # count\n", "python", {"increment"}),
])
def test_write_tags_read_the_code_of_the_line(source, language, tags):
    assert write_tags(parse_source(source, language), [1]) == tags


def test_a_code_line_keeps_code_and_blanks_prose():
    parsed = parse_source(b"const a = 'x // y'; /* one\n two */ b.push(c); // three\n", "typescript")
    assert code_line(parsed, 1) == "const a = '      ';"
    assert code_line(parsed, 2) == "b.push(c);"


def _class_body(source: bytes, language: str):
    parsed = parse_source(source, language)
    cls = next(n for n in walk(parsed.root) if n.type in ("class_declaration", "class_definition"))
    return field(cls, "body"), language


@pytest.mark.parametrize("source, language, writes", [
    (b"class A { get(k) { /* we never .set( or INSERT here */ return this.redis.get(k); } }", "typescript", False),
    (b"class A { get(k) { return this.pool.query('SELECT 1 /* INSERT */'.replace('INSERT', '')); } }", "typescript",
     True),  # a string that says INSERT is SQL text as far as the tree can tell
    (b"class A { get(k) { return this.pool.query('INSERT INTO t VALUES ($1)', [k]); } }", "typescript", True),
    (b"class A { put(k, v) { this.redis.set(k, v); } }", "typescript", True),
    # A Redis script that writes (Lua in a string) is a write; one that only reads is not.
    (b"class L { init() { this.redis.defineCommand('lock', { lua: `redis.call('SET', KEYS[1], ARGV[1], 'NX')` }); }\n"
     b"  clear(p) { p.del('k'); } }", "typescript", True),
    (b"class L { init() { this.redis.defineCommand('peek', { lua: `return redis.call('GET', KEYS[1])` }); }\n"
     b"  clear(p) { p.del('k'); } }", "typescript", False),
    (b'class A:\n    """INSERT rows elsewhere."""\n    def f(self):\n        self.db.execute(q)\n', "python", False),
    (b"class A:\n    def f(self):\n        self.db.execute(text('DELETE FROM t'))\n", "python", True),
    (b"class A:\n    def f(self):\n        # then self.db.commit()\n        self.db.query(T)\n", "python", False),
])
def test_client_writes_come_from_calls_and_sql_strings(source, language, writes):
    assert writes_through_client(*_class_body(source, language)) is writes


@pytest.mark.parametrize("source, keys", [
    (b"CacheModule.register({ ttl: 60 /* store: redisStore */ });", {"ttl"}),
    (b"CacheModule.register({ ttl: 60, namespace: 'store: x' });", {"ttl", "namespace"}),
    (b"queue.add('job', data, { repeat: { every: 1000 }, store });", {"repeat", "every"}),
    (b"multer({ dest: 'uploads/' });", {"dest"}),
])
def test_option_keys_are_the_pairs_of_the_argument_objects(source, keys):
    parsed = parse_source(source, "typescript")
    call = next(n for n in walk(parsed.root) if n.type == "call_expression")
    assert option_keys(field(call, "arguments")) == keys


def test_commonjs_exports_come_from_assignments_not_comments_or_strings():
    from stateaudit.facts.ts_file import TsFile

    parsed = parse_source(b"// module.exports = { ghost }\n"
                          b"const note = 'exports.fake = 1';\n"
                          b"exports.real = 1;\n"
                          b"module.exports.other = 2;\n"
                          b"module.exports = { cache, store: makeStore() };\n", "javascript")
    assert TsFile(parsed).exported_names == {"real", "other", "cache", "store", "makeStore"}


def test_a_python_singleton_is_read_from_names_not_its_docstring():
    from stateaudit.facts.py_file import PyFile

    parsed = parse_source(b'class Docs:\n    """Keeps _instance; see __new__."""\n    def get(self):\n        return 1\n\n'
                          b"class Kept:\n    _instance = None\n\n    def __new__(cls):\n"
                          b"        if cls._instance is None:\n            cls._instance = super().__new__(cls)\n"
                          b"        return cls._instance\n\n"
                          b"class Named:\n    def __new__(cls):\n        if not hasattr(cls, '_instance'):\n"
                          b"            cls.one = super().__new__(cls)\n        return cls.one\n", "python")
    py = PyFile(parsed)
    assert {py.class_name(c): py.has_singleton_instance(c) for c in py.classes()} == {
        "Docs": False, "Kept": True, "Named": True}
