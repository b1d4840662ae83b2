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


def _py_call_facts(source: bytes, callee: str) -> dict:
    """The facts of the first call of `callee` in a real parse of `source`."""
    from stateaudit.facts.py_calls import call_facts
    from stateaudit.facts.py_file import PyFile
    from stateaudit.syntax import node_text

    parsed = parse_source(source, "python")
    call = next(n for n in walk(parsed.root)
                if n.type == "call" and node_text(field(n, "function")).rsplit(".", 1)[-1] == callee)
    return call_facts(PyFile(parsed), call)[0]


_START = b"async def start(self):\n    task = asyncio.create_task(self.poll())\n"


@pytest.mark.parametrize("body, kept", [
    (b"    # keep it: self.tasks.append(task); task.cancel() at shutdown\n", False),
    (b"    log.info('handle = task, cancelled with task.cancel()')\n", False),
    (b"    self.tasks.append(task)\n", True),
    (b"    self.runner = task\n", True),
    (b"    self.running = [task, other]\n", True),
    (b"    register(handle=task)\n", True),
    (b"    stop.add_done_callback(lambda _: task.cancel())\n", True),
    (b"    result = task.result()\n", False),
])
def test_a_kept_task_handle_is_read_from_calls_and_assignments(body, kept):
    assert _py_call_facts(_START + body, "create_task")["handle_kept"] is kept


@pytest.mark.parametrize("body, awaited", [
    (b"    # then: await asyncio.gather(task)\n", False),
    (b'    """Callers await task when they need it."""\n', False),
    (b"    log.debug('await asyncio.wait(tasks)')\n", False),
    (b"    await asyncio.gather(task, other)\n", True),
    (b"    done = await task\n", True),
    (b"    await asyncio.wait_for(task, 5)\n", True),
])
def test_awaiting_the_task_is_read_from_await_expressions(body, awaited):
    assert _py_call_facts(_START + body, "create_task")["awaited"] is awaited


@pytest.mark.parametrize("coroutine, parks", [
    (b"async def poll():\n    # runs until stop.wait() or serve_forever\n    await fetch()\n", False),
    (b"async def poll():\n    log.info('await stop.wait()')\n    await fetch()\n", False),
    (b"async def poll():\n    await fetch()\n    await self._stop.wait()\n", True),
    (b"async def poll():\n    await server.serve_forever()\n", True),
    (b"async def poll():\n    await make_event().wait()\n", False),  # a fresh event: not one that is set later
])
def test_a_coroutine_that_parks_is_read_from_its_awaits_and_names(coroutine, parks):
    source = coroutine + b"\n\nasync def main():\n    await asyncio.gather(poll())\n    asyncio.create_task(poll())\n"
    assert _py_call_facts(source, "create_task")["coroutine_loops"] is parks


@pytest.mark.parametrize("condition, scaffold", [
    (b"not DEFAULTS.exists()", True),
    (b"not os.path.isfile(DEFAULTS) and ready", True),
    (b"not ready and 'os.path.exists(' in doc", False),
    (b"DEFAULTS.exists() and not ready", False),  # does not start with `not`
    (b"(not DEFAULTS.exists())", False),  # as before: a parenthesised condition is not read
])
def test_a_missing_file_check_is_read_from_the_condition_tree(condition, scaffold):
    source = (b"DEFAULTS = Path('config/defaults.json')\n\n\ndef init_config(ready, doc):\n"
              b"    if " + condition + b":\n        DEFAULTS.write_text('{}')\n")
    assert _py_call_facts(source, "write_text")["default_if_missing"] is scaffold


