"""The floor's 10 query patterns per language (../shared/bench/queries/*.scm) as ast-grep rules.

run.py writes them, with an sgconfig.yml, into its work folder. TypeScript rules are written once for
the TypeScript grammar (.ts) and once for TSX (.tsx), as the floor parses each with its own grammar.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def _names(*names: str) -> str:
    return "^(" + "|".join(names) + ")$"


def _callee(regex: str) -> dict:
    return {"kind": "call_expression", "has": {"field": "function", "any": [
        {"kind": "identifier", "regex": regex},
        {"kind": "member_expression", "has": {"field": "property", "regex": regex}}]}}


_DECLARES_STATE = {"has": {"kind": "variable_declarator", "has": {"field": "value", "any": [
    {"kind": "array"}, {"kind": "object"}, {"kind": "new_expression"}]}}}

TYPESCRIPT = {
    "new-collection": {"kind": "new_expression", "has": {
        "field": "constructor", "kind": "identifier", "regex": _names("Map", "Set", "WeakMap", "WeakSet",
                                                                       "LRUCache", "LRU")}},
    "class-field-literal": {"kind": "public_field_definition", "has": {
        "field": "value", "any": [{"kind": "array"}, {"kind": "object"}]}},
    "class-field-new": {"kind": "public_field_definition", "has": {"field": "value", "kind": "new_expression"}},
    "timer": _callee(_names("setInterval", "setTimeout", "setImmediate")),
    "static-instance": {"all": [{"kind": "public_field_definition"}, {"regex": r"\bstatic\b"},
                                {"has": {"field": "name", "regex": "^_?[iI]nstance$"}}]},
    "file-write": _callee(_names("writeFile", "writeFileSync", "appendFile", "appendFileSync",
                                 "createWriteStream")),
    "module-state": {"kind": "lexical_declaration", "inside": {"kind": "program"}, **_DECLARES_STATE},
    "module-state-exported": {"kind": "lexical_declaration",
                              "inside": {"kind": "export_statement", "inside": {"kind": "program"}},
                              **_DECLARES_STATE},
    "global-write": {"kind": "assignment_expression", "has": {"field": "left", "kind": "member_expression", "has": {
        "field": "object", "kind": "identifier", "regex": _names("global", "globalThis")}}},
    "module-let": {"kind": "lexical_declaration", "inside": {"kind": "program"}, "regex": r"^let\b"},
}

_MODULE_ASSIGNMENT = {"kind": "expression_statement", "inside": {"kind": "module"}}
_CLASS_BODY_STATEMENT = {"kind": "expression_statement", "inside": {"kind": "block", "inside": {
    "kind": "class_definition"}}}

PYTHON = {
    "module-literal": {**_MODULE_ASSIGNMENT, "has": {"kind": "assignment", "has": {"field": "right", "any": [
        {"kind": k} for k in ("dictionary", "list", "set", "dictionary_comprehension", "list_comprehension",
                              "set_comprehension")]}}},
    "module-call": {**_MODULE_ASSIGNMENT, "has": {"kind": "assignment", "has": {
        "field": "right", "kind": "call", "has": {"field": "function", "any": [
            {"kind": "identifier", "regex": (r := _names("dict", "list", "set", "defaultdict", "OrderedDict",
                                                         "deque", "Counter", "WeakValueDictionary",
                                                         "WeakKeyDictionary", "LRUCache", "TTLCache", "local"))},
            {"kind": "attribute", "has": {"field": "attribute", "regex": r}}]}}}},
    "memo-decorator": {"kind": "decorator", "has": {"any": [
        {"kind": "identifier", "regex": (m := _names("lru_cache", "cache", "memoize", "ttl_cache", "cached"))},
        {"kind": "attribute", "has": {"field": "attribute", "regex": m}},
        {"kind": "call", "has": {"field": "function", "any": [
            {"kind": "identifier", "regex": m}, {"kind": "attribute", "has": {"field": "attribute", "regex": m}}]}}]}},
    "global-statement": {"kind": "global_statement"},
    "open-write": {"kind": "call", "all": [
        {"has": {"field": "function", "kind": "identifier", "regex": "^open$"}},
        {"has": {"field": "arguments", "has": {"kind": "string", "nthChild": 2, "regex": "[wax+]"}}}]},
    "class-attr-literal": {**_CLASS_BODY_STATEMENT, "has": {"kind": "assignment", "has": {"field": "right", "any": [
        {"kind": "dictionary"}, {"kind": "list"}, {"kind": "set"}]}}},
    "class-singleton": {**_CLASS_BODY_STATEMENT, "has": {"kind": "assignment", "has": {
        "field": "left", "kind": "identifier", "regex": "^_?instance$"}}},
    "thread-timer": {"kind": "call", "has": {"field": "function", "any": [
        {"kind": "identifier", "regex": _names("Timer", "Thread")},
        {"kind": "attribute", "has": {"field": "attribute", "regex": _names("Timer", "Thread")}}]}},
    "path-write": {"kind": "call", "has": {"field": "function", "kind": "attribute", "has": {
        "field": "attribute", "regex": _names("write_text", "write_bytes")}}},
    "module-none": {**_MODULE_ASSIGNMENT, "has": {"kind": "assignment", "all": [
        {"has": {"field": "left", "kind": "identifier"}}, {"has": {"field": "right", "kind": "none"}}]}},
}


def write_config(folder: Path, language: str) -> Path:
    """Rule files and an sgconfig.yml for "ts" or "py" under `folder`; returns the sgconfig path."""
    rules = folder / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    grammars = {"ts": (("TypeScript", TYPESCRIPT), ("Tsx", TYPESCRIPT)), "py": (("Python", PYTHON),)}[language]
    for grammar, table in grammars:
        for rule_id, rule in table.items():
            document = {"id": f"{rule_id}-{grammar.lower()}", "language": grammar, "severity": "info",
                        "message": rule_id, "rule": rule}
            (rules / f"{rule_id}-{grammar.lower()}.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
    config = folder / "sgconfig.yml"
    config.write_text(yaml.safe_dump({"ruleDirs": ["rules"]}), encoding="utf-8")
    return config
