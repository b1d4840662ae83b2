"""Facts about Python calls: threads, tasks, scheduled jobs and writes to disk."""

from __future__ import annotations

import re
from typing import Any

from ..model import WriteSite
from ..syntax import (
    SyntaxNode,
    ancestors,
    children_of,
    descendants,
    enclosing,
    field,
    line_of,
    named_children,
    node_text,
    nodes_of_types,
    parent_of,
)
from ..vocabulary import current as vocabulary
from .common import purpose_of_path, split_words
from .py_file import (
    FUNCTIONS,
    PyFile,
    instantiation_context,
    owner_of,
)


def _loops(node: SyntaxNode | None) -> bool:
    return node is not None and bool(descendants(node, "while_statement"))


_PARKING_NAMES = ("serve_forever", "run_forever")
_AWAIT = frozenset({"await"})
_COMMENT = "comment"


def _awaited_values(node: SyntaxNode | None) -> list[SyntaxNode]:
    """The expressions awaited in a function (`x` of each `await x`), read from the tree."""
    found = []
    for awaiting in nodes_of_types(node, "python", _AWAIT):
        value = next((c for c in named_children(awaiting) if c.type != _COMMENT), None)
        if value is not None:
            found.append(value)
    return found


def _dotted_name(node: SyntaxNode | None) -> bool:
    """A plain name or a chain of attributes of one (`stop`, `self._stop`): no call or subscript in it."""
    while node is not None and node.type == "attribute":
        node = field(node, "object")
    return node is not None and node.type == "identifier"


def _parks(node: SyntaxNode | None) -> bool:
    """A coroutine that stays alive until told to stop: it awaits an event (`await stop.wait()`) or serves forever.

    Read from its awaits and names, so a comment or a string that says `serve_forever` does not count."""
    if node is None:
        return False
    for value in _awaited_values(node):
        function = field(value, "function") if value.type == "call" else None
        if function is not None and function.type == "attribute" and node_text(field(function, "attribute")) == "wait" \
                and _dotted_name(field(function, "object")) and not named_children(field(value, "arguments")):
            return True
    return any(part in node_text(n) for n in descendants(node, "identifier") for part in _PARKING_NAMES)


# Awaiting all of a group of tasks, or one task by name, within the function that started it.
_GATHERERS = frozenset({"gather", "wait", "wait_for", "asyncio.gather", "asyncio.wait", "asyncio.wait_for"})


def _awaits_tasks(fn: SyntaxNode | None) -> bool:
    """The function awaits what it started: `await asyncio.gather(...)`/`wait(...)`/`wait_for(...)`, or a task
    by name (`await task`)."""
    return any(value.type == "identifier"
               or value.type == "call" and node_text(field(value, "function")) in _GATHERERS
               for value in _awaited_values(fn))


# The forms that give a value with `=`: assignments (and `+=`...), keyword arguments, parameter defaults, `:=`.
_ASSIGNING = frozenset({"assignment", "augmented_assignment", "keyword_argument", "default_parameter",
                        "typed_default_parameter", "named_expression"})
_KEEPING_METHODS = frozenset({"append", "add", "put", "put_nowait"})


def _assigned_values(fn: SyntaxNode) -> list[SyntaxNode]:
    """The value of every `=` form in the function (`<<=` and `>>=` are shifts, not handing a value on)."""
    values = []
    for node in nodes_of_types(fn, "python", _ASSIGNING):
        if node.type == "augmented_assignment" and node_text(field(node, "operator")) in ("<<=", ">>="):
            continue
        value = field(node, "right") if node.type in ("assignment", "augmented_assignment") else field(node, "value")
        if value is not None:
            values.append(value)
    return values


def _first_token(node: SyntaxNode) -> SyntaxNode:
    """The leftmost leaf of an expression (`task` of `task if done else None`, `[` of `[task]`)."""
    while children_of(node):
        node = children_of(node)[0]
    return node


def _used_as_value(name: str, leaf: SyntaxNode) -> bool:
    """Is `leaf` the name itself, not the start of `name.x`, `name(...)` or `name[...]`?"""
    if leaf.type != "identifier" or node_text(leaf) != name:
        return False
    parent = parent_of(leaf)
    return parent is None or not any(
        parent.type == kind and field(parent, part) == leaf
        for kind, part in (("attribute", "object"), ("call", "function"), ("subscript", "value")))


