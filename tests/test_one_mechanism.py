"""One mechanism, two vocabularies: the same idiom in TypeScript and in Python gives the same fact.

Each case parses a small, realistic piece of a service in both languages with the real grammars and asks
the shared mechanisms of `stateaudit.facts.references` and `stateaudit.facts.state` for the fact.
Where one language's vocabulary deliberately differs, the test says so and why.
"""

from __future__ import annotations

from stateaudit.facts import py_file, py_state, ts_state
from stateaudit.facts.common import split_words
from stateaudit.facts.py_file import PyFile
from stateaudit.facts.references import class_facts
from stateaudit.facts.ts_file import TsFile
from stateaudit.syntax import field, named_children, node_text, parse_source, walk


def _ts(source: str) -> TsFile:
    return TsFile(parse_source(source.encode(), "typescript"))


def _py(source: str) -> PyFile:
    return PyFile(parse_source(source.encode(), "python"))


def _ts_field(ts: TsFile, name: str) -> dict:
    """The facts of the class field `name` (declared in the class body)."""
    target = next(n for n in walk(ts.root) if n.type == "public_field_definition"
                  and node_text(field(n, "name")) == name)
    return ts_state.state_facts(ts, target, field(target, "name"), field(target, "value"))[0]


def _ts_module(ts: TsFile, name: str) -> dict:
    target = next(n for n in walk(ts.root) if n.type == "variable_declarator" and node_text(field(n, "name")) == name)
    return ts_state.state_facts(ts, target, field(target, "name"), field(target, "value"))[0]


def _py_assigned(py: PyFile, left: str) -> dict:
    """The facts of the first assignment whose left side is `left` (`self.sessions`, `SESSIONS`)."""
    target = next(n for n in walk(py.root) if n.type == "assignment" and node_text(field(n, "left")) == left)
    return py_state.state_facts(py, target, field(target, "left"), field(target, "right"))[0]


# -- clients beside the state ----------------------------------------------------------------------------

TS_STORE = """
import Redis from 'ioredis';

export class SessionStore {
  private sessions = new Map<string, string>();
  private hits = new Map<string, number>();

  constructor(private readonly redis: Redis) {
    this.hits.set('boot', 0);
  }

  async save(id: string, data: string): Promise<void> {
    this.sessions.set(id, data);
    await this.redis.set(`session:${id}`, data);
  }

  count(path: string): void {
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
  }
}
"""

PY_STORE = """
from redis import Redis


class SessionStore:
    def __init__(self):
        self.redis = Redis()
        self.sessions = {}
        self.hits = {"boot": 0}

    def save(self, session_id, data):
        self.sessions[session_id] = data
        self.redis.set(f"session:{session_id}", data)

    def count(self, path):
        self.hits[path] = self.hits.get(path, 0) + 1
"""


def test_a_client_used_where_the_state_is_written_sits_beside_it_in_both_languages():
    ts_facts, py_facts = _ts_field(_ts(TS_STORE), "sessions"), _py_assigned(_py(PY_STORE), "self.sessions")
    assert ts_facts["clients"] == py_facts["clients"] == frozenset({"redis"})
    # The same shape in both: (kind, name, needs checking against the service index).
    assert ts_facts["client_refs"] == frozenset({("redis", "Redis", False)})  # the type of `this.redis`
    assert py_facts["client_refs"] == frozenset({("redis", "redis", False)})  # the `self.redis` attribute


def test_a_client_the_constructor_sets_up_is_not_beside_state_written_elsewhere_in_both_languages():
    ts_facts, py_facts = _ts_field(_ts(TS_STORE), "hits"), _py_assigned(_py(PY_STORE), "self.hits")
    assert ts_facts["written_after_init"] and py_facts["written_after_init"]
    assert ts_facts["clients"] == py_facts["clients"] == frozenset()
    assert ts_facts["client_refs"] == py_facts["client_refs"] == frozenset()


def test_module_state_takes_the_clients_of_the_functions_that_use_it_in_both_languages():
    ts = _ts("""
import { sql } from 'drizzle-orm';
import { db } from './db';

const seen = new Set<string>();

export async function remember(id: string) {
  seen.add(id);
  await db.execute(sql`INSERT INTO seen (id) VALUES (${id})`);
}

export function forget(id: string) {
  seen.delete(id);
}
""")
    py = _py("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://")
