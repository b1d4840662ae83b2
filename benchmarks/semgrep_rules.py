"""The floor's 10 query patterns per language (../shared/bench/queries/*.scm) as Semgrep rules.

run.py writes them to one config file in its work folder and runs `semgrep scan` on the very files the floor
reads. Rule ids are the floor's capture names without `r_`, with hyphens (`r_module_let` is `module-let`).
TypeScript rules also list javascript, since the floor parses a corpus's .js files with the TypeScript grammar.

Semgrep matches on its own generic syntax tree, not tree-sitter's, so some queries cannot be said exactly.
Where the two differ (tests/test_semgrep_rules.py checks, with Semgrep installed, that they report the same
lines on our fixture tests/data/bench-rules, which holds none of these cases):

- "At module level" (the floor's `(program ...)` / `(module ...)` parent) is said as "not inside" a function,
  method, class, or an `if`/`for`/`while`/`do`/`try`/`with`/`switch`/`match` statement. TypeScript
  declarations in a bare `{ }` block, a labelled block or a `case` of a `switch` still match: Semgrep's
  TypeScript patterns cannot name such a block.
- TypeScript: Semgrep sees through `as const` (`const X = {...} as const` matches; the floor's value is an
  `as_expression`); other `as T` casts are excluded from `module-state*` but not from the class-field rules.
  A class field's match is its name; the floor's starts at the field's decorator when it has one.
- Several names in one statement (`const a = [], b = {}`, `global a, b`) are several Semgrep matches on one
  line, one or more floor matches.
- Python `x = y = []` (a chained assignment) and `a, b = [], []` match the Semgrep rules, not the floor's.
  Comprehensions match with one `for` and at most one `if`.
- Python `open-write` looks at the second positional argument only (the mode); the floor at any string
  argument after the first.
- Semgrep gives up on a file after 5 s per rule (its default `--timeout`); run.py prints how many it left out.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def _names(*names: str) -> str:
    return "^(" + "|".join(names) + ")$"


def _either(*patterns: str) -> dict:
    return {"pattern-either": [{"pattern": p} for p in patterns]}


def _regex(metavariable: str, regex: str) -> dict:
    return {"metavariable-regex": {"metavariable": metavariable, "regex": regex}}


def _not_inside(*patterns: str) -> list[dict]:
    return [{"pattern-not-inside": p} for p in patterns]


def _called(regex: str) -> list[dict]:
    """A call of a plain name or of a member (`x.name(...)`) whose name matches `regex`."""
    return [_either("$F(...)", "$O.$F(...)"), _regex("$F", regex)]


# Statements that put a TypeScript declaration below the top level of its file.
_TS_NESTED = _not_inside(
    "function $_NEST_F(...) { ... }", "function (...) { ... }", "(...) => { ... }", "class $_NEST_C { ... }",
    "{ $_NEST_M(...) { ... } }", "if ($_NEST_T) { ... }", "if ($_NEST_T) { ... } else { ... }", "for (...) { ... }",
    "while ($_NEST_T) { ... }", "do { ... } while ($_NEST_T)", "try { ... } catch ($_NEST_E) { ... }",
    "try { ... } finally { ... }", "switch ($_NEST_S) { ... }")
_TS_EXPORTED = ("export const $X = $V;", "export let $X = $V;", "export let $X;")
_TS_STATE_VALUES = ("[...]", "{...}", "new $C(...)")


def _ts_declarations(*keywords: str, export: str = "") -> list[dict]:
    """`const`/`let` declarations whose value is an array, an object or `new X(...)`, not cast with `as T`."""
    return [_either(*(f"{export}{k} $X = {v};" for k in keywords for v in _TS_STATE_VALUES)),
            *({"pattern-not": f"{export}{k} $X = $V as $T;"} for k in keywords)]


def _ts_field(*values: str) -> list[dict]:
    """A class field whose value is one of `values` (the match is the field's name)."""
    return [_either(*(f"class $C {{\n  ...\n  $N = {v};\n  ...\n}}" for v in values)), {"focus-metavariable": "$N"}]


TYPESCRIPT: dict[str, list[dict]] = {
    "new-collection": [{"pattern": "new $C(...)"},
                       _regex("$C", _names("Map", "Set", "WeakMap", "WeakSet", "LRUCache", "LRU"))],
    "class-field-literal": _ts_field("[...]", "{...}"),
    "class-field-new": _ts_field("new $X(...)"),
    "timer": _called(_names("setInterval", "setTimeout", "setImmediate")),
    "static-instance": [_either("class $C {\n  ...\n  static $N;\n  ...\n}",
                                "class $C {\n  ...\n  static $N = $V;\n  ...\n}"),
                        {"focus-metavariable": "$N"}, _regex("$N", "^_?[iI]nstance$")],
    "file-write": _called(_names("writeFile", "writeFileSync", "appendFile", "appendFileSync",
                                 "createWriteStream")),
    "module-state": [*_ts_declarations("const", "let"), *_TS_NESTED, *_not_inside(*_TS_EXPORTED)],
    "module-state-exported": [*_ts_declarations("const", "let", export="export "), *_TS_NESTED],
    "global-write": [_either("global.$P = $V", "globalThis.$P = $V")],
    "module-let": [_either("let $X = $V;", "let $X;"), *_TS_NESTED, *_not_inside(*_TS_EXPORTED)],
}

# Blocks that put a Python statement below the top level of its module.
_PY_NESTED = _not_inside(
    "def $_NEST_F(...):\n  ...", "async def $_NEST_F(...):\n  ...", "class $_NEST_C:\n  ...", "class $_NEST_C(...):\n  ...",
    "if $_NEST_T:\n  ...", "for $_NEST_I in $_NEST_S:\n  ...", "async for $_NEST_I in $_NEST_S:\n  ...", "while $_NEST_T:\n  ...",
    "try:\n  ...\nexcept:\n  ...", "try:\n  ...\nexcept $_NEST_E:\n  ...", "try:\n  ...\nfinally:\n  ...",
    "with $_NEST_W:\n  ...", "async with $_NEST_W:\n  ...", "match $_NEST_S:\n  case $_NEST_P:\n    ...")
_PY_LITERALS = ("[...]", "{...}")
_PY_COMPREHENSIONS = ("[$E for $I in $S]", "[$E for $I in $S if $Q]", "{$E for $I in $S}",
                      "{$E for $I in $S if $Q}", "{$K: $E for $I in $S}", "{$K: $E for $I in $S if $Q}")
_PY_CLASS_BODY = [{"pattern-inside": "class $_NEST_C:\n  ...\n"}, {"pattern-inside": "class $_NEST_C(...):\n  ...\n"}]


def _py_in_class_body(*patterns: str) -> list[dict]:
    """Statements directly in a class body (not in its methods)."""
    return [_either(*patterns), {"pattern-either": _PY_CLASS_BODY},
            *_not_inside("def $_NEST_F(...):\n  ...", "async def $_NEST_F(...):\n  ...")]


PYTHON: dict[str, list[dict]] = {
    "module-literal": [_either(*(f"$X = {v}" for v in _PY_LITERALS + _PY_COMPREHENSIONS)), *_PY_NESTED],
    "module-call": [_either("$X = $F(...)", "$X = $O.$F(...)"), *_PY_NESTED,
                    _regex("$F", _names("dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter",
                                        "WeakValueDictionary", "WeakKeyDictionary", "LRUCache", "TTLCache",
                                        "local"))],
    "memo-decorator": [_either("@$D\ndef $F(...):\n  ...", "@$D(...)\ndef $F(...):\n  ...",
                               "@$O.$D\ndef $F(...):\n  ...", "@$O.$D(...)\ndef $F(...):\n  ...",
                               "@$D\nclass $C:\n  ...", "@$D(...)\nclass $C:\n  ...",
                               "@$O.$D\nclass $C:\n  ...", "@$O.$D(...)\nclass $C:\n  ..."),
                       {"focus-metavariable": "$D"},
                       _regex("$D", _names("lru_cache", "cache", "memoize", "ttl_cache", "cached"))],
    "global-stmt": [{"pattern": "global $X"}],
    "open-write": [{"pattern": "open($P, $M, ...)"}, _regex("$M", r"^[A-Za-z]*['\"][\s\S]*[wax+]")],
    "class-attr-literal": [*_py_in_class_body(*(f"$X = {v}" for v in _PY_LITERALS)),
                           *({"pattern-not": f"$X = {v}"} for v in _PY_COMPREHENSIONS)],
    "class-singleton": [*_py_in_class_body("$N = $V", "$N: $T = $V", "$N: $T"), _regex("$N", "^_?instance$")],
    "thread-timer": _called(_names("Timer", "Thread")),
    "path-write": [_either("$O.write_text(...)", "$O.write_bytes(...)")],
    "module-none": [_either("$X = None", "$X: $T = None"), _regex("$X", r"^\w+$"), *_PY_NESTED],
}

_TABLES = {"ts": (TYPESCRIPT, ["typescript", "javascript"]), "py": (PYTHON, ["python"])}


def rules(language: str) -> list[dict]:
    """The Semgrep rules of "ts" or "py", as the `rules:` list of a config file."""
    table, languages = _TABLES[language]
    return [{"id": rule_id, "languages": languages, "severity": "INFO", "message": rule_id, "patterns": patterns}
            for rule_id, patterns in table.items()]


def write_config(path: Path, language: str) -> Path:
    """Write the rules of "ts" or "py" to the YAML file `path`; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"rules": rules(language)}, sort_keys=False), encoding="utf-8")
    return path
