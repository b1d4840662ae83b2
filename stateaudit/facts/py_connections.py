"""Facts about module-level objects that own a connection: DB engines and session factories, socket.io
servers, chat-bot gateway clients.

Such an object is an item even when it holds no data of its own (LABELLING.md, issue 8): an engine is a
client of an external store (shared), a socket.io server keeps its rooms and sids in an in-memory manager
unless it is given a Redis/queue client manager, and a bot client holds one gateway session that every
replica would open again. Stateless module instances (settings, loggers, HTTP clients) are not here.
"""

from __future__ import annotations

from ..syntax import SyntaxNode, descendants, field, named_children, node_text
from ..vocabulary import current as vocabulary


def _library_kind(py, call: SyntaxNode) -> str:
    """What a constructor call owns, judged by the name and the module it was imported from: the first kind
    of `clients.python.connection_modules` whose module (or a sub-module) it comes from and whose
    `clients.python.connection_constructors` has its name."""
    callee = node_text(field(call, "function"))
    head, last = callee.split(".")[0], callee.rsplit(".", 1)[-1]
    module = py.imports.get(head, "")
    if "." in callee and module == "":
        module = head
    words = vocabulary()
    constructors = words.groups("clients.python.connection_constructors")
    for kind, modules in words.groups("clients.python.connection_modules").items():
        if last in constructors.get(kind, ()) and any(module == m or module.startswith(m + ".") for m in modules):
            return kind
    return ""


def connection_kind(py, value: SyntaxNode | None) -> str:
    """`database`, `socketio` or `bot` when the module-level value owns a connection, else empty.

    A call to a project function counts when that function (in this file) builds an engine or session
    factory and returns it: `SessionLocal, engine = init_db(url)`.
    """
    if value is None or value.type != "call":
        return ""
    kind = _library_kind(py, value)
    if kind:
        return kind
    helper = py.functions_by_name.get(node_text(field(value, "function")))
    if helper is None:
        return ""
    for node in descendants(field(helper, "body"), "call"):
        if _library_kind(py, node) == "database":
            return "database"
    return ""


def has_client_manager(value: SyntaxNode | None) -> bool:
    """socket.io given a client manager (Redis, Kafka, AMQP) shares rooms and emits across instances."""
    return value is not None and any(
        arg.type == "keyword_argument" and node_text(field(arg, "name")) == "client_manager"
        for arg in named_children(field(value, "arguments")))