SEEN = set()


def remember(item_id):
    SEEN.add(item_id)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO seen (id) VALUES (:id)"), {"id": item_id})


def forget(item_id):
    SEEN.discard(item_id)
""")
    ts_facts, py_facts = _ts_module(ts, "seen"), _py_assigned(py, "SEEN")
    # The names the function uses that are imported from a client package (and, in TypeScript, the
    # project's `db`, checked later); the module's own `engine` is no import, so no name of a client.
    assert ts_facts["clients"] == py_facts["clients"] == frozenset({"database"})
    assert ts_facts["client_refs"] == frozenset({("database", "sql", False), ("database", "db", True)})
    assert py_facts["client_refs"] == frozenset({("database", "text", False)})


def test_only_a_project_class_that_looks_like_a_client_needs_checking():
    """A TypeScript project class named like a client (`FilesRepository`) is checked against the service
    index later. A Python client is known from its import, `self.x` name or Django `.objects`, never from a
    project class's name, so no Python reference needs that check."""
    ts = _ts("""
import { FilesRepository } from './files.repository';

export class Uploads {
  private pending = new Map<string, Buffer>();

  constructor(private readonly files: FilesRepository) {}

  async upload(id: string, body: Buffer) {
    this.pending.set(id, body);
    await this.files.save(id, body);
  }
}
""")
    py = _py("""
from shop.models import Order


class Checkout:
    def __init__(self):
        self.pending = {}

    def start(self, order_id):
        self.pending[order_id] = Order.objects.get(pk=order_id)
""")
    assert _ts_field(ts, "pending")["client_refs"] == frozenset({("database", "FilesRepository", True)})
    assert _py_assigned(py, "self.pending")["client_refs"] == frozenset({("database", "Order", False)})


def test_a_typescript_callback_counts_the_clients_of_its_method():
    """`ClientUnits.methods`: a TypeScript write in a callback (`.then((v) => this.cache.set(k, v))`) counts
    the clients of the method around it, as promise chains put the write and the client in different
    functions. Python's vocabulary counts the function the use is in (its measured behaviour): a nested
    `def` is where Python code would keep such a write, and it is its own unit."""
    ts = _ts("""
import Redis from 'ioredis';

export class Prices {
  private cache = new Map<string, string>();

  constructor(private readonly redis: Redis) {}

  load(sku: string) {
    return this.redis.get(sku).then((price) => {
      this.cache.set(sku, price ?? '0');
    });
  }
}
""")
    py = _py("""
from redis import Redis


class Prices:
    def __init__(self):
        self.redis = Redis()
        self.cache = {}

    def load(self, sku):
        def keep(price):
            self.cache[sku] = price or "0"
        return keep(self.redis.get(sku))
""")
    assert _ts_field(ts, "cache")["clients"] == frozenset({"redis"})
    assert _py_assigned(py, "self.cache")["clients"] == frozenset()


# -- closure lifetime --------------------------------------------------------------------------------------

def _ts_scope(source: str, name: str) -> str:
    ts = _ts(source)
    target = next(n for n in walk(ts.root) if n.type == "variable_declarator" and node_text(field(n, "name")) == name)
    return ts_state.state_scope(ts, target, field(target, "name"), field(target, "value"))


def _py_scope(source: str, name: str) -> str:
    py = _py(source)
    target = next(n for n in walk(py.root) if n.type == "assignment" and node_text(field(n, "left")) == name)
    return py_state.state_scope(py, target, field(target, "left"), field(target, "right"))


TS_LIMITER = """
import express from 'express';

function rateLimit(limit: number) {
  const hits = new Map<string, number>();
  return (req, res, next) => {
    hits.set(req.ip, (hits.get(req.ip) ?? 0) + 1);
    if ((hits.get(req.ip) ?? 0) > limit) return res.status(429).end();
    next();
  };
}

const app = express();
app.use(rateLimit(100));
"""

PY_LIMITER = """
from fastapi import FastAPI


def rate_limit(limit):
    hits = {}

    async def middleware(request, call_next):
        hits[request.client.host] = hits.get(request.client.host, 0) + 1
        if hits[request.client.host] > limit:
            return Response(status_code=429)
        return await call_next(request)

    return middleware


app = FastAPI()
app.middleware("http")(rate_limit(100))
"""


