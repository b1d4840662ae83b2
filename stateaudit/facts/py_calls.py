"""Facts about Python calls: threads, tasks, scheduled jobs and writes to disk."""

from __future__ import annotations

import re
from typing import Any

from ..model import WriteSite
from ..syntax import (
    SyntaxNode,
    ancestors,
    descendants,
    enclosing,
    field,
    named_children,
    node_text,
    parent_of,
)
from .common import purpose_of_path, split_words
from .py_file import (
    FUNCTIONS,
    PyFile,
    instantiation_context,
    owner_of,
)


def _loops(node: SyntaxNode | None) -> bool:
    return node is not None and bool(descendants(node, "while_statement"))


def _parks(node: SyntaxNode | None) -> bool:
    """A coroutine that stays alive until told to stop: it awaits an event (`await stop.wait()`) or serves forever."""
    return node is not None and bool(re.search(r"await\s+[\w.]+\.wait\(\)|serve_forever|run_forever", node_text(node)))


def _handle_kept(call: SyntaxNode, fn_text: str) -> bool:
    """The task's handle is kept: stored on an object or in a container, passed on, or cancelled later (so it
    runs until shutdown rather than finishing within the function)."""
    parent = parent_of(call)
    if parent is None or parent.type != "assignment" or field(parent, "right") != call:
        return False
    handle = node_text(field(parent, "left"))
    if "." in handle or "[" in handle:
        return True
    name = re.escape(handle)
    return bool(re.search(rf"\b{name}\.cancel\(|(?<![=!<>])=\s*{name}\b(?!\s*[.(\[])|"
                          rf"(?<![=!<>])=\s*[\[(][^\n]*\b{name}\b|\.(append|add|put|put_nowait)\(\s*{name}\s*\)", fn_text))


def _function_named(py: PyFile, name: str) -> SyntaxNode | None:
    """The first function of that name in the file (a thread target, a task's coroutine)."""
    return py.functions_by_name.get(name.rsplit(".", 1)[-1])