@pytest.mark.parametrize("extra, writes", [
    (b"    # open(path, 'w') or path.write_text(x) would do\n", False),
    (b"    log.info(\"shutil.copy(a, b) then .save(\")\n", False),
    (b"    with open(out, 'wb') as fh:\n        fh.write(data)\n", True),
    (b"    shutil.move(tmp, out)\n", True),
    (b"    image.save(out)\n", True),
    # The mode is the mode argument's string, not any string among the arguments, nor a comment.
    (b"    users = os.popen('w').read()\n", False),  # a command named `w`, not a mode
    (b"    with open(out, encoding='utf-8') as fh:\n        fh.read()\n", False),
    (b"    with open(out,  # the report\n              'wt') as fh:\n        fh.write(data)\n", True),
    (b"    with open(out, 'r+b') as fh:\n        fh.write(data)\n", True),
    (b"    with tarfile.open(out, 'w:gz') as tar:\n        tar.add(rows)\n", True),
    (b"    with Path(out).open(mode='ab') as fh:\n        fh.write(data)\n", True),
    (b"    with open(out, f'{kind}b') as fh:\n        fh.write(data)\n", False),  # not a literal mode
])
def test_writing_in_the_same_function_is_read_from_its_calls(extra, writes):
    source = b"import os\nimport tarfile\n\n\ndef export(out, data):\n    rows = build(data)\n" + extra
    assert _py_call_facts(source, "build")["writes_in_same_function"] is writes


@pytest.mark.parametrize("extra, writes", [
    (b"  // then fs.writeFile(dir + '/a.png', data)\n", False),
    (b"  log.info('writeFile(dir) next');\n", False),
    (b"  await fs.promises.writeFile(`${dir}/a.png`, data);\n", True),
    (b"  fs.renameSync(tmp, `${dir}/a.png`);\n", True),  # a Sync form, like writeFileSync
    (b"  await fse.outputFile(`${dir}/a.png`, data);\n", True),  # fs-extra writes contents too
])
def test_writing_in_the_same_typescript_function_is_read_from_its_calls(extra, writes):
    from stateaudit.facts.ts_calls import call_facts
    from stateaudit.facts.ts_file import TsFile
    from stateaudit.syntax import node_text

    source = (b"import fs from 'fs';\nimport fse from 'fs-extra';\n\n"
              b"export async function saveAvatar(dir: string, tmp: string, data: Buffer) {\n"
              b"  fs.mkdirSync(dir, { recursive: true });\n" + extra + b"}\n")
    parsed = parse_source(source, "typescript")
    call = next(n for n in walk(parsed.root) if n.type == "call_expression"
                and node_text(field(n, "function")) == "fs.mkdirSync")
    assert call_facts(TsFile(parsed), call)[0]["writes_in_same_function"] is writes


@pytest.mark.parametrize("call, write_mode", [
    (b"open(out, 'w')", True),
    (b"open(out,  # the nightly report\n     'w')", True),  # the comment is not the mode argument
    (b"open(out, mode='ab')", True),
    (b"open(out, 'r')", False),
    (b"open('a')", False),  # a file named `a`, read
    (b"Path(out).open('wb')", True),
])
def test_a_write_mode_is_read_from_the_mode_argument(call, write_mode):
    source = b"from pathlib import Path\n\n\ndef export(out):\n    fh = " + call + b"\n"
    assert _py_call_facts(source, "open")["write_mode"] is write_mode


@pytest.mark.parametrize("left, on_app", [
    (b"app.events", True),
    (b"app.state.pool", True),
    (b"current_app.limiter", True),
    (b"self.app.state.sessions", True),
    (b"app.config.pool", False),  # a setting, not the application's own attribute
    (b"get_app().pool", False),
    (b"apps.pool", False),
    (b"app", False),
])
def test_an_attribute_of_the_application_is_read_from_the_attribute_chain(left, on_app):
    from stateaudit.facts.py_file import app_attribute

    parsed = parse_source(left + b" = Pool()\n", "python")
    assignment = next(n for n in walk(parsed.root) if n.type == "assignment")
    assert app_attribute(field(assignment, "left")) is on_app


@pytest.mark.parametrize("decorator, scoped", [
    (b"@Injectable({ scope: Scope.REQUEST })", True),
    (b"@Injectable({ scope: Scope.TRANSIENT, durable: true })", True),
    (b"@Injectable(/* scope: Scope.REQUEST once carts move to Redis */)", False),
    (b"@Injectable({ description: 'not Scope.REQUEST: one per process' })", False),
    (b"@Injectable({ scope: Scope.DEFAULT })", False),
])
def test_a_request_scoped_provider_is_read_from_the_decorator_tree(decorator, scoped):
    from stateaudit.facts.ts_file import TsFile

    parsed = parse_source(decorator + b"\nexport class CartService {\n  items = new Map();\n}\n", "typescript")
    ts = TsFile(parsed)
    cls = next(n for n in walk(parsed.root) if n.type == "class_declaration")
    assert ts.request_scoped(cls) is scoped