def test_a_middleware_factory_called_at_start_up_keeps_its_closure_for_the_process_in_both_languages():
    assert _ts_scope(TS_LIMITER, "hits") == _py_scope(PY_LIMITER, "hits") == "closure"


def test_the_same_factory_called_per_request_makes_a_local_in_both_languages():
    ts = TS_LIMITER.replace("app.use(rateLimit(100));", "app.get('/x', (req, res) => rateLimit(1)(req, res, () => {}));")
    py = PY_LIMITER.replace('app.middleware("http")(rate_limit(100))',
                            '@app.get("/x")\nasync def x(request):\n    return await rate_limit(1)(request, None)')
    assert _ts_scope(ts, "hits") == _py_scope(py, "hits") == "function"


def test_a_factory_whose_local_no_closure_writes_makes_a_local_in_both_languages():
    ts = TS_LIMITER.replace("hits.set(req.ip, (hits.get(req.ip) ?? 0) + 1);", "")
    py = PY_LIMITER.replace("hits[request.client.host] = hits.get(request.client.host, 0) + 1", "pass")
    assert _ts_scope(ts, "hits") == _py_scope(py, "hits") == "function"


def test_a_closure_writing_through_an_alias_keeps_the_local_for_the_process_in_both_languages():
    """The closure names only the alias (`view`), never the local: the writes through it are still the
    local's, and the look-up that spares files without closure writes the events table must see them."""
    ts = TS_LIMITER.replace("const hits = new Map<string, number>();",
                            "const hits = new Map<string, number>();\n  const view = hits;").replace(
        "hits.set(req.ip, (hits.get(req.ip) ?? 0) + 1);", "view.set(req.ip, 1);").replace(
        "if ((hits.get(req.ip) ?? 0) > limit)", "if (limit < 0)")
    py = PY_LIMITER.replace("    hits = {}\n", "    hits = {}\n    view = hits\n").replace(
        "hits[request.client.host] = hits.get(request.client.host, 0) + 1", "view[request.client.host] = 1").replace(
        "if hits[request.client.host] > limit:", "if limit < 0:")
    assert "hits" not in ts.split("return (req")[1] and "hits" not in py.split("async def middleware")[1]
    assert _ts_scope(ts, "hits") == _py_scope(py, "hits") == "closure"
    assert _ts_scope(ts.replace("view.set(req.ip, 1);", "view.get(req.ip);"), "hits") == "function"
    assert _py_scope(py.replace("view[request.client.host] = 1", "view.get(request.client.host)"), "hits") \
        == "function"


def test_a_factory_handed_the_application_keeps_its_closure_in_python():
    """`factory_parameter_words`: a Python function that takes `get_response` (Django middleware) or `app` is a
    factory run once at start-up, whoever calls it. TypeScript's vocabulary names no such parameter (its
    measured behaviour): a TypeScript factory must be exported, registered or called at start-up."""
    assert _py_scope("""
def timing_middleware(get_response):
    durations = []

    def middleware(request):
        response = get_response(request)
        durations.append(response.elapsed)
        return response

    return middleware
""", "durations") == "closure"


def test_a_class_decorators_cache_is_no_closure_state_in_python():
    """`not_factory_parameters`: `def singleton(cls)` keeps one instance per class, the singleton pattern that
    py.singleton reports. TypeScript's vocabulary names no such parameter: its class decorators take the
    constructor under any name, and are not told apart from a factory this way."""
    assert _py_scope("""
def singleton(cls):
    instances = {}

    def get(*args, **kwargs):
        if cls not in instances:
            instances[cls] = cls(*args, **kwargs)
        return instances[cls]

    return get


@singleton
class Settings:
    pass
""", "instances") == "function"


def test_a_typescript_factory_may_keep_its_local_through_a_listener_or_the_framework():
    """`registrations` and `hand_out_calls`: a Node factory often returns nothing and registers a listener
    (`server.on('connection', ...)`) or hands the local to the framework (`fastify.decorate`). Python's
    vocabulary leaves both empty (its measured behaviour): a Python factory counts only when it returns its
    closure."""
    assert _ts_scope("""
import { Server, Socket } from 'net';

export function trackConnections(server: Server) {
  const open = new Set<Socket>();
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
}
""", "open") == "closure"
    assert _ts_scope("""
import fp from 'fastify-plugin';

export default fp(async (fastify) => {
  const seen = new Set<string>();
  fastify.decorate('seen', seen);
  fastify.addHook('onRequest', async (request) => {
    seen.add(request.ip);
  });
});
""", "seen") == "closure"