def call_facts(py: PyFile, call: SyntaxNode) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a call that starts a thread/task/job or writes to disk."""
    callee = node_text(field(call, "function"))
    args = field(call, "arguments")
    positional = [a for a in named_children(args) if a.type != "keyword_argument"]
    keywords = {node_text(field(a, "name")): field(a, "value") for a in named_children(args) if a.type == "keyword_argument"}
    fn = enclosing(call, FUNCTIONS)
    cls, class_name = owner_of(py, call)
    method = node_text(field(fn, "name")) if fn is not None and fn.type == "function_definition" else ""
    # Thread(target=fn), or a spawner handed the function itself: gevent.spawn(fn), sio.start_background_task(fn).
    target = keywords.get("target") or (positional[0] if positional and positional[0].type in ("identifier", "attribute")
                                        else None)
    target_fn = _function_named(py, node_text(target)) if target is not None else None
    coroutine = positional[0] if positional else None
    coroutine_fn = None
    if coroutine is not None and coroutine.type == "call":
        coroutine_fn = _function_named(py, node_text(field(coroutine, "function")))
    receiver = node_text(field(field(call, "function"), "object")) if field(call, "function") is not None and field(call, "function").type == "attribute" else ""
    # `path.open("wb")` takes the mode first; `open(path, "wb")`, `tarfile.open(path, "w:gz")`, `ZipFile(path, "w")` second.
    path_open = receiver != "" and receiver.split(".")[0] not in py.imports and callee.endswith(".open")
    mode_node = keywords.get("mode") or (positional[0] if path_open and positional else
                                         positional[1] if len(positional) > 1 else None)
    mode = node_text(mode_node).strip("'\"rbRBfu") if mode_node is not None else ""
    raw_mode = node_text(mode_node).strip("'\"") if mode_node is not None else ""
    first_text = node_text(positional[0]) if positional else (node_text(call) if call.type == "string" else "")
    # A copy or move writes its second argument, the destination.
    written = positional[1] if callee.rsplit(".", 1)[-1] in _COPIES and len(positional) > 1 else (positional[0] if positional else None)
    function = field(call, "function")
    receiver_node = field(function, "object") if function is not None and function.type == "attribute" else None
    path_text = py.path_text(written) + " " + (py.path_text(receiver_node) if receiver_node is not None else "")
    context = instantiation_context(py, call)
    fn_text = node_text(fn) if fn is not None else ""
    inner = field(call, "function")
    facts: dict[str, Any] = {
        # `lru_cache(maxsize=n)(func)`: a decorator applied by hand, inside a wrapper or at module level.
        "applied_decorator": node_text(field(inner, "function")) if inner is not None and inner.type == "call"
        and py.caches.is_lru(inner) else "",
        "callee": callee,
        "callee_name": callee.rsplit(".", 1)[-1],
        "callee_module": py.imports.get(callee.split(".")[0], ""),
        "receiver": receiver,
        "method": method,
        "class_name": class_name,
        "symbol": f"{class_name}.{method}" if class_name and method else (method or callee),
        "words": split_words(method) | split_words(node_text(target) or node_text(coroutine)) | (split_words(class_name) if class_name else set()),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "daemon": node_text(keywords.get("daemon")) == "True",
        "target_loops": _loops(target_fn),
        "coroutine_loops": _loops(coroutine_fn) or _parks(coroutine_fn),
        "handle_kept": _handle_kept(call, fn_text),
        "in_startup": context in ("startup", "module") or "lifespan" in " ".join(py.decorators(fn) if fn is not None else []),
        "in_handler": context == "handler",
        "joined": any(callee.endswith(".join") and not named_children(field(c, "arguments"))
                      for callee, c in _calls_in(fn)),
        "awaited": bool(re.search(r"await\s+(asyncio\.)?(gather|wait|wait_for)\(|await\s+\w+\s*$", fn_text, re.M)),
        "write_mode": bool(_MODE.match(raw_mode)) and (bool(re.search(r"[wax]", raw_mode)) and not raw_mode.startswith("r")
                                                      or "+" in raw_mode),
        "mode": mode,
        "first_arg": first_text[:200],
        "positional_count": len(positional),
        "receiver_path": _looks_like_path(py, receiver, fn),
        "memory_db": ":memory:" in first_text,
        "sqlite_url": first_text.strip("'\"f").startswith("sqlite:"),
        "target_path": path_text,
        # The path says what a file is for; failing that, the class and function that write it.
        "path_purpose": purpose_of_path(path_text) if purpose_of_path(path_text) != "other"
        else purpose_of_path(f"{class_name or ''} {method}"),
        "writes_in_same_function": bool(re.search(
            r"open\([^)]*['\"][wax]b?\+?['\"]|\.write_(text|bytes)\(|\.save\(|shutil\.(copy|move)", fn_text)),
        "deleted_in_same_function": _removes_files(fn),
        "callee_is_project": _project_callee(py, callee),
        "default_if_missing": _default_if_missing(py, call, fn),
        # (An atomic write renames its temp file into place: that file is kept.)
        "scratch_path": bool(_SCRATCH.search(path_text)) and "gettempdir" not in path_text
        and not re.search(r"delete\s*=\s*False", path_text) and not _renames(fn),
        "first_arg_path": bool(positional) and bool(_PATHISH.search(py.path_text(positional[0]))),
        "in_cli": _in_cli(py, call),
        "persistent_temp": node_text(keywords.get("delete")) == "False",
        "detached": _detached(call, fn),
        "owner_kind": "class" if cls is not None else "module",
        "clients": py.clients_in(cls) if cls is not None else py.clients_in(py.root),
        "lifetime_local": "unknown" if cls is not None else "process",
    }
    return facts, []


# A path held by a temp-named variable or attribute (`temp_path`, `self.temp`, `tmp_dir`): a scratch location its
# owner removes (a TemporaryDirectory, a request-scoped temp context), unlike the system temp dir itself.
_SCRATCH = re.compile(r"(?<![/\w])(self\.)?_*(temp|tmp)[a-z_]*\b(?!\s*\()", re.I)
_COPIES = frozenset({"copy", "copyfile", "copy2", "copytree", "move", "copyfileobj"})
# Calls that remove files, or move a file into place, by callee (`os.remove`) or method name (`.unlink()`).
_REMOVERS = frozenset({"os.remove", "os.unlink", "shutil.rmtree"})
_RENAMERS = frozenset({"os.replace", "os.rename", "shutil.move"})
_TEMP_CONTEXTS = frozenset({"TemporaryDirectory", "NamedTemporaryFile"})
_MODE = re.compile(r"^[rwxabtU+]{1,4}(:\w*)?$")  # a file mode literal: "wb", "a+", tarfile's "w:gz"
_MISSING_CHECK = re.compile(r"^\s*not\b.*\b(exists|isfile|is_file|isdir|is_dir)\(", re.S)
_SCAFFOLD_FN = re.compile(r"^(init|ensure|bootstrap|scaffold|create_default|install_default|setup|prepare)\w*$")


def _project_callee(py: PyFile, callee: str) -> bool:
    """The called name is the project's own: a class or function of this file, or imported relatively or from
    the file's own top-level package."""
    head = callee.split(".")[0]
    if head in py.functions_by_name or any(py.class_name(c) == head for c in py.classes()):
        return True
    module = py.imports.get(head, "")
    top = py.parsed.rel.split("/")
    return module.startswith(".") or (module != "" and module.split(".")[0] in top[:-1])


