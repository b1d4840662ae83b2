"""Python idioms that span modules, on small service trees written to disk and scanned for real."""

from __future__ import annotations

from pathlib import Path

from stateaudit.config import Config
from stateaudit.scan import scan

CACHE_MODULE = """\
from functools import lru_cache
from flask_caching import Cache


class ShopCache(Cache):
    def bump(self, key):
        self.set(key, (self.get(key) or 0) + 1)


cache = ShopCache()


def timed_lru(seconds=60):
    def decorate(fn):
        return lru_cache(maxsize=256)(fn)
    return decorate


def traced(fn):
    return fn
"""
REDIS_CACHE_MODULE = """\
from flask_caching import Cache

cache = Cache(config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://cache:6379/0"})
"""
READERS = """\
from shop.cache import cache, timed_lru, traced
from shop.helpers import memo


@cache.memoize(timeout=60)
def price(sku):
    return 10


@timed_lru(seconds=5)
def stock(sku):
    return 3


@traced
def name(sku):
    return sku


@memo.memoize()
def not_a_cache_object(sku):
    return sku
"""
RELATIVE_READERS = """\
from .remote import cache


@cache.cached(timeout=30, key_prefix="menu")
def menu():
    return ["home"]
"""
HELPERS = """\
class Memo:
    def memoize(self):
        return lambda fn: fn


memo = Memo()
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _findings(root: Path, ruleset):
    report = scan(root, Config(), ruleset).report
    return {(f.location.path, f.location.line): f for f in report.findings}


def test_cache_objects_and_lru_wrappers_imported_from_another_module(tmp_path, ruleset):
    _write(tmp_path, {"pyproject.toml": "[project]\nname='shop'\n", "shop/__init__.py": "",
                      "shop/cache.py": CACHE_MODULE, "shop/readers.py": READERS, "shop/helpers.py": HELPERS,
                      "shop/remote.py": REDIS_CACHE_MODULE, "shop/menu.py": RELATIVE_READERS})
    found = _findings(tmp_path, ruleset)
    memoised = found[("shop/readers.py", 5)]
    assert (memoised.kind, memoised.storage, memoised.shared) == ("cache", "memory+redis", "partial")
    assert found[("shop/readers.py", 10)].kind == "cache"  # the project's lru_cache wrapper
    assert ("shop/readers.py", 15) not in found  # a decorator that does not cache
    assert ("shop/readers.py", 20) not in found  # `.memoize` on an object that is not a cache
    declared = found[("shop/cache.py", 10)]
    assert (declared.kind, declared.shared) == ("cache", "partial")
    assert found[("shop/cache.py", 15)].kind == "cache"  # lru_cache applied by hand inside the wrapper
    redis_view = found[("shop/menu.py", 4)]  # relative import of a Redis-configured cache object
    assert (redis_view.storage, redis_view.shared) == ("redis", "yes")


REGISTRY = """\
class Hooks:
    startup_hooks = []
    audit_sinks = []

    @classmethod
    def register_startup(cls, fn):
        cls.startup_hooks.append(fn)

    @classmethod
    def add_sink(cls, sink):
        cls.audit_sinks.append(sink)
"""
APP = """\
from fastapi import FastAPI
from hooks.registry import Hooks

app = FastAPI()


def warm():
    pass


def install_hooks(app):
    Hooks.register_startup(warm)


@app.post("/sinks")
def create_sink(url: str):
    Hooks.add_sink(url)
    return {"ok": True}
"""


def test_registry_written_only_by_start_up_code_in_another_module_is_not_state(tmp_path, ruleset):
    _write(tmp_path, {"pyproject.toml": "[project]\nname='hooks'\n", "hooks/__init__.py": "",
                      "hooks/registry.py": REGISTRY, "hooks/app.py": APP})
    found = _findings(tmp_path, ruleset)
    assert ("hooks/registry.py", 2) not in found  # filled by install_hooks(app) at start-up
    sinks = found[("hooks/registry.py", 3)]  # filled by a request handler
    assert (sinks.kind, sinks.rule_id) == ("collection", "py.class-collection")