# -- where code runs ---------------------------------------------------------------------------------------

def _ts_context(source: str) -> str:
    """The context of the `new Tracker()` in a TypeScript snippet."""
    ts = _ts(source)
    new = next(n for n in walk(ts.root) if n.type == "new_expression" and node_text(field(n, "constructor")) == "Tracker")
    return ts.context_of(new)


def _py_context(source: str) -> str:
    """The context of the `Tracker()` call in a Python snippet."""
    py = _py(source)
    call = next(n for n in walk(py.root) if n.type == "call" and node_text(field(n, "function")) == "Tracker")
    return py.context_of(call)


SAME_CONTEXT = [
    ("module", "export const tracker = new Tracker();\n", "tracker = Tracker()\n"),
    ("startup", "async function bootstrap() {\n  const tracker = new Tracker();\n  await tracker.load();\n}\n",
     "def create_app():\n    tracker = Tracker()\n    return tracker\n"),
    ("startup", "function setupMetrics(names: string[]) {\n  names.forEach((n) => registry.add(n, new Tracker()));\n}\n",
     "def setup_metrics(names):\n    return [registry.add(n, (lambda: Tracker())()) for n in names]\n"),
    ("handler", "app.get('/orders', (req, res) => {\n  res.json(new Tracker().report());\n});\n",
     "def orders(request):\n    return JsonResponse(Tracker().report())\n"),
    ("handler", "@Controller('orders')\nexport class OrdersController {\n  @Get()\n  list() {\n"
                "    return new Tracker().report();\n  }\n}\n",
     "@router.get('/orders')\nasync def list_orders():\n    return Tracker().report()\n"),
    ("function", "export function report(items: Item[]) {\n  return new Tracker().count(items);\n}\n",
     "def report(items):\n    return Tracker().count(items)\n"),
]


def test_the_same_place_gives_the_same_context_in_both_languages():
    for expected, ts_source, py_source in SAME_CONTEXT:
        assert (_ts_context(ts_source), _py_context(py_source)) == (expected, expected), (ts_source, py_source)


def test_a_function_that_looks_like_both_is_decided_per_language():
    """`handler_first`: a start-up-named function that takes a request is a handler in TypeScript (an Express
    `start(req, res)` route) and start-up code in Python (`setup(request)` hooks), the order each language's
    contexts have been measured with."""
    assert _ts_context("function startJob(req, res) {\n  res.json(new Tracker());\n}\n") == "handler"
    assert _py_context("def setup_tracking(request):\n    return Tracker()\n") == "startup"


def test_vocabulary_only_one_language_has():
    """A TypeScript constructor is start-up code (`startup_names`: NestJS providers are built once at boot);
    Python's `__init__` is not. A Python function handed the application (`init_events(app)`,
    `app_parameters`) or a start-up hook decorator (`@app.on_event("startup")`) is start-up code; TypeScript's
    vocabulary names neither. Each is the language's measured behaviour, kept as data."""
    assert _ts_context("class Jobs {\n  constructor() {\n    this.t = new Tracker();\n  }\n}\n") == "startup"
    assert _py_context("class Jobs:\n    def __init__(self):\n        self.t = Tracker()\n") == "function"
    assert _py_context("def init_events(app):\n    events = Tracker()\n") == "startup"
    assert _py_context("@app.on_event('startup')\nasync def warm():\n    Tracker().load()\n") == "startup"
    # A route handed the app stays a route.
    assert _py_context("@app.get('/x')\ndef x(app):\n    return Tracker()\n") == "handler"


def test_an_object_stored_on_the_python_application_lives_with_it():
    """`app.state.x = X()` / Flask `app.x = X()`: Python's `instantiation_context` says 'app-state' before asking
    `context_of`. TypeScript has no such context: `app.locals.x = ...` is a scope of the state (`state_scope`)."""
    py = _py("def init_events(app):\n    app.tracker = Tracker()\n")
    call = next(n for n in walk(py.root) if n.type == "call" and node_text(field(n, "function")) == "Tracker")
    assert py_file.instantiation_context(py, call) == "app-state"
    assert py.context_of(call) == "startup"