def _default_if_missing(py: PyFile, call: SyntaxNode, fn: SyntaxNode | None) -> bool:
    """Scaffolding: the write only happens when the file is missing (`if not path.exists():`), in start-up code
    (a hook, module level, code handed the app, or an init_/ensure_/bootstrap function): a default file."""
    guarded = any(node.type == "if_statement" and _MISSING_CHECK.search(node_text(field(node, "condition")))
                  for node in ancestors(call) if fn is None or fn in ancestors(node))
    if not guarded:
        return False
    name = node_text(field(fn, "name")) if fn is not None and fn.type == "function_definition" else ""
    return instantiation_context(py, call) in ("startup", "module") or bool(_SCAFFOLD_FN.match(name))


_CLI_FOLDERS = frozenset({"cli", "scripts", "commands", "management", "alembic", "bin"})
_CLI_DECORATOR = re.compile(r"(^|\.)(command|group)\b|^click\.|^typer\.|manager\.option")


def _in_cli(py: PyFile, call: SyntaxNode) -> bool:
    """Command-line code, not the service's runtime: a file under cli/, scripts/, management/commands/,
    migrations/..., or a function registered as a click/typer/Flask CLI command."""
    if _CLI_FOLDERS & set(py.parsed.rel.split("/")[:-1]):
        return True
    return any(_CLI_DECORATOR.search(d) for node in ancestors(call) if node.type == "function_definition"
               for d in py.decorators(node))


def _detached(call: SyntaxNode, fn: SyntaxNode | None) -> bool:
    """A subprocess started and left running: its handle is neither waited for nor used to communicate."""
    parent = parent_of(call)
    if parent is not None and parent.type == "assignment":
        handle = node_text(field(parent, "left"))
        waits = {f"{handle}.{verb}" for verb in ("wait", "communicate", "poll", "kill", "terminate")}
        return not any(callee in waits for callee, _ in _calls_in(fn))
    return parent is not None and parent.type == "expression_statement"


def _calls_in(fn: SyntaxNode | None) -> list[tuple[str, SyntaxNode]]:
    """(callee text, call) for the calls in a function (the file's module code when `fn` is None: no calls)."""
    return [(node_text(field(c, "function")), c) for c in descendants(fn, "call")] if fn is not None else []


def _removes_files(fn: SyntaxNode | None) -> bool:
    """The function removes files (`os.remove`, `shutil.rmtree`, `path.unlink()`) or uses a temporary file or
    directory that is removed for it; read from its calls and names, not from its comments or strings."""
    if fn is None:
        return False
    if any(callee in _REMOVERS or callee.endswith(".unlink") for callee, _ in _calls_in(fn)):
        return True
    return any(node_text(n) in _TEMP_CONTEXTS for n in descendants(fn, "identifier"))


def _renames(fn: SyntaxNode | None) -> bool:
    """The function moves a file into place (`os.replace`, `path.rename(...)`): an atomic write keeps its file."""
    return any(callee in _RENAMERS or callee.endswith(".rename") for callee, _ in _calls_in(fn))


_PATHISH = re.compile(r"Path\(|pathlib|\s/\s|path|file|dir|folder|dest|target|output|root|location", re.I)


def _looks_like_path(py: PyFile, receiver: str, fn: SyntaxNode | None) -> bool:
    """Is the receiver of `.write_text()` a filesystem path rather than, say, a help formatter?"""
    if not receiver:
        return False
    if _PATHISH.search(receiver):
        return True
    scopes = [fn] if fn is not None else []
    for scope in [*scopes, py.root]:
        for node in descendants(scope, "assignment"):
            if node_text(field(node, "left")) == receiver:
                if _PATHISH.search(node_text(field(node, "right"))):
                    return True
    return False