def _handle_kept(call: SyntaxNode, fn: SyntaxNode | None) -> bool:
    """The task's handle is kept: stored on an object or in a container, passed on, or cancelled later (so it
    runs until shutdown rather than finishing within the function). Read from the function's calls and
    assignments: a comment or a string that names the handle does not count."""
    parent = parent_of(call)
    if parent is None or parent.type != "assignment" or field(parent, "right") != call:
        return False
    left = field(parent, "left")
    handle = node_text(left)
    if "." in handle or "[" in handle:
        return True
    if fn is None or left is None or left.type != "identifier":
        return False
    for value in _assigned_values(fn):
        first = _first_token(value)
        if _used_as_value(handle, first):
            return True  # `other = task`, `f(task=task)`: handed on
        if first.type in ("[", "(") and any(
                node_text(n) == handle and line_of(n) == line_of(value)
                for n in descendants(value, "identifier")):
            return True  # `self.tasks = [task, ...]`, `x = (task,)`
    for other in descendants(fn, "call"):
        function = field(other, "function")
        if function is None or function.type != "attribute":
            continue
        method, receiver = node_text(field(function, "attribute")), field(function, "object")
        receiver_name = node_text(field(receiver, "attribute")) if receiver is not None and receiver.type == "attribute" \
            else node_text(receiver)
        if method == "cancel" and receiver_name == handle:
            return True  # cancelled later: it runs until then
        arguments = [a for a in named_children(field(other, "arguments")) if a.type != _COMMENT]
        if method in _KEEPING_METHODS and len(arguments) == 1 and node_text(arguments[0]) == handle \
                and arguments[0].type == "identifier" \
                and not any(c.type == "," for c in children_of(field(other, "arguments"))):
            return True  # `self.tasks.append(task)`
    return False


def _function_named(py: PyFile, name: str) -> SyntaxNode | None:
    """The first function of that name in the file (a thread target, a task's coroutine)."""
    return py.functions_by_name.get(name.rsplit(".", 1)[-1])


def _arguments(call: SyntaxNode) -> tuple[list[SyntaxNode], dict[str, SyntaxNode | None]]:
    """The call's positional arguments, and its keyword arguments by name."""
    args = named_children(field(call, "arguments"))
    return ([a for a in args if a.type != "keyword_argument"],
            {node_text(field(a, "name")): field(a, "value") for a in args if a.type == "keyword_argument"})


def call_shape_facts(py: PyFile, call: SyntaxNode) -> dict[str, Any]:
    """What a call says by itself: its callee, receiver, mode and arguments. The cheapest facts of a call
    candidate, asked before the rest (the code around it, its path and what it is for): most candidates,
    a model's `.save()` or a file opened to read, stop here."""
    callee = node_text(field(call, "function"))
    positional, keywords = _arguments(call)
    function = field(call, "function")
    receiver = node_text(field(function, "object")) if function is not None and function.type == "attribute" else ""
    mode_node = _mode_argument(py, call)
    mode = node_text(mode_node).strip("'\"rbRBfu") if mode_node is not None else ""
    first_text = node_text(positional[0]) if positional else (node_text(call) if call.type == "string" else "")
    return {
        "callee": callee,
        "callee_name": callee.rsplit(".", 1)[-1],
        "callee_module": py.imports.get(callee.split(".")[0], ""),
        "receiver": receiver,
        "daemon": node_text(keywords.get("daemon")) == "True",
        "write_mode": _writes_with(_string_value(mode_node) or ""),
        "mode": mode,
        "first_arg": first_text[:200],
        "positional_count": len(positional),
        "memory_db": ":memory:" in first_text,
        "sqlite_url": first_text.strip("'\"f").startswith("sqlite:"),
        "first_arg_path": bool(positional) and bool(vocabulary().matcher("paths.path_code").search(py.path_text(positional[0]))),
        "persistent_temp": node_text(keywords.get("delete")) == "False",
    }