# -- imports and the client names among them ---------------------------------------------------------------

def test_imported_names_and_the_clients_among_them_in_both_languages():
    ts = _ts("""
import Redis from 'ioredis';
import { Queue as JobQueue } from 'bullmq';
import * as mongo from 'mongodb/lib/collection';
import { formatPrice } from './money';
const { Pool } = require('pg');
""")
    py = _py("""
from redis import Redis
from celery import Celery as JobQueue
import pymongo.collection as mongo
from .money import format_price
from asyncpg import Pool
""")
    assert ts.imports == {"Redis": "ioredis", "JobQueue": "bullmq", "mongo": "mongodb/lib/collection",
                          "formatPrice": "./money", "Pool": "pg"}
    assert py.imports == {"Redis": "redis", "JobQueue": "celery", "mongo": "pymongo.collection",
                          "format_price": ".money", "Pool": "asyncpg"}
    expected = {"Redis": "redis", "JobQueue": "queue", "mongo": "database", "Pool": "database"}
    assert ts.client_names == py.client_names == expected


def test_where_an_import_counts_is_per_language():
    """`top_level`: Python code imports inside functions to avoid import cycles, and such an import binds a
    client all the same; TypeScript's table has been read from the top of the file only (its measured
    behaviour), so a `require` inside a function is not a client name."""
    ts = _ts("export function connect() {\n  const Redis = require('ioredis');\n  return new Redis();\n}\n")
    py = _py("def connect():\n    from redis import Redis\n    return Redis()\n")
    assert ts.client_names == {}
    assert py.client_names == {"Redis": "redis"}


def test_a_project_name_that_looks_like_a_client_is_one_only_in_typescript():
    """`local_client_names`: a TypeScript service wraps its store in its own class (`RedisService`), checked
    against the service index later. Python's vocabulary names no such patterns: a project object is a client
    there through its `self.x` name (`clients.python.self_attributes`)."""
    ts = _ts("import { RedisService } from './redis.service';\n")
    py = _py("from .redis_service import RedisService\n")
    assert ts.client_names == {"RedisService": "redis"}
    assert py.client_names == {}


def test_a_module_in_two_kinds_counts_as_the_first():
    py = _py("from rq import Queue\n")  # rq is listed under redis and under queue
    assert py.client_names == {"Queue": "redis"}


# -- the text of a path argument ------------------------------------------------------------------------

def _first_argument(analysis, callee: str):
    call = next(n for n in walk(analysis.root) if n.type in ("call_expression", "call")
                and node_text(field(n, "function")) == callee)
    return named_children(field(call, "arguments"))[0]


def test_a_path_names_the_module_constant_it_is_built_from_in_both_languages():
    ts = _ts("import fs from 'fs';\nimport path from 'path';\n\nconst UPLOAD_DIR = '/var/lib/shop/uploads';\n\n"
             "export function keep(name: string, body: Buffer) {\n"
             "  fs.writeFileSync(path.join(UPLOAD_DIR, name), body);\n}\n")
    py = _py("import os\n\nUPLOAD_DIR = '/var/lib/shop/uploads'\n\n\ndef keep(name, body):\n"
             "    with open(os.path.join(UPLOAD_DIR, name), 'wb') as f:\n        f.write(body)\n")
    assert ts.path_text(_first_argument(ts, "fs.writeFileSync")) == \
        "path.join(UPLOAD_DIR, name) '/var/lib/shop/uploads'"
    assert py.path_text(_first_argument(py, "open")) == "os.path.join(UPLOAD_DIR, name) '/var/lib/shop/uploads'"


def test_what_else_a_path_is_expanded_with_is_per_language():
    """`path_value` and `PathShapes`: TypeScript services keep a directory in a class field
    (`this.uploadDir`), which the field's initialiser expands; Python code builds the path in a local first
    (`out = os.path.join(ROOT, name)`), which its assignment in the function expands, and the constants that
    names once more. Each language's measured behaviour, kept as data."""
    ts = _ts("import fs from 'fs';\n\nexport class Uploads {\n  private uploadDir = '/tmp/uploads';\n\n"
             "  keep(name: string, body: Buffer) {\n    fs.writeFileSync(`${this.uploadDir}/${name}`, body);\n  }\n}\n")
    py = _py("import os\n\nROOT = '/srv/cache'\n\n\ndef keep(name, body):\n    out = os.path.join(ROOT, name)\n"
             "    with open(out, 'wb') as f:\n        f.write(body)\n")
    assert ts.path_text(_first_argument(ts, "fs.writeFileSync")) == "`${this.uploadDir}/${name}` '/tmp/uploads'"
    assert py.path_text(_first_argument(py, "open")) == "out os.path.join(ROOT, name) '/srv/cache'"