@pytest.mark.parametrize("body, lazy", [
    (b"if (!this.client) this.client = new Redis(url);", True),
    (b"if (!this.client?.isOpen) this.client = new Redis(url);", True),
    (b"if (this.client == null) { this.client = new Redis(url); }", True),
    (b"if (this.client) { // made once\n return this.client; }\n this.client = new Redis(url);", True),
    (b"return this.client || (this.client = new Redis(url));", True),
    (b"// if (!this.client) would be lazier\n this.client = new Redis(url);", False),
    (b"log('this.client ?? a fallback'); this.client = new Redis(url);", False),
    (b"if (!this.client.isOpen) this.client = new Redis(url);", False),  # asks about the client, not for one
])
def test_a_lazy_holder_is_read_from_operators_and_ifs_not_text(body, lazy):
    from stateaudit.facts.ts_file import TsFile
    from stateaudit.facts.ts_state import _guarded_by_absence
    from stateaudit.syntax import enclosing_function

    parsed = parse_source(b"class Store {\n  client;\n  connect(url) {\n    " + body + b"\n    return this.client;\n"
                          b"  }\n}\n", "typescript")
    assignment = next(n for n in walk(parsed.root) if n.type == "assignment_expression")
    assert _guarded_by_absence(TsFile(parsed), assignment, enclosing_function(assignment)) is lazy


@pytest.mark.parametrize("source, backend", [
    (b"# CACHE_TYPE is RedisCache in production\ncache = Cache()\n", "config"),
    (b'"""Set CACHE_TYPE to RedisCache in production."""\ncache = Cache()\n', "config"),
    (b"cache = Cache(\n    config=settings,  # no longer 'simple'\n)\n", "config"),
    (b"CACHE_TYPE = 'RedisCache'  # shared by the workers\ncache = Cache()\n", "redis"),
    (b"app.config['CACHE_TYPE'] = 'SimpleCache'\ncache = Cache(app)\n", "local"),
    (b"cache = Cache(config={'CACHE_TYPE': 'redis', 'CACHE_REDIS_URL': url})\n", "redis"),
])
def test_a_cache_backend_is_read_from_code_not_comments_or_docstrings(source, backend):
    from stateaudit.facts.py_file import PyFile

    parsed = parse_source(b"from flask_caching import Cache\n" + source, "python")
    assert PyFile(parsed).caches.objects == {"cache": backend}


@pytest.mark.parametrize("extra, constant", [
    (b"# tests call get_settings.cache_clear() between cases\n", True),
    (b"RESET = 'get_settings.cache_clear()'\n", True),
    (b"def reload():\n    get_settings.cache_clear()\n", False),
])
def test_a_cleared_cache_is_read_from_attributes_not_comments(extra, constant):
    from stateaudit.facts.py_file import PyFile

    parsed = parse_source(b"from functools import lru_cache\n\n\n@lru_cache\ndef get_settings():\n"
                          b'    """Read once from the db-less environment."""\n    return Settings()\n\n\n' + extra,
                          "python")
    py = PyFile(parsed)
    fn = next(n for n in walk(parsed.root) if n.type == "function_definition")
    assert py.caches.process_constant(fn, "lru_cache") is constant


def test_methods_that_reach_a_writer_are_read_from_member_expressions():
    from stateaudit.facts.ts_file import TsFile
    from stateaudit.facts.ts_state import writer_methods

    parsed = parse_source(b"class Store {\n  static cache = new Map();\n"
                          b"  static put(k, v) { Store.cache.set(k, v); }\n"
                          b"  static load(k) { this.put(k, 1); }\n"
                          b"  static warm() { /* then this.put(k, v) */ return 1; }\n"
                          b"  static describe() { return 'calls Store.put(k, v)'; }\n"
                          b"  static refresh() { return `${Store.load('a')}`; }\n}\n", "typescript")
    cls = next(n for n in walk(parsed.root) if n.type == "class_declaration")
    put = next(n for n in walk(cls) if n.type == "method_definition")
    assert writer_methods(TsFile(parsed), cls, [put]) == {"put", "load", "refresh"}