def call_facts(py: PyFile, call: SyntaxNode,
               shape: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[WriteSite]]:
    """Facts for a call that starts a thread/task/job or writes to disk (`shape`: what call_shape_facts
    gave, when the caller has it)."""
    shape = shape or call_shape_facts(py, call)
    callee, receiver = shape["callee"], shape["receiver"]
    positional, keywords = _arguments(call)
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
    # A copy or move writes its second argument, the destination.
    copies = vocabulary().names("libraries.python.file_copies")
    written = positional[1] if shape["callee_name"] in copies and len(positional) > 1 else (positional[0] if positional else None)
    function = field(call, "function")
    receiver_node = field(function, "object") if function is not None and function.type == "attribute" else None
    path_text = py.path_text(written) + " " + (py.path_text(receiver_node) if receiver_node is not None else "")
    context = instantiation_context(py, call)
    words = vocabulary()
    inner = field(call, "function")
    facts: dict[str, Any] = {
        **shape,
        # `lru_cache(maxsize=n)(func)`: a decorator applied by hand, inside a wrapper or at module level.
        "applied_decorator": node_text(field(inner, "function")) if inner is not None and inner.type == "call"
        and py.caches.is_lru(inner) else "",
        "method": method,
        "class_name": class_name,
        "symbol": f"{class_name}.{method}" if class_name and method else (method or callee),
        "words": split_words(method) | split_words(node_text(target) or node_text(coroutine)) | (split_words(class_name) if class_name else set()),
        "class_words": frozenset(split_words(class_name)) if class_name else frozenset(),
        "target_loops": _loops(target_fn),
        "coroutine_loops": _loops(coroutine_fn) or _parks(coroutine_fn),
        "handle_kept": _handle_kept(call, fn),
        "in_startup": context in ("startup", "module") or "lifespan" in " ".join(py.decorators(fn) if fn is not None else []),
        "in_handler": context == "handler",
        "joined": any(callee.endswith(".join") and not named_children(field(c, "arguments"))
                      for callee, c in _calls_in(fn)),
        "awaited": _awaits_tasks(fn),
        "receiver_path": _looks_like_path(py, receiver, fn),
        "target_path": path_text,
        # The path says what a file is for; failing that, the class and function that write it.
        "path_purpose": purpose_of_path(path_text) if purpose_of_path(path_text) != "other"
        else purpose_of_path(f"{class_name or ''} {method}"),
        "writes_in_same_function": _writes_files(py, fn),
        "deleted_in_same_function": _removes_files(fn),
        "callee_is_project": _project_callee(py, callee),
        "default_if_missing": _default_if_missing(py, call, fn),
        # (An atomic write renames its temp file into place: that file is kept.)
        "scratch_path": bool(words.matcher("paths.scratch").search(path_text)) and "gettempdir" not in path_text
        and not re.search(r"delete\s*=\s*False", path_text) and not _renames(fn),
        "in_cli": _in_cli(py, call),
        "detached": _detached(call, fn),
        "owner_kind": "class" if cls is not None else "module",
        "clients": py.clients_in(cls) if cls is not None else py.clients_in(py.root),
        "lifetime_local": "unknown" if cls is not None else "process",
    }
    return facts, []


_MODE = re.compile(r"^[rwxabtU+]{1,4}(:\w*)?$")  # a file mode: "wb", "a+", tarfile's "w:gz"


def _writes_with(mode: str) -> bool:
    """Is `mode` a file mode that writes (`"w"`, `"ab"`, `"x"`, `"r+"`, tarfile's `"w:gz"`)?"""
    return bool(_MODE.match(mode)) and (bool(re.search(r"[wax]", mode)) and not mode.startswith("r") or "+" in mode)


def _mode_argument(py: PyFile, call: SyntaxNode) -> SyntaxNode | None:
    """The mode argument of an opening call: `mode=...`; else the first positional argument of a path's
    `.open("wb")` (a method of a value, not of an imported module); else the second (`open(path, "wb")`,
    `tarfile.open(path, "w:gz")`, `ZipFile(path, "w")`)."""
    function = field(call, "function")
    arguments = named_children(field(call, "arguments"))
    for argument in arguments:
        if argument.type == "keyword_argument" and node_text(field(argument, "name")) == "mode":
            return field(argument, "value")
    positional = [a for a in arguments if a.type not in ("keyword_argument", _COMMENT)]
    receiver = field(function, "object") if function is not None and function.type == "attribute" else None
    path_open = receiver is not None and node_text(function).endswith(".open") \
        and node_text(receiver).split(".")[0] not in py.imports
    if path_open:
        return positional[0] if positional else None
    return positional[1] if len(positional) > 1 else None


def _string_value(node: SyntaxNode | None) -> str | None:
    """The value of a plain string literal (`"wb"` -> `wb`), read from its content nodes; None for anything
    else (a name, a call, an f-string with a `{...}` in it, strings joined by juxtaposition)."""
    if node is None or node.type != "string":
        return None
    parts = named_children(node)
    if any(part.type == "interpolation" for part in parts):
        return None
    return "".join(node_text(part) for part in parts if part.type == "string_content")