# -- what makes a class stateful --------------------------------------------------------------------------

def _ts_class(ts: TsFile):
    return next(n for n in walk(ts.root) if n.type == "class_declaration")


def _py_class(py: PyFile):
    return next(n for n in walk(py.root) if n.type == "class_definition")


def test_collections_written_and_fields_rebound_make_a_class_stateful_in_both_languages():
    ts = _ts("""
import Redis from 'ioredis';

export class Breaker {
  private failures = new Map<string, number>();
  private limits = new Map<string, number>();
  private openedAt = 0;
  private client?: Redis;

  constructor() {
    this.limits.set('default', 5);
  }

  fail(service: string): void {
    this.failures.set(service, (this.failures.get(service) ?? 0) + 1);
    this.openedAt = Date.now();
  }

  redis(): Redis {
    this.client = this.client ?? new Redis();
    return this.client;
  }
}
""")
    py = _py("""
import time

from redis import Redis


class Breaker:
    def __init__(self):
        self.failures = {}
        self.limits = {"default": 5}
        self.opened_at = 0
        self.client = None

    def fail(self, service):
        self.failures[service] = self.failures.get(service, 0) + 1
        self.opened_at = time.time()

    def redis(self):
        if self.client is None:
            self.client = Redis()
        return self.client
""")
    # `limits` is only filled by the constructor; `client` is a lazily made connection, not state.
    assert ts.stateful_fields(_ts_class(ts)) == ("failures", "openedAt")
    assert py.stateful_fields(_py_class(py)) == ("failures", "opened_at")


def test_what_else_a_class_holds_is_per_language():
    """`FieldShapes.instance_names`: a TypeScript singleton rebinds `this.instance` in its static getter, which is
    the singleton pattern, not state; Python keeps that instance on `cls`. `collection_members`: a Python class
    attribute (`handlers = []`) is the class's own collection, listed after the rebound attributes; a TypeScript
    static collection field is a field like any other."""
    ts = _ts("""
export class Registry {
  private static instance?: Registry;
  private static handlers: string[] = [];
  private version = 0;

  static getInstance(): Registry {
    if (!this.instance) this.instance = new Registry();
    return this.instance;
  }

  add(name: string): void {
    Registry.handlers.push(name);
    this.version = this.version + 1;
  }
}
""")
    py = _py("""
class Registry:
    handlers = []

    def __init__(self):
        self.version = 0

    def add(self, name):
        Registry.handlers.append(name)
        self.version = self.version + 1
""")
    assert ts.stateful_fields(_ts_class(ts)) == ("handlers", "version")
    assert py.stateful_fields(_py_class(py)) == ("version", "handlers")


# -- a class that keeps its state in a store ---------------------------------------------------------------

def test_a_class_writing_through_a_client_has_the_same_facts_in_both_languages():
    ts = _ts("""
import Redis from 'ioredis';

export class SessionStore {
  constructor(private readonly redis: Redis) {}

  async save(id: string, data: string): Promise<void> {
    await this.redis.set(`session:${id}`, data);
  }
}
""")
    py = _py("""
from redis import Redis


class SessionStore:
    def __init__(self):
        self.redis = Redis()

    def save(self, session_id, data):
        self.redis.set(f"session:{session_id}", data)
""")
    ts_facts, py_facts = class_facts(ts, _ts_class(ts))[0], class_facts(py, _py_class(py))[0]
    assert ts_facts == py_facts == {
        "name": "SessionStore", "class_name": "SessionStore", "symbol": "SessionStore", "scope": "class",
        "owner_kind": "class", "words": split_words("SessionStore"), "class_words": frozenset(split_words("SessionStore")),
        "clients": frozenset({"redis"}), "stateful_fields": (), "stateful": False, "client_writes": True,
        "lifetime_local": "unknown"}


