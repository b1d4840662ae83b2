"""The policy word lists in rules/vocabulary/: a team's folder extends them, and a broken file stops the run.

Real scans of small services on disk (fixtures/vocabulary/), through the command line where the user meets it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from stateaudit.cache import context_digest
from stateaudit.cli import main
from stateaudit.config import Config
from stateaudit.resources import rules_dir
from stateaudit.ruleset import load_rules
from stateaudit.scan import scan
from stateaudit.vocabulary import load_vocabulary, shipped

from .conftest import FIXTURES
from .test_classification import CATEGORY_SOURCES
from .test_discover import make

SERVICE = FIXTURES / "vocabulary" / "acme-kv"
TEAM = FIXTURES / "vocabulary" / "team-rules"


def _classified(*args: str) -> dict[str, tuple[str, str, str]]:
    """symbol -> (risk, storage, shared) of a JSON scan through the CLI."""
    result = CliRunner().invoke(main, ["scan", str(SERVICE), "--format", "json", "--fail-on", "none", *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {f["symbol"]: (f["risk"], f["storage"], f["shared"]) for f in json.loads(result.stdout)["findings"]}


def test_a_team_client_library_makes_the_state_beside_it_partly_shared(tmp_path):
    shipped_only = _classified("--no-cache")
    assert shipped_only["PriceService.recent"][1:] == ("in-memory", "no")
    with_team = _classified("--rules", str(TEAM), "--no-cache")
    # acme-kv is a Redis-like store in the team's vocabulary: the Map beside it is a local layer over it.
    assert with_team["PriceService.recent"][1:] == ("memory+redis", "partial")
    # State with no client beside it is judged as before.
    assert with_team["CartStore.carts"] == shipped_only["CartStore.carts"] == ("HIGH", "in-memory", "no")


def test_editing_a_team_vocabulary_invalidates_cached_records(tmp_path):
    team = tmp_path / "team"
    shutil.copytree(TEAM, team)
    clients = team / "vocabulary" / "clients.yaml"
    clients.write_text("clients:\n  typescript:\n    modules:\n      redis: [other-kv]\n", encoding="utf-8")
    cache = tmp_path / "cache"
    before = _classified("--rules", str(team), "--cache-dir", str(cache))
    assert before["PriceService.recent"][1] == "in-memory"
    first_digest = context_digest(load_rules([rules_dir(), team]))
    clients.write_text("clients:\n  typescript:\n    modules:\n      redis: [acme-kv]\n", encoding="utf-8")
    # The folder holds no rule file of its own, only the vocabulary: its bytes still key the cache.
    assert context_digest(load_rules([rules_dir(), team])) != first_digest
    after = _classified("--rules", str(team), "--cache-dir", str(cache))
    assert after["PriceService.recent"][1] == "memory+redis"


def test_a_team_category_order_lets_the_owner_speak_first(tmp_path, ruleset):
    make(tmp_path / "svc", {"src/registry.ts": CATEGORY_SOURCES.format(cls="CircuitBreakerRegistry",
                                                                       field="sessions")})

    def category(rules) -> str:
        found = {(f.location.path, f.location.line): f
                 for f in scan(tmp_path / "svc", Config(), rules, cache_dir=None).report.findings}
        return found[("src/registry.ts", 5)].category

    assert category(ruleset) == "session"  # shipped order: the state's own name first
    team = tmp_path / "team"
    (team / "vocabulary").mkdir(parents=True)
    (team / "vocabulary" / "categories.yaml").write_text("categories:\n  sources: [class, name, type]\n",
                                                         encoding="utf-8")
    assert category(load_rules([rules_dir(), team])) == "circuit-breaker"


def test_team_lists_extend_the_shipped_ones(tmp_path):
    team = tmp_path / "team"
    (team / "vocabulary").mkdir(parents=True)
    (team / "vocabulary" / "ours.yaml").write_text(
        "contexts:\n  typescript:\n    startup_functions: ['warmUp*']\n"
        "paths:\n  purposes:\n    upload: [invoice]\n    model: ['\\.onnx$']\n", encoding="utf-8")
    merged = load_vocabulary([rules_dir(), team])
    startup = merged.matcher("contexts.typescript.startup_functions")
    assert startup.match("warmUpCaches") and startup.match("bootstrap") and startup.match("setupRoutes")
    assert not startup.match("prewarmUp") and not startup.match("handle")
    purposes = merged.group_matchers("paths.purposes")
    assert [name for name, _ in purposes] == ["upload", "log", "tmp", "data", "model"]
    assert dict(purposes)["upload"].search("INVOICE_DIR") and dict(purposes)["upload"].search("avatars")
    assert merged.names("clients.python.libraries") == shipped().names("clients.python.libraries")


BROKEN = [
    ("clients:\n  python:\n    modulez:\n      redis: [acme]\n", 3,
     "unknown key 'clients.python.modulez'; did you mean 'clients.python.modules'?"),
    ("contexts:\n  typescript:\n    startup_functions: warmUp\n", 3,
     "'contexts.typescript.startup_functions' must be a list of names"),
    ("paths:\n  purposes:\n    upload:\n      - invoice\n      - 'scan(s'\n", 5,
     "'paths.purposes.upload': the pattern 'scan(s' does not compile"),
    ("clients:\n  typescript:\n    decorators:\n      InjectKv: cache\n", 4,
     "'clients.typescript.decorators.InjectKv' must be one of redis, queue, database, not 'cache'"),
    ("categories:\n  sources: [name, owner]\n", 2, "'categories.sources' takes name, class, type, not 'owner'"),
    ("clientz:\n  python: {}\n", 1, "unknown section 'clientz'; did you mean 'clients'?"),
    ("clients:\n  python: [redis]\n", 2, "'clients.python' must be a mapping of modules, self_attributes"),
    ("clients:\n  python:\n    modules: {redis: [a]\n", 4, "invalid YAML"),
    ("libraries:\n  python:\n    container_classes:\n      ExpiringDict: mapping\n", 4,
     "'libraries.python.container_classes.ExpiringDict' must be one of dict, list, set, deque, defaultdict, "
     "OrderedDict, Counter, not 'mapping'"),
]


@pytest.mark.parametrize("text, line, message", BROKEN, ids=[
    "unknown-key", "wrong-type", "bad-pattern", "bad-label", "bad-order", "unknown-section", "not-a-mapping",
    "not-yaml", "bad-container-kind"])
def test_a_broken_vocabulary_stops_the_scan_with_file_and_line(tmp_path, text, line, message):
    team = tmp_path / "team"
    (team / "vocabulary").mkdir(parents=True)
    bad = team / "vocabulary" / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", str(SERVICE), "--rules", str(team), "--no-cache"])
    assert result.exit_code == 2, result.output
    assert f"{bad}:{line}: {message}" in result.output
    assert "Traceback" not in result.output


def test_every_shipped_vocabulary_key_is_documented():
    text = (Path(__file__).resolve().parent.parent / "docs" / "writing-rules.md").read_text(encoding="utf-8")
    for key in shipped().values:
        assert f"`{key}`" in text, f"{key} is not documented in docs/writing-rules.md"


def test_a_team_memory_limiter_library_is_reported_like_the_shipped_ones(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "package.json": '{"name": "login", "dependencies": {"@acme/throttle": "^1.0.0"}}',
        "src/limits.ts": "import { Throttle } from '@acme/throttle';\n\n"
                         "export const loginThrottle = new Throttle({ points: 20, duration: 60 });\n",
    })

    def rules_found(rules) -> set[tuple[str, str]]:
        report = scan(tmp_path / "svc", Config(), rules, cache_dir=None).report
        return {(f.rule_id, f.symbol) for f in report.findings}

    assert ("ts.memory-rate-limiter", "loginThrottle") not in rules_found(ruleset)
    team = tmp_path / "team"
    (team / "vocabulary").mkdir(parents=True)
    (team / "vocabulary" / "libraries.yaml").write_text(
        'libraries:\n  typescript:\n    memory_limiters:\n      "@acme/throttle": [Throttle]\n', encoding="utf-8")
    assert ("ts.memory-rate-limiter", "loginThrottle") in rules_found(load_rules([rules_dir(), team]))


def _team(tmp_path: Path, text: str):
    """The shipped rules plus a team folder holding only this vocabulary file."""
    team = tmp_path / "team"
    (team / "vocabulary").mkdir(parents=True, exist_ok=True)
    (team / "vocabulary" / "ours.yaml").write_text(text, encoding="utf-8")
    return load_rules([rules_dir(), team])


def _found(root: Path, rules) -> set[tuple[str, str, int]]:
    report = scan(root, Config(), rules, cache_dir=None).report
    return {(f.rule_id, f.location.path, f.location.line) for f in report.findings}


PY_WRITES = {
    "requirements.txt": "fastapi\n",
    "app/settings.py": "import json\nfrom pathlib import Path\n\nDEFAULTS = Path('config/defaults.json')\n\n\n"
                       "def seed_defaults():\n    if not DEFAULTS.exists():\n"
                       "        DEFAULTS.write_text(json.dumps({'theme': 'light'}))\n",
    "tools/export.py": "def export_report(rows):\n    with open('reports/out.csv', 'w') as fh:\n"
                       "        fh.write(str(rows))\n",
    "app/commands.py": "from app.cli import cli_command\n\n\n@cli_command('dump')\ndef dump(rows):\n"
                       "    with open('dump/rows.txt', 'w') as fh:\n        fh.write(str(rows))\n",
}


@pytest.mark.parametrize("text, path, line", [
    # `seed*` functions create default files, like the shipped `init*`, `ensure*`: scaffolding, not state.
    ("contexts:\n  python:\n    scaffold_functions: ['seed*']\n", "app/settings.py", 9),
    # Our command-line scripts live in tools/.
    ("contexts:\n  python:\n    cli_folders: [tools]\n", "tools/export.py", 2),
    # Our own command decorator, like click's `@command`.
    ("contexts:\n  python:\n    cli_decorators: ['^cli_command\\b']\n", "app/commands.py", 6),
], ids=["scaffold-functions", "cli-folders", "cli-decorators"])
def test_a_team_python_context_leaves_out_scaffolding_and_command_line_writes(tmp_path, ruleset, text, path, line):
    make(tmp_path / "svc", PY_WRITES)
    finding = ("py.local-file-write", path, line)
    assert finding in _found(tmp_path / "svc", ruleset)
    with_team = _found(tmp_path / "svc", _team(tmp_path, text))
    assert finding not in with_team
    # Only that write is judged differently.
    assert with_team == _found(tmp_path / "svc", ruleset) - {finding}


def test_a_team_app_object_makes_what_is_set_on_it_live_as_long_as_the_process(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "requirements.txt": "fastapi\n",
        "app/registry.py": "class Registry:\n    def __init__(self):\n        self.items = {}\n\n"
                           "    def add(self, key, value):\n        self.items[key] = value\n",
        "app/wiring.py": "from app.registry import Registry\n\n\ndef attach(server):\n    server.registry = Registry()\n",
    })
    finding = ("py.instance-collection", "app/registry.py", 3)
    assert finding not in _found(tmp_path / "svc", ruleset)  # a Registry made in some function: lifetime unknown
    # Our application object is called `server`: what is set on it lives as long as the application.
    assert finding in _found(tmp_path / "svc", _team(tmp_path, "contexts:\n  python:\n    app_objects: [server]\n"))


TS_SERVICE = {
    "package.json": '{"name": "orders", "dependencies": {"express": "^4.18.0", "@nestjs/common": "^10.0.0"}}',
    "src/totals.ts": "import { Decimal } from './decimal';\nimport { spawnWorker } from './workers';\n\n"
                     "let total: Decimal | undefined;\nlet worker: Worker | undefined;\n\n"
                     "export function runningTotal(): Decimal {\n  if (!total) total = new Decimal(0);\n  return total;\n}\n\n"
                     "export function pool(): Worker {\n  if (!worker) worker = spawnWorker('resize');\n  return worker;\n}\n",
    "src/cart.service.ts": "import { Injectable } from '@nestjs/common';\nimport { ProviderScope } from './scopes';\n"
                           "import { EntryLedger } from './ledger';\n\n"
                           "@Injectable({ scope: ProviderScope.PER_REQUEST })\nexport class CartService {\n"
                           "  private readonly items = new Map<string, number>();\n\n"
                           "  add(sku: string, qty: number) {\n    this.items.set(sku, qty);\n  }\n}\n\n"
                           "@Injectable()\nexport class AuditService {\n  private entries = new EntryLedger();\n\n"
                           "  record(line: string) {\n    this.entries.push(line);\n  }\n}\n",
    "src/kv.ts": "import { AcmeKv } from './acme';\n\nexport class KvHolder {\n  private static client: AcmeKv;\n\n"
                 "  static get() {\n    if (!KvHolder.client) KvHolder.client = new AcmeKv();\n    return KvHolder.client;\n"
                 "  }\n}\n",
}


def _judged(root: Path, rules) -> dict[str, tuple[str, str, str]]:
    """symbol -> (rule, risk, storage) of a scan."""
    report = scan(root, Config(), rules, cache_dir=None).report
    return {f.symbol: (f.rule_id, f.risk.name, f.storage) for f in report.findings}


@pytest.mark.parametrize("text, symbol, shipped_verdict, team_verdict", [
    # Our DI container's per-request scope: the cart's Map lives for one request.
    ("contexts:\n  typescript:\n    request_scopes: [ProviderScope.PER_REQUEST]\n", "CartService.items",
     ("ts.instance-collection", "HIGH", "in-memory"), None),
    # Decimal is a value like Date: a global set to one lazily is a mutable global, not a lazy singleton.
    ("libraries:\n  typescript:\n    value_classes: [Decimal]\n", "total",
     ("ts.lazy-singleton", "LOW", "instance"), ("ts.mutable-global", "MEDIUM", "in-memory")),
    # spawnWorker() is a factory: the global holds one worker made on first use.
    ("libraries:\n  typescript:\n    factory_calls: ['^spawn[A-Z]']\n", "worker",
     ("ts.mutable-global", "MEDIUM", "in-memory"), ("ts.lazy-singleton", "LOW", "instance")),
    # Our EntryLedger is a collection class, not a client: the field that holds one is state.
    ("libraries:\n  typescript:\n    collection_classes: ['Ledger$']\n", "AuditService.entries",
     None, ("ts.instance-collection", "HIGH", "in-memory")),
    # AcmeKv is a Redis-like client: the lazy holder keeps a client, its data lives in the store.
    ("clients:\n  typescript:\n    constructed:\n      redis: [AcmeKv]\n", "KvHolder.client",
     ("ts.lazy-singleton", "LOW", "instance"), ("ts.lazy-singleton", "LOW", "redis")),
], ids=["request-scopes", "value-classes", "factory-calls", "collection-classes", "constructed"])
def test_a_team_typescript_vocabulary_changes_how_state_is_judged(tmp_path, ruleset, text, symbol, shipped_verdict,
                                                                   team_verdict):
    make(tmp_path / "svc", TS_SERVICE)
    shipped_found = _judged(tmp_path / "svc", ruleset)
    team_found = _judged(tmp_path / "svc", _team(tmp_path, text))
    assert shipped_found.get(symbol) == shipped_verdict
    assert team_found.get(symbol) == team_verdict
    # Only that state is judged differently.
    assert {k: v for k, v in team_found.items() if k != symbol} == {k: v for k, v in shipped_found.items() if k != symbol}


PY_CACHES = {
    "requirements.txt": "flask\nflask-caching\n",
    "app/cache.py": "from flask_caching import Cache\n\ncache = Cache(config={'CACHE_TYPE': 'acme_kv.AcmeKvCache'})\n",
    "app/prices.py": "from functools import lru_cache\n\nfrom acme_db import connect_pool\nfrom app.cache import cache\n"
                     "from app.secrets import vault\n\npool = connect_pool('postgres://db/prices')\n\n\n"
                     "@cache.memoize(timeout=60)\ndef price_of(sku):\n    return pool.fetch_price(sku)\n\n\n"
                     "@lru_cache\ndef signing_key():\n    return vault.read('signing-key')\n",
}


@pytest.mark.parametrize("text, changed", [
    # AcmeKvCache keeps its entries in a shared store, like RedisCache.
    ("libraries:\n  python:\n    cache_backends:\n      redis: [AcmeKvCache]\n",
     {"cache": (("py.memoize-cache", "MEDIUM", "memory+redis"), ("py.memoize-cache", "LOW", "redis")),
      "price_of": (("py.memoize-cache", "MEDIUM", "memory+redis"), ("py.memoize-cache", "LOW", "redis"))}),
    # A body that reads the vault fetches remote data: its lru_cache is state, not a process constant.
    ("libraries:\n  python:\n    remote_io: ['^vault$']\n",
     {"signing_key": (None, ("py.memoize-cache", "MEDIUM", "in-memory"))}),
    # acme_db.connect_pool() opens a database pool, like create_engine().
    ("clients:\n  python:\n    connection_modules:\n      database: [acme_db]\n"
     "    connection_constructors:\n      database: [connect_pool]\n",
     {"pool": (None, ("py.connection-singleton", "LOW", "database"))}),
], ids=["cache-backends", "remote-io", "connections"])
def test_a_team_python_library_vocabulary_changes_how_state_is_judged(tmp_path, ruleset, text, changed):
    make(tmp_path / "svc", PY_CACHES)
    shipped_found = _judged(tmp_path / "svc", ruleset)
    team_found = _judged(tmp_path / "svc", _team(tmp_path, text))
    for symbol, (before, after) in changed.items():
        assert (shipped_found.get(symbol), team_found.get(symbol)) == (before, after), symbol
    assert {k: v for k, v in team_found.items() if k not in changed} == \
        {k: v for k, v in shipped_found.items() if k not in changed}


@pytest.mark.parametrize("text, files, finding, shipped_has", [
    # Our request-scoped scratch areas are called scratch_*: files written there are removed with them.
    ("paths:\n  scratch: ['(?<![/\\w])_*scratch\\w*']\n",
     {"app/export.py": "def export(scratch_area, rows):\n    with open(scratch_area + '/rows.csv', 'w') as fh:\n"
                       "        fh.write(str(rows))\n"},
     ("py.local-file-write", "app/export.py", 2), True),
    # A blob is a file on our mounted bucket: writing one is writing a file.
    ("paths:\n  path_code: ['\\bblob\\b']\n",
     {"app/export.py": "def export(name, rows):\n    blob = bucket_blob(name)\n    blob.write_text(str(rows))\n"},
     ("py.local-file-write", "app/export.py", 3), False),
], ids=["scratch", "path-code"])
def test_a_team_path_vocabulary_changes_which_writes_are_reported(tmp_path, ruleset, text, files, finding, shipped_has):
    make(tmp_path / "svc", {"requirements.txt": "flask\n", **files})
    assert (finding in _found(tmp_path / "svc", ruleset)) is shipped_has
    assert (finding in _found(tmp_path / "svc", _team(tmp_path, text))) is not shipped_has


def test_a_team_singleton_field_name_makes_its_class_a_singleton(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "package.json": '{"name": "orders", "dependencies": {"express": "^4.18.0"}}',
        "src/registry.ts": "export class Registry {\n  private static current: Registry;\n"
                           "  private readonly services = new Map<string, string>();\n\n"
                           "  static getInstance(): Registry {\n"
                           "    if (!Registry.current) Registry.current = new Registry();\n    return Registry.current;\n  }\n\n"
                           "  register(name: string, url: string) {\n    this.services.set(name, url);\n  }\n}\n",
    })

    def reasons(rules) -> list[str]:
        report = scan(tmp_path / "svc", Config(), rules, cache_dir=None).report
        return next(f.reasons for f in report.findings if f.symbol == "Registry.services")

    singleton = "Registry keeps a static singleton instance"
    assert singleton not in reasons(ruleset)  # `current` is no singleton field name we ship
    assert singleton in reasons(_team(tmp_path, "contexts:\n  typescript:\n    singleton_fields: ['^current$']\n"))


PY_FILE_API = {
    "requirements.txt": "flask\n",
    "app/files.py": "from urllib.request import urlretrieve\n\nfrom app.storage import atomic_swap, purge, ScratchDir\n\n\n"
                    "def fetch_cover(feed_url):\n    urlretrieve(feed_url, 'uploads/covers/latest.png')\n\n\n"
                    "def export_rows(rows):\n    with open('exports/rows.csv', 'w') as fh:\n        fh.write(str(rows))\n"
                    "    purge('exports/rows.csv')\n\n\n"
                    "def export_archive(rows, archive):\n    with open('exports/archive.csv', 'w') as fh:\n"
                    "        fh.write(str(rows))\n    archive.discard()\n\n\n"
                    "def export_bundle(rows):\n    with ScratchDir() as where:\n"
                    "        with open('exports/bundle.csv', 'w') as fh:\n            fh.write(str(rows))\n\n\n"
                    "def save_settings(tmp_settings, data):\n    with open(tmp_settings, 'w') as fh:\n        fh.write(data)\n"
                    "    atomic_swap(tmp_settings, 'settings.json')\n\n\n"
                    "def save_profile(tmp_profile, final, data):\n    with open(tmp_profile, 'w') as fh:\n"
                    "        fh.write(data)\n    tmp_profile.promote(final)\n",
}


@pytest.mark.parametrize("text, symbol, before, after", [
    # urlretrieve(url, filename) writes its second argument, like shutil.copy: the path says uploads.
    ("file_copies: [urlretrieve]", "fetch_cover", "HIGH", "CRITICAL"),
    # Our storage helpers remove what the function wrote: a scratch file (LOW), not local data.
    ("file_removers: [purge]", "export_rows", "CRITICAL", "LOW"),
    ("file_remover_methods: [discard]", "export_archive", "CRITICAL", "LOW"),
    ("temp_file_contexts: [ScratchDir]", "export_bundle", "CRITICAL", "LOW"),
    # A temp-named file moved into place by our helper is kept: the write is reported, no longer scratch.
    ("file_renamers: [atomic_swap]", "save_settings", None, "HIGH"),
    ("file_renamer_methods: [promote]", "save_profile", None, "CRITICAL"),
], ids=["file-copies", "file-removers", "file-remover-methods", "temp-file-contexts", "file-renamers",
        "file-renamer-methods"])
def test_a_team_python_file_api_vocabulary_changes_how_file_writes_are_judged(tmp_path, ruleset, text, symbol, before,
                                                                          after):
    make(tmp_path / "svc", PY_FILE_API)
    shipped_found = _judged(tmp_path / "svc", ruleset)
    team_found = _judged(tmp_path / "svc", _team(tmp_path, f"libraries:\n  python:\n    {text}\n"))
    assert (shipped_found[symbol][1] if symbol in shipped_found else None) == before
    assert team_found[symbol][:2] == ("py.local-file-write", after)
    # Only that write is judged differently.
    assert {k: v for k, v in team_found.items() if k != symbol} == {k: v for k, v in shipped_found.items() if k != symbol}


def test_a_team_singleton_attribute_makes_its_python_class_a_singleton(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "requirements.txt": "flask\n",
        "app/catalog.py": "class Catalog:\n    _current = None\n\n    def __init__(self):\n        self.items = {}\n\n"
                          "    @classmethod\n    def get_instance(cls):\n        if cls._current is None:\n"
                          "            cls._current = cls()\n        return cls._current\n\n"
                          "    def add(self, key, value):\n        self.items[key] = value\n",
    })
    # `_current` is no singleton attribute we ship: a Catalog made somewhere has a lifetime we cannot tell.
    assert "Catalog.items" not in _judged(tmp_path / "svc", ruleset)
    team = _team(tmp_path, "contexts:\n  python:\n    singleton_attributes: [_current]\n")
    assert _judged(tmp_path / "svc", team)["Catalog.items"] == ("py.instance-collection", "MEDIUM", "in-memory")
    report = scan(tmp_path / "svc", Config(), team, cache_dir=None).report
    assert "Catalog keeps a static singleton instance" in next(f.reasons for f in report.findings
                                                               if f.symbol == "Catalog.items")


def test_a_team_typescript_file_remover_makes_a_write_a_scratch_file(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "package.json": '{"name": "exports", "dependencies": {"express": "^4.18.0"}}',
        "src/export.ts": "import { writeFileSync } from 'fs';\nimport { purgeFile } from './storage';\n\n"
                         "export function exportRows(rows: string[]): void {\n"
                         "  writeFileSync('exports/rows.csv', rows.join('\\n'));\n  purgeFile('exports/rows.csv');\n}\n",
    })
    assert _judged(tmp_path / "svc", ruleset)["exportRows"] == ("ts.local-file-write", "CRITICAL", "local-disk")
    # Our storage helper purgeFile removes the file, like fs.unlink: a scratch file removed in the same function.
    team = _team(tmp_path, "libraries:\n  typescript:\n    file_removers: [purgeFile]\n")
    assert _judged(tmp_path / "svc", team)["exportRows"] == ("ts.local-file-write", "LOW", "local-disk")


def test_a_team_singleton_base_makes_its_python_subclasses_singletons(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "requirements.txt": "flask\n",
        "app/catalog.py": "from app.shared import SharedInstance\n\n\nclass Catalog(SharedInstance):\n"
                          "    def __init__(self):\n        self.items = {}\n\n"
                          "    def add(self, key, value):\n        self.items[key] = value\n",
    })
    # SharedInstance is no singleton base we ship: a Catalog made somewhere has a lifetime we cannot tell.
    assert "Catalog.items" not in _judged(tmp_path / "svc", ruleset)
    team = _team(tmp_path, "contexts:\n  python:\n    singleton_bases: [\"Shared*\"]\n")
    assert _judged(tmp_path / "svc", team)["Catalog.items"] == ("py.instance-collection", "MEDIUM", "in-memory")


def test_a_team_typescript_file_writer_makes_a_mkdir_part_of_its_write(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "package.json": '{"name": "avatars", "dependencies": {"express": "^4.18.0"}}',
        "src/avatars.ts": "import { mkdirSync } from 'fs';\nimport { storeBlob } from './storage';\n\n"
                          "export function saveAvatar(userId: string, image: Buffer): void {\n"
                          "  mkdirSync('uploads/avatars', { recursive: true });\n"
                          "  storeBlob(`uploads/avatars/${userId}.png`, image);\n}\n",
    })
    assert _judged(tmp_path / "svc", ruleset)["saveAvatar"][0] == "ts.local-file-write"
    # Our storage helper storeBlob writes the file, like fs.writeFile: the mkdir is part of that write, and
    # storeBlob's own body is where the write is judged.
    team = _team(tmp_path, "libraries:\n  typescript:\n    file_writers: [storeBlob]\n")
    assert "saveAvatar" not in _judged(tmp_path / "svc", team)


# A team rule that reports a folder made for uploads, unless the same function writes a file into it.
TEAM_MKDIR_RULE = """id: team.py-upload-folder
title: Upload folder made on the local disk
kind: file-write
languages: [python]
risk: MEDIUM
message: "{symbol} makes a folder on the local disk ({callee})."
queries:
  python: |
    (call function: (attribute attribute: (identifier) @fn) (#eq? @fn "makedirs")) @target
where:
  callee: os.makedirs
  writes_in_same_function: false
docs:
  what: os.makedirs of a folder, in a function that writes no file into it.
  why: A folder made for files that are written elsewhere is where the instance keeps them.
  fix: Keep uploads in object storage.
"""


@pytest.mark.parametrize("path, source, line, text", [
    # Our upload objects' persist() writes the file, like Path.write_text(): the makedirs is part of that write.
    ("app/avatars.py", "import os\n\n\ndef save_avatar(upload, user_id):\n"
                       "    os.makedirs('uploads/avatars', exist_ok=True)\n"
                       "    upload.persist(os.path.join('uploads/avatars', user_id + '.png'))\n", 5,
     "libraries:\n  python:\n    file_writer_methods: [persist]\n"),
    # Our storage helper put_file copies the file into place, like shutil.copy: the makedirs is part of it.
    ("app/reports.py", "import os\n\nfrom app.storage import put_file\n\n\ndef publish_report(src, name):\n"
                       "    os.makedirs('reports/daily', exist_ok=True)\n"
                       "    put_file(src, os.path.join('reports/daily', name))\n", 7,
     "libraries:\n  python:\n    file_writers: [put_file]\n"),
], ids=["file-writer-methods", "file-writers"])
def test_a_team_python_file_writer_makes_a_mkdir_part_of_its_write(tmp_path, ruleset, path, source, line, text):
    make(tmp_path / "svc", {"requirements.txt": "flask\n", path: source})
    team = tmp_path / "team"
    (team / "vocabulary").mkdir(parents=True)
    (team / "team.py-upload-folder.yaml").write_text(TEAM_MKDIR_RULE, encoding="utf-8")
    found = ("team.py-upload-folder", path, line)
    assert found in _found(tmp_path / "svc", load_rules([rules_dir(), team]))
    (team / "vocabulary" / "ours.yaml").write_text(text, encoding="utf-8")
    assert found not in _found(tmp_path / "svc", load_rules([rules_dir(), team]))


def test_a_team_type_wrapper_leaves_its_name_out_of_the_element_type_words(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "package.json": '{"name": "checkout", "dependencies": {"express": "^4.18.0"}}',
        "src/checkout.ts": "import { Snapshot } from './snapshot';\nimport { Cart } from './cart';\n\n"
                           "export class CheckoutState {\n  private entries = new Map<string, Snapshot<Cart>>();\n\n"
                           "  remember(id: string, cart: Snapshot<Cart>): void {\n    this.entries.set(id, cart);\n"
                           "  }\n}\n\nexport const checkoutState = new CheckoutState();\n",
    })

    def category(rules) -> str:
        report = scan(tmp_path / "svc", Config(), rules, cache_dir=None).report
        return next(f.category for f in report.findings if f.symbol == "CheckoutState.entries")

    assert category(ruleset) == "versions"  # `Snapshot<Cart>` read as versions of something
    # Our Snapshot<T> is a read-only wrapper, like Partial<T>: what the Map keeps is carts.
    assert category(_team(tmp_path, "categories:\n  type_wrappers: [Snapshot]\n")) == "user-data"


@pytest.mark.parametrize("files", [
    # The loader that fills the registry at import is decorated.
    {"app/registry.py": "EXPORTERS = {}\n\n\ndef add_exporter(name, exporter):\n    EXPORTERS[name] = exporter\n",
     "app/exporters.py": "from app.registry import add_exporter\nfrom app.tracing import traced\n\n\n@traced\n"
                         "def load_exporters():\n    add_exporter('csv', CsvExporter())\n"
                         "    add_exporter('json', JsonExporter())\n\n\n"
                         "class CsvExporter:\n    pass\n\n\nclass JsonExporter:\n    pass\n\n\nload_exporters()\n"},
    # The function that writes the registry is decorated itself.
    {"app/registry.py": "from app.tracing import traced\n\nEXPORTERS = {}\n\n\n@traced\n"
                        "def add_exporter(name, exporter):\n    EXPORTERS[name] = exporter\n",
     "app/exporters.py": "from app.registry import add_exporter\n\n\nclass CsvExporter:\n    pass\n\n\n"
                         "add_exporter('csv', CsvExporter())\n"},
], ids=["decorated-caller", "decorated-writer"])
def test_a_team_plain_decorator_lets_a_registry_be_filled_at_boot(tmp_path, ruleset, files):
    make(tmp_path / "svc", {"requirements.txt": "fastapi\n", **files})
    # A decorated function may be one a framework calls at any time: the registry is written at runtime.
    assert _judged(tmp_path / "svc", ruleset)["EXPORTERS"] == ("py.module-collection", "MEDIUM", "in-memory")
    # Our @traced only logs the call: the function runs where it is called, at import, so the registry is
    # filled at boot, the same on every instance.
    assert "EXPORTERS" not in _judged(tmp_path / "svc", _team(tmp_path, "contexts:\n  python:\n"
                                                                         "    plain_decorators: [traced]\n"))


def test_a_team_http_client_makes_a_timer_callback_wait_on_the_network(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "package.json": '{"name": "meter", "dependencies": {"express": "^4.18.0", "ky": "^1.0.0"}}',
        "src/usage.ts": "import ky from 'ky';\nimport { usage } from './meter';\n\n"
                        "export function startUsageSync(): void {\n"
                        "  setInterval(() => {\n    ky.post('https://billing.internal/usage', { json: usage.drain() });\n"
                        "  }, 60_000);\n}\n",
    })

    def judged(rules) -> tuple[str, str]:
        report = scan(tmp_path / "svc", Config(), rules, cache_dir=None).report
        return next((f.risk.name, f.category) for f in report.findings if f.symbol == "startUsageSync")

    assert judged(ruleset) == ("LOW", "refresh")
    # ky is our HTTP client, like axios: each instance's timer pushes the usage to billing.
    assert judged(_team(tmp_path, "libraries:\n  typescript:\n    remote_io: ['^ky\\.']\n")) == ("MEDIUM", "sync")


def test_a_team_cache_setting_says_where_a_cache_object_keeps_its_entries(tmp_path, ruleset):
    make(tmp_path / "svc", {
        "requirements.txt": "flask\nflask-caching\n",
        "app/cache.py": "from flask_caching import Cache\n\nCACHE_BACKEND = 'RedisCache'\n"
                        "cache = Cache(config={'CACHE_TYPE': CACHE_BACKEND})\n",
        "app/prices.py": "from app.cache import cache\nfrom app.db import fetch_price\n\n\n"
                         "@cache.memoize(timeout=60)\ndef price_of(sku):\n    return fetch_price(sku)\n",
    })
    assert _judged(tmp_path / "svc", ruleset)["price_of"] == ("py.memoize-cache", "MEDIUM", "memory+redis")
    # CACHE_BACKEND is our setting for the backend, like CACHE_TYPE: it names Redis.
    team = _team(tmp_path, "libraries:\n  python:\n    cache_settings: [CACHE_BACKEND]\n")
    assert _judged(tmp_path / "svc", team)["price_of"] == ("py.memoize-cache", "LOW", "redis")


FASTIFY_PLUGIN = ("import fp from 'fastify-plugin';\n\nexport default fp(async (fastify) => {\n"
                  "  const seen = new Set<string>();\n{handout}"
                  "  fastify.addHook('onRequest', async (request) => {\n    seen.add(request.ip);\n  });\n});\n")
FASTIFY = '{"name": "api", "dependencies": {"fastify": "^4.0.0", "fastify-plugin": "^4.0.0"}}'
EXPRESS = '{"name": "svc", "dependencies": {"express": "^4.18.0"}}'


@pytest.mark.parametrize("files, text, symbol, verdict", [
    # Our container makes each class under `singletons:` once, like a NestJS module's `providers:` (seen only
    # made in a request handler, the store would live for one request).
    ({"package.json": EXPRESS,
      "src/container.ts": "import { createContainer } from './di';\nimport { SessionStore } from './sessions';\n\n"
                          "export const container = createContainer({ singletons: [SessionStore] });\n",
      "src/sessions.ts": "export class SessionStore {\n  private sessions = new Map<string, string>();\n\n"
                         "  open(id: string, user: string): void {\n    this.sessions.set(id, user);\n  }\n}\n",
      "src/routes.ts": "import express from 'express';\nimport { SessionStore } from './sessions';\n\n"
                       "export const router = express.Router();\n\n"
                       "router.post('/preview', (req, res) => {\n  const draft = new SessionStore();\n"
                       "  draft.open(req.body.id, req.body.user);\n  res.sendStatus(204);\n});\n"},
     "contexts:\n  typescript:\n    provider_keys: [singletons]\n",
     "SessionStore.sessions", ("ts.instance-collection", "CRITICAL", "in-memory")),
    # fastify's addHook keeps its callback for the process, like server.on(...).
    ({"package.json": FASTIFY, "src/visitors.ts": FASTIFY_PLUGIN.replace("{handout}", "")},
     "contexts:\n  typescript:\n    registration_calls: [addHook]\n",
     "seen", ("ts.closure-collection", "MEDIUM", "in-memory")),
    # decorateReply hands the Set to fastify, like decorate(...).
    ({"package.json": FASTIFY,
      "src/visitors.ts": FASTIFY_PLUGIN.replace("{handout}", "  fastify.decorateReply('visitors', seen);\n")},
     "contexts:\n  typescript:\n    hand_out_calls: [decorateReply]\n",
     "seen", ("ts.closure-collection", "MEDIUM", "in-memory")),
    # FeatureFlags.current() hands out the one instance, like getInstance(): a route writes its Map.
    ({"package.json": EXPRESS,
      "src/flags.ts": "export class FeatureFlags {\n  private static instance?: FeatureFlags;\n"
                      "  readonly overrides = new Map<string, boolean>();\n\n"
                      "  static current(): FeatureFlags {\n    if (!FeatureFlags.instance) {\n"
                      "      FeatureFlags.instance = new FeatureFlags();\n    }\n    return FeatureFlags.instance;\n"
                      "  }\n}\n",
      "src/routes.ts": "import express from 'express';\nimport { FeatureFlags } from './flags';\n\n"
                       "export const router = express.Router();\n\n"
                       "router.post('/flags/:name', (req, res) => {\n"
                       "  FeatureFlags.current().overrides.set(req.params.name, req.body.on);\n"
                       "  res.sendStatus(204);\n});\n"},
     "contexts:\n  typescript:\n    singleton_getters: [current]\n",
     "FeatureFlags.overrides", ("ts.instance-collection", "HIGH", "in-memory")),
    # Our @process_wide, like a @singleton decorator, hands out one instance per process (made in a function,
    # a Presence could live for one call).
    ({"requirements.txt": "flask\n",
      "app/presence.py": "from app.lifecycle import process_wide\n\n\n@process_wide\nclass Presence:\n"
                         "    def __init__(self):\n        self.online = {}\n\n"
                         "    def seen(self, user_id, at):\n        self.online[user_id] = at\n\n\n"
                         "def presence():\n    return Presence()\n"},
     "contexts:\n  python:\n    singleton_decorators: [process_wide]\n",
     "Presence.online", ("py.instance-collection", "MEDIUM", "in-memory")),
    # An ExpiringDict is a dict whose entries expire: the codes are kept in this worker's memory only.
    ({"requirements.txt": "flask\nexpiringdict\n",
      "app/otp.py": "from expiringdict import ExpiringDict\nfrom flask import Blueprint, request\n\n"
                    "bp = Blueprint('otp', __name__)\nCODES = ExpiringDict(max_len=10000, max_age_seconds=300)\n\n\n"
                    "@bp.post('/otp')\ndef send_code():\n    CODES[request.json['phone']] = make_code()\n"
                    "    return '', 204\n"},
     "libraries:\n  python:\n    container_classes: {ExpiringDict: dict}\n",
     "CODES", ("py.module-collection", "MEDIUM", "in-memory")),
], ids=["provider-keys", "registration-calls", "hand-out-calls", "singleton-getters", "singleton-decorators",
        "container-classes"])
def test_a_team_word_makes_state_a_finding(tmp_path, ruleset, files, text, symbol, verdict):
    make(tmp_path / "svc", files)
    assert symbol not in _judged(tmp_path / "svc", ruleset)
    assert _judged(tmp_path / "svc", _team(tmp_path, text))[symbol] == verdict
APP_STATE_SERVICE = {
    "requirements.txt": "fastapi\n",
    "app/main.py": "from fastapi import FastAPI\n\nserver = FastAPI()\nserver.state.sessions = {}\nserver.tokens = {}\n\n\n"
                   "@server.post('/login')\nasync def login(user: str, token: str):\n"
                   "    server.state.sessions[user] = True\n    server.tokens[user] = token\n    return {'ok': True}\n",
}


@pytest.mark.parametrize("text, lines", [
    # `server.state.x`: a namespace of an application object, written after start-up wherever it is set. The
    # `server.tokens` a view writes is written through a name no app state is looked up through.
    ("contexts:\n  python:\n    app_state_objects: [server]\n", {4}),
    # `server.x = {}` at import is the application's; `server.x[k] = v` in a view writes it through `server`.
    ("contexts:\n  python:\n    app_state_objects: [server]\n    app_state_holders: [server]\n", {4, 5}),
], ids=["namespace", "attribute"])
def test_a_team_application_object_makes_what_is_set_on_it_app_state(tmp_path, ruleset, text, lines):
    """`contexts.python.app_state_objects` and `app_state_holders`: our FastAPI application is called `server`,
    so what is set on it is application state like the shipped `app.state.x` and `app.x` (`scope: app-state`,
    reported by py.app-state)."""
    make(tmp_path / "svc", APP_STATE_SERVICE)
    findings = {("py.app-state", "app/main.py", line) for line in lines}
    shipped_found = _found(tmp_path / "svc", ruleset)
    assert not findings & shipped_found  # attributes set on some object: a function's doing
    assert _found(tmp_path / "svc", _team(tmp_path, text)) == shipped_found | findings


def test_a_team_application_property_makes_what_hangs_on_it_app_state(tmp_path, ruleset):
    """`contexts.typescript.app_state_properties`: our Express app keeps its shared objects under `app.shared`,
    like the shipped `app.locals`: a Map put there at start-up and written by a handler is application state
    (`scope: app-state`, reported by ts.app-state), and `req.app.shared.x` writes it."""
    make(tmp_path / "svc", {
        "package.json": '{"name": "web", "dependencies": {"express": "^4.18.0"}}',
        "src/server.ts": "import express from 'express';\n\nconst app = express();\n(app as any).shared = {};\n"
                         "app.shared.sessions = new Map<string, string>();\n\n"
                         "app.post('/login', (req, res) => {\n  req.app.shared.sessions.set(req.body.user, req.ip);\n"
                         "  res.sendStatus(204);\n});\n\napp.listen(3000);\n",
    })
    finding = ("ts.app-state", "src/server.ts", 5)
    shipped_found = _found(tmp_path / "svc", ruleset)
    assert finding not in shipped_found  # a member of some object's property: a function's doing
    team_found = _found(tmp_path / "svc", _team(tmp_path, "contexts:\n  typescript:\n    app_state_properties: [shared]\n"))
    assert team_found == shipped_found | {finding}


@pytest.mark.parametrize("key, separator", [("clients.python.modules", "."), ("clients.typescript.modules", "/")])
def test_a_module_belongs_to_the_first_client_kind_listing_it_or_a_module_above_it(key, separator):
    """`group_of_module` answers from a table of prefixes; it must agree with comparing the module with every
    listed name, the first kind winning, for listed modules, their sub-modules and look-alikes."""
    words = shipped()
    groups = words.groups(key)
    listed = [name for names in groups.values() for name in names]
    asked = {module for name in listed for module in (name, name + separator + "sub", name + separator + "a" + separator
                                                          + "b", name + "x", "x" + name, separator + name)}
    asked |= {"", separator, "project" + separator + "redis"}

    def by_comparison(module: str) -> str | None:
        return next((group for group, names in groups.items()
                     if any(module == name or module.startswith(name + separator) for name in names)), None)

    assert listed
    for module in sorted(asked):
        assert words.group_of_module(key, module, separator) == by_comparison(module), module
    assert any(words.group_of_module(key, module, separator) for module in asked)


def test_derived_lookups_of_one_key_do_not_collide():
    """A key's names and its compiled pattern are kept apart in the vocabulary's memo."""
    words = shipped()
    key = "contexts.python.plain_decorators"
    pattern = words.matcher(key)
    names = words.names(key)
    assert isinstance(names, frozenset) and names
    assert words.matcher(key) is pattern and words.names(key) is names
    assert words.group_searched("clients.python.self_attributes", "redis_client") == \
        next((group for group, p in words.group_matchers("clients.python.self_attributes") if p.search("redis_client")),
             None)