def _writes_files(py: PyFile, fn: SyntaxNode | None) -> bool:
    """The function writes files itself: an opening call whose mode argument is a literal write mode
    (`open(path, "w")`, `path.open(mode="ab")`, `tarfile.open(out, "w:gz")`), a method that writes a file's
    contents (`.write_text()`, `.save()`), or a call that copies or moves a file into place (`shutil.copy`).
    Read from its calls and the mode argument's string node, so a comment, a docstring or another string
    argument that shows one does not count. The names are the vocabulary's `libraries.python.file_writers`
    and `file_writer_methods`."""
    words = vocabulary()
    writers = words.names("libraries.python.file_writers")
    writer_methods = words.names("libraries.python.file_writer_methods")
    for callee, call in _calls_in(fn):
        function = field(call, "function")
        if function is not None and function.type == "attribute" \
                and node_text(field(function, "attribute")) in writer_methods:
            return True
        if callee in writers:
            return True
        if callee.endswith("open"):
            mode = _string_value(_mode_argument(py, call))
            if mode is not None and _writes_with(mode):
                return True
    return False


_MISSING_CHECKS = frozenset({"exists", "isfile", "is_file", "isdir", "is_dir"})


def _checks_missing(condition: SyntaxNode | None) -> bool:
    """An `if` condition that starts with `not` and asks whether a file exists (`not path.exists()`,
    `not os.path.isfile(p) and ...`): read from its operators and calls, not from its text."""
    if condition is None:
        return False
    node: SyntaxNode | None = condition
    while node is not None and node.type != "not_operator":
        children = children_of(node)
        node = children[0] if children else None
    if node is None:
        return False
    for call in descendants(condition, "call"):
        function = field(call, "function")
        name = node_text(field(function, "attribute")) if function is not None and function.type == "attribute" \
            else node_text(function)
        if name in _MISSING_CHECKS:
            return True
    return False


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
    guarded = any(node.type == "if_statement" and _checks_missing(field(node, "condition"))
                  for node in ancestors(call) if fn is None or fn in ancestors(node))
    if not guarded:
        return False
    name = node_text(field(fn, "name")) if fn is not None and fn.type == "function_definition" else ""
    scaffolding = vocabulary().matcher("contexts.python.scaffold_functions")
    return instantiation_context(py, call) in ("startup", "module") or bool(scaffolding.match(name))


def _in_cli(py: PyFile, call: SyntaxNode) -> bool:
    """Command-line code, not the service's runtime: a file under cli/, scripts/, management/commands/,
    migrations/..., or a function registered as a click/typer/Flask CLI command."""
    words = vocabulary()
    if words.names("contexts.python.cli_folders") & set(py.parsed.rel.split("/")[:-1]):
        return True
    command = words.matcher("contexts.python.cli_decorators")
    return any(command.search(d) for node in ancestors(call) if node.type == "function_definition"
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
    words = vocabulary()
    if _calls_any(fn, words.names("libraries.python.file_removers"),
                  words.names("libraries.python.file_remover_methods")):
        return True
    temp_contexts = words.names("libraries.python.temp_file_contexts")
    return any(node_text(n) in temp_contexts for n in descendants(fn, "identifier"))


def _renames(fn: SyntaxNode | None) -> bool:
    """The function moves a file into place (`os.replace`, `path.rename(...)`): an atomic write keeps its file."""
    words = vocabulary()
    return _calls_any(fn, words.names("libraries.python.file_renamers"),
                      words.names("libraries.python.file_renamer_methods"))


def _calls_any(fn: SyntaxNode | None, callees: frozenset[str], methods: frozenset[str]) -> bool:
    """The function calls one of `callees` (`os.remove`), or one of `methods` on some object (`p.unlink()`);
    the names are the vocabulary's (`libraries.python.file_*`)."""
    return any(callee in callees or ("." in callee and callee.rsplit(".", 1)[-1] in methods)
               for callee, _ in _calls_in(fn))




def _looks_like_path(py: PyFile, receiver: str, fn: SyntaxNode | None) -> bool:
    """Is the receiver of `.write_text()` a filesystem path rather than, say, a help formatter? Its code, or
    the code assigned to it, has one of `paths.path_code`."""
    if not receiver:
        return False
    pathish = vocabulary().matcher("paths.path_code")
    if pathish.search(receiver):
        return True
    scopes = [fn] if fn is not None else []
    for scope in [*scopes, py.root]:
        for node in descendants(scope, "assignment"):
            if node_text(field(node, "left")) == receiver:
                if pathish.search(py.code_text(field(node, "right"))):
                    return True
    return False