def test_only_a_typescript_class_is_made_per_request():
    """`request_scoped`: a NestJS provider with `Scope.REQUEST` is made for each request. Python's frameworks
    have no class scope the rules know of, so a Python class's lifetime is left to where it is made."""
    ts = _ts("import { Injectable, Scope } from '@nestjs/common';\n\n@Injectable({ scope: Scope.REQUEST })\n"
             "export class Basket {\n  private items: string[] = [];\n}\n")
    assert class_facts(ts, _ts_class(ts))[0]["lifetime_local"] == "request"


def test_a_second_expansion_follows_the_names_in_code_not_the_words_of_strings():
    """Python expands once more the module constants a local's value names (`out = os.path.join(ROOT, name)`
    names ROOT); a word inside a string (`"ARCHIVE"`) or a comment is not a name and expands nothing."""
    py = _py("import os\n\nROOT = '/srv/cache'\nARCHIVE = '/srv/archive'\n\n\ndef keep(name, body):\n"
             "    out = os.path.join(ROOT, 'ARCHIVE', name)  # not ARCHIVE\n"
             "    with open(out, 'wb') as f:\n        f.write(body)\n")
    assert py.path_text(_first_argument(py, "open")) == "out os.path.join(ROOT, 'ARCHIVE', name) '/srv/cache'"


# -- state facts: one mechanism (facts/state.py), each language's scopes and keys -------------------------

SHARED_STATE_FACTS = ("scope", "class_name", "symbol", "words", "class_words", "owner_kind", "lifetime_local",
                      "written_after_init", "rebound", "increments", "clients")

TS_APP = """
import express from 'express';

const app = express();
app.locals.recentErrors = [];

app.use((err, req, res, next) => {
  req.app.locals.recentErrors.push(err.message);
  next(err);
});

export class SessionStore {
  private sessions = new Map<string, string>();
  private saves = 0;

  save(id: string, data: string): void {
    const started = Date.now();
    this.sessions.set(id, data);
    this.saves++;
  }
}
"""

PY_APP = """
import time

from fastapi import FastAPI, Request

app = FastAPI()
app.state.recent_errors = []


@app.middleware("http")
async def remember_errors(request: Request, call_next):
    request.app.state.recent_errors.append(request.url.path)
    return await call_next(request)


class SessionStore:
    def __init__(self):
        self.sessions = {}
        self.saves = 0

    def save(self, session_id, data):
        started = time.time()
        self.sessions[session_id] = data
        self.saves += 1
"""


def _ts_assigned(ts: TsFile, left: str) -> dict:
    target = next(n for n in walk(ts.root) if n.type == "assignment_expression" and node_text(field(n, "left")) == left)
    return ts_state.state_facts(ts, target, field(field(target, "left"), "property"), field(target, "right"))[0]


def _shared(facts: dict) -> dict:
    return {name: facts[name] for name in SHARED_STATE_FACTS}


def test_a_field_the_instance_sets_up_and_a_method_writes_has_the_same_facts_in_both_languages():
    ts_facts, py_facts = _ts_field(_ts(TS_APP), "sessions"), _py_assigned(_py(PY_APP), "self.sessions")
    assert _shared(ts_facts) == _shared(py_facts) == {
        "scope": "instance", "class_name": "SessionStore", "symbol": "SessionStore.sessions",
        "words": {"session", "sessions", "store", "stores"}, "class_words": frozenset({"session", "sessions", "store", "stores"}),
        "owner_kind": "class", "lifetime_local": "unknown", "written_after_init": True, "rebound": False,
        "increments": False, "clients": frozenset()}


def test_a_counter_field_bumped_by_a_method_increments_in_both_languages():
    ts_facts, py_facts = _ts_field(_ts(TS_APP), "saves"), _py_assigned(_py(PY_APP), "self.saves")
    # `this.saves++` and `self.saves += 1` rebind the field to a new number: a rebind, tagged an increment.
    for name in ("writes", "written_after_init", "rebound", "stored", "increments"):
        assert ts_facts[name] == py_facts[name], name
    assert ts_facts["writes"] == frozenset({"rebind"}) and ts_facts["increments"] and ts_facts["rebound"]
    assert ts_facts["symbol"] == py_facts["symbol"] == "SessionStore.saves"