@pytest.mark.parametrize("accessor, singleton", [
    (b"  // callers use Db.getInstance() from the container\n", False),
    (b"  describe() { return 'see instance()'; }\n", False),
    (b"  static getInstance() { return Db.instance ??= new Db(); }\n", True),
    (b"  static get shared() { return Db.instance(); }\n", True),
])
def test_a_static_singleton_field_needs_an_accessor_in_code(accessor, singleton):
    from stateaudit.facts.ts_file import TsFile

    parsed = parse_source(b"export class Db {\n  private static instance: Db;\n" + accessor + b"}\n", "typescript")
    cls = next(n for n in walk(parsed.root) if n.type == "class_declaration")
    found = TsFile(parsed).static_instance_field(cls)
    assert (found is not None) is singleton


@pytest.mark.parametrize("source, long_lived", [
    (b"class Audit(MiddlewareMixin):\n    pass\n", True),
    (b"class Sync(celery.Task):\n    pass\n", True),
    (b"class Audit(\n    Base,  # was a MiddlewareMixin\n):\n    pass\n", False),
    (b"class Audit:\n    def __init__(self, get_response):\n        self.get_response = get_response\n", True),
    (b"class Audit:\n    def __init__(self, app, note='get_response'):\n        self.app = app\n", False),
])
def test_a_long_lived_class_shape_is_read_from_base_and_parameter_names(source, long_lived):
    from stateaudit.facts.py_file import long_lived_shape

    parsed = parse_source(source, "python")
    cls = next(n for n in walk(parsed.root) if n.type == "class_definition")
    assert long_lived_shape(cls) is long_lived


@pytest.mark.parametrize("source, callee, fact, value", [
    # A comment inside a path expression says nothing about the path.
    (b"def save(data):\n    out = (\n        BASE  # was tmp_dir\n    )\n    open(out, 'w').write(data)\n",
     "open", "scratch_path", False),
    (b"def save(data):\n    out = tmp_dir / 'x.csv'\n    open(out, 'w').write(data)\n", "open", "scratch_path", True),
    (b"BUF = (\n    io.BytesIO()  # not a file path\n)\n\n\ndef store(img):\n    img.save(BUF)\n", "save",
     "first_arg_path", False),
    (b"OUT = MEDIA_ROOT / 'thumbs'\n\n\ndef store(img):\n    img.save(OUT)\n", "save", "first_arg_path", True),
    (b"def show(x):\n    fmt = (\n        HelpFormatter()  # prints to the terminal, not a file\n    )\n"
     b"    fmt.write_text(x)\n", "write_text", "receiver_path", False),
    (b"def show(x):\n    out = Path('report.txt')\n    out.write_text(x)\n", "write_text", "receiver_path", True),
])
def test_path_facts_read_the_code_of_the_path_not_its_comments(source, callee, fact, value):
    assert _py_call_facts(source, callee)[fact] is value


@pytest.mark.parametrize("source, singleton", [
    (b"class Settings(SingletonMixin, BaseSettings):\n    pass\n", True),
    (b"class Registry(metaclass=SingletonMeta):\n    pass\n", True),
    (b"class Registry(patterns.Singleton):\n    pass\n", True),
    (b"class Registry(  # not a Singleton: one per request\n    BaseRegistry,\n):\n    pass\n", False),
    (b"class Registry(Generic['Singleton']):\n    pass\n", False),
    (b"class Registry(BaseRegistry):\n    pass\n", False),
])
def test_a_singleton_base_is_read_from_the_names_among_the_bases(source, singleton):
    from stateaudit.facts.py_file import PyFile

    py = PyFile(parse_source(source, "python"))
    cls = next(n for n in walk(py.root) if n.type == "class_definition")
    assert py.has_singleton_base(cls) is singleton
