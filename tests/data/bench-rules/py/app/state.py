"""Order service state: caches, registries and background workers of a small Flask app."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict, defaultdict
from functools import lru_cache
from pathlib import Path

import cachetools
from flask import Flask

app = Flask(__name__)
ORDERS_BY_ID = {}
RECENT_ORDER_IDS = []
SEEN_COUPONS = {"WELCOME10", "SPRING"}
SQUARES = [n * n for n in range(10)]
PRICE_TABLE = {sku: 0 for sku in ("a", "b")}
ANNOTATED_INDEX: dict[str, int] = {}
RETRY_COUNTS = defaultdict(int)
LAST_SEEN = OrderedDict()
REQUEST_LOCAL = threading.local()
TOKEN_CACHE = cachetools.TTLCache(maxsize=100, ttl=60)
PLAIN = dict()
MAX_ITEMS = 50
_client = None
_engine: object | None = None
settings_path = Path("settings.toml")
app.config_cache = None

if app.debug:
    DEBUG_TRACES = []
    _debug_client = None


@lru_cache(maxsize=128)
def tax_rate(country: str) -> float:
    return {"DE": 0.19, "FR": 0.2}.get(country, 0.0)


@functools.cache
def currency_symbol(code: str) -> str:
    return {"EUR": "€", "USD": "$"}.get(code, code)


@cachetools.cached(cache=TOKEN_CACHE)
def exchange_rate(base: str, quote: str) -> float:
    return 1.0


@app.route("/orders")
def list_orders():
    global RECENT_ORDER_IDS
    pending = []
    local_index = dict()
    RECENT_ORDER_IDS = RECENT_ORDER_IDS[-100:]
    return {"orders": list(ORDERS_BY_ID.values()), "pending": pending, "index": local_index}


def get_client():
    global _client, _engine
    if _client is None:
        _client = object()
    return _client


class OrderRegistry:
    _instance = None
    instance: OrderRegistry | None
    handlers = []
    by_status = {}
    tags = {"new", "paid"}
    ids_squared = [i * i for i in range(3)]
    name = "orders"

    def __init__(self) -> None:
        self.items = []
        self._instance = self

    @classmethod
    def get(cls) -> OrderRegistry:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance


def export_orders(target: Path) -> None:
    with open(target, "w", encoding="utf-8") as out:
        out.write(str(ORDERS_BY_ID))
    with open(target, "r") as back:  # noqa: UP015 (a read: the open-write rules must not match it)
        back.read()
    with open(target, mode="a") as log:
        log.write("done")
    with open(target, "rb") as raw:
        raw.read()
    with open(target, "ab") as raw_append:
        raw_append.write(b"x")
    target.with_suffix(".bak").write_text(str(RECENT_ORDER_IDS))
    target.with_suffix(".bin").write_bytes(b"\x00")
    target.read_text()


def start_workers() -> None:
    sweeper = threading.Timer(30.0, start_workers)
    sweeper.daemon = True
    sweeper.start()
    threading.Thread(target=export_orders, args=(settings_path,), daemon=True).start()