def test_application_state_set_at_start_up_and_written_per_request_has_the_same_facts_in_both_languages():
    """`app.locals.x` (Express) and `app.state.x` (Starlette): the state of the application object, named by
    itself, living for the process, written after start-up. TypeScript finds the write (`req.app.locals.x.push`
    is keyed through `app`); Python's `request.app.state.x` is no key it follows, so a namespace of the
    application (`app_state_namespaces`) counts as written after start-up wherever it is assigned."""
    ts_facts, py_facts = _ts_assigned(_ts(TS_APP), "app.locals.recentErrors"), _py_assigned(_py(PY_APP), "app.state.recent_errors")
    assert _shared(ts_facts) | {"symbol": "-"} == _shared(py_facts) | {"symbol": "-"} == {
        "scope": "app-state", "class_name": None, "symbol": "-", "words": {"recent", "recents", "error", "errors"},
        "class_words": frozenset(), "owner_kind": "module", "lifetime_local": "process", "written_after_init": True,
        "rebound": False, "increments": False, "clients": frozenset()}
    # Named by itself, each in its language's spelling.
    assert (ts_facts["name"], ts_facts["symbol"]) == ("recentErrors", "recentErrors")
    assert (py_facts["name"], py_facts["symbol"]) == ("recent_errors", "recent_errors")
    assert ts_facts["writes"] == frozenset({"push"}) and py_facts["writes"] == frozenset()


def test_a_methods_local_is_named_after_its_class_only_in_typescript():
    """`StateShapes.class_scopes`: a TypeScript candidate in a class is named after it in every scope but
    `module` (`SessionStore.started`), as its rules' messages and fingerprints have always said; Python names
    only class attributes and instance fields so. Both take the class's words, and neither finds a write."""
    ts_facts = _ts_module(_ts(TS_APP), "started")
    py_facts = _py_assigned(_py(PY_APP), "started")
    assert ts_facts["scope"] == py_facts["scope"] == "function"
    assert ts_facts["words"] == py_facts["words"] == split_words("started") | split_words("SessionStore")
    assert ts_facts["writes"] == py_facts["writes"] == frozenset()
    assert (ts_facts["class_name"], ts_facts["symbol"]) == ("SessionStore", "SessionStore.started")
    assert (py_facts["class_name"], py_facts["symbol"]) == (None, "started")


# -- singletons ----------------------------------------------------------------------------------------------

TS_SINGLETON = """
import Redis from 'ioredis';

export class PresenceTracker {
  private static instance?: PresenceTracker;
  private online = new Set<string>();
  private redis = new Redis();

  static getInstance(): PresenceTracker {
    if (!PresenceTracker.instance) {
      PresenceTracker.instance = new PresenceTracker();
    }
    return PresenceTracker.instance;
  }

  join(user: string): void {
    this.online.add(user);
    void this.redis.sadd('online', user);
  }
}
"""

PY_SINGLETON = """
import redis


class PresenceTracker:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance.online = set()
            cls._instance.redis = redis.Redis()
        return cls._instance

    def __init__(self):
        self.online = set()
        self.redis = redis.Redis()

    def join(self, user):
        self.online.add(user)
        self.redis.sadd("online", user)
"""


def test_a_singletons_class_says_the_same_in_both_languages():
    """How the pattern is spotted differs (a static `instance` field with `getInstance`, an `_instance`
    attribute set in `__new__`); what its class says comes from the one singleton_class_facts."""
    ts = _ts(TS_SINGLETON)
    ts_target = next(n for n in walk(ts.root) if n.type == "public_field_definition"
                     and node_text(field(n, "name")) == "instance")
    ts_facts = ts_state.singleton_facts(ts, ts_target, None)[0]
    py = _py(PY_SINGLETON)
    py_target = next(n for n in walk(py.root) if n.type == "assignment" and node_text(field(n, "left")) == "_instance")
    py_facts = py_state.singleton_facts(py, py_target, None)[0]
    shared = ("own_class", "class_in_file", "stateful_fields", "stateful", "clients", "owner_kind", "lifetime_local")
    assert {k: ts_facts[k] for k in shared} == {k: py_facts[k] for k in shared} == {
        "own_class": True, "class_in_file": True, "stateful_fields": ("online",), "stateful": True,
        "clients": frozenset({"redis"}), "owner_kind": "class", "lifetime_local": "process"}
    assert ts_facts["has_instance_pattern"] and py_facts["has_instance_pattern"]
