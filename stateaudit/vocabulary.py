"""The policy word lists the fact extractors apply, read from `rules/vocabulary/*.yaml`.

Which libraries are Redis, queue or database clients, which function names mean "runs at start-up" or
"runs per request", what a written path is for: these are judgements a team may not share, so they live
in YAML beside the rules, not in Python. Each rule folder may have a `vocabulary/` folder; the lists of
every folder are merged, so a team's folder extends the shipped lists (it never has to repeat them).

The file layout is free (any `*.yaml` in the folder may hold any section); the shipped files keep one
topic each. Every section and key is declared in SCHEMA with its shape; anything else, a wrong type or
a pattern that does not compile is a `path:line: message` error, like a bad rule file.

The fact modules read the merged lists through `current()`. The vocabulary of the rule set being used is
installed with `install()` where a file is matched and where a service is joined (a worker process
inherits it, or installs it from the rule set it is given); without one, the shipped lists apply.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

# PyYAML is imported by the functions that read or walk YAML: a rule set from the cache (cache.cached_rules)
# carries its vocabulary, and a scan that reads no YAML should not pay for importing it.
if TYPE_CHECKING:
    import yaml


class VocabularyError(ValueError):
    """A vocabulary file that cannot be used; the message starts with `path:line`."""


# -- the shapes of values -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Names:
    """A list of names. `glob`: an entry may use `*` for any further letters, digits or `_` (`setup*`)."""

    glob: bool = False
    doc: str = "a list of names"


@dataclass(frozen=True)
class Patterns:
    """A list of Python regular expressions, searched in a name or text; any one found is a match."""

    ignore_case: bool = False
    doc: str = "a list of regular expressions"


@dataclass(frozen=True)
class Groups:
    """A mapping from a group (a client kind, a path purpose) to a list of names or patterns.

    The order of the groups is kept (a team's new groups come after the shipped ones): where the first
    group that applies decides, the order is the priority."""

    of: Names | Patterns
    doc: str = "a mapping from a group name to a list"


@dataclass(frozen=True)
class Labels:
    """A mapping from a name to a label (a decorator to a client kind); a later folder may change a label."""

    values: tuple[str, ...] = ()
    doc: str = "a mapping from a name to a label"


@dataclass(frozen=True)
class Order:
    """An ordered list of fixed values that a later folder replaces as a whole (it is an order, not a set)."""

    values: tuple[str, ...]
    doc: str = "an ordered list"


Shape = Names | Patterns | Groups | Labels | Order
CLIENT_KINDS = ("redis", "queue", "database")
CONTAINER_KINDS = ("dict", "list", "set", "deque", "defaultdict", "OrderedDict", "Counter")

# section -> key -> shape, or key -> {sub-key -> shape} for per-language parts.
SCHEMA: dict[str, dict[str, Any]] = {
    "browser": {key: Names() for key in ("folders", "languages", "manifest_fields", "front_end_packages",
                                          "server_packages", "globals", "document_members")},
    "vendored": {key: Names() for key in ("folders", "python_manifests", "javascript_manifests")},
    "clients": {
        "handle_names": Patterns(ignore_case=True),
        "call_methods": Names(),
        "write_methods": Names(),
        "write_strings": Patterns(),
        "python": {
            "modules": Groups(Names()),
            "self_attributes": Groups(Patterns(ignore_case=True)),
            "libraries": Names(),
            "connection_modules": Groups(Names()),
            "connection_constructors": Groups(Names()),
        },
        "typescript": {
            "modules": Groups(Names()),
            "local_names": Groups(Patterns()),
            "decorators": Labels(CLIENT_KINDS),
            "constructed": Groups(Patterns()),
        },
    },
    "contexts": {
        "python": {
            "startup_functions": Names(glob=True),
            "startup_decorators": Patterns(),
            "app_parameters": Names(),
            "app_objects": Names(),
            "app_state_objects": Names(),
            "app_state_namespaces": Names(),
            "app_state_registries": Names(),
            "app_state_holders": Names(),
            "handler_parameters": Names(),
            "handler_decorators": Patterns(),
            "long_lived_bases": Names(),
            "factory_parameters": Names(),
            "framework_entry_points": Names(glob=True),
            "registration_functions": Patterns(),
            "scaffold_functions": Names(glob=True),
            "cli_folders": Names(),
            "cli_decorators": Patterns(),
            "singleton_attributes": Names(),
            "singleton_bases": Names(glob=True),
            "singleton_decorators": Names(glob=True),
            "plain_decorators": Names(),
        },
        "typescript": {
            "startup_functions": Names(glob=True),
            "lifecycle_functions": Names(glob=True),
            "handler_parameters": Names(),
            "handler_decorators": Names(),
            "long_lived_decorators": Names(),
            "deferring_calls": Names(),
            "registration_calls": Names(),
            "hand_out_calls": Names(),
            "request_scopes": Names(),
            "provider_keys": Names(),
            "app_state_properties": Names(),
            "app_state_objects": Names(),
            "singleton_fields": Patterns(),
            "singleton_getters": Names(),
            "singleton_instances": Names(),
        },
    },
    "libraries": {
        "python": {
            "cache_modules": Names(),
            "cache_backends": Groups(Patterns(ignore_case=True)),
            "cache_settings": Names(),
            "remote_io": Patterns(ignore_case=True),
            "file_copies": Names(),
            "file_removers": Names(),
            "file_remover_methods": Names(),
            "file_renamers": Names(),
            "file_renamer_methods": Names(),
            "temp_file_contexts": Names(),
            "file_writers": Names(),
            "file_writer_methods": Names(),
            "container_classes": Labels(CONTAINER_KINDS),
        },
        "typescript": {
            "fs_modules": Names(),
            "memory_limiters": Groups(Names()),
            "value_classes": Names(),
            "factory_calls": Patterns(),
            "collection_classes": Patterns(),
            "file_removers": Names(),
            "file_writers": Names(),
            "remote_io": Patterns(),
        },
    },
    "paths": {
        "purposes": Groups(Patterns(ignore_case=True)),
        "scratch": Patterns(ignore_case=True),
        "path_code": Patterns(ignore_case=True),
    },
    "writes": {
        "stored": Groups(Patterns()),
    },
    "categories": {
        "sources": Order(("name", "class", "type")),
        "owner_first_sources": Order(("name", "class", "type")),
        "owner_first_name_words": Names(),
        "owner_first_class_words": Names(),
        "generic": Names(),
        "type_wrappers": Names(),
    },
}


# -- the merged vocabulary ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Vocabulary:
    """Every list, merged over the rule folders: `values["clients.python.modules"]` and so on."""

    values: Mapping[str, Any] = field(default_factory=dict)
    sources: tuple[Path, ...] = ()  # the files read, in order: part of the cache's context

    def names(self, key: str) -> frozenset[str]:
        """A Names key's names, made a set once per vocabulary: fact extractors ask per candidate."""
        cache = self._derived
        found = cache.get(("names", key))
        if found is None:
            found = cache[("names", key)] = frozenset(self.values.get(key, ()))
        return found

    def groups(self, key: str) -> dict[str, tuple[str, ...]]:
        return dict(self.values.get(key, {}))

    def labels(self, key: str) -> dict[str, str]:
        return dict(self.values.get(key, {}))

    def label_of(self, key: str, name: str) -> str | None:
        """The label of one name in a Labels key, without copying the mapping: cheap for every candidate."""
        return self.values.get(key, {}).get(name)

    def order(self, key: str) -> tuple[str, ...]:
        return tuple(self.values.get(key, ()))

    def matcher(self, key: str) -> re.Pattern[str]:
        """One compiled pattern for a Names(glob) or Patterns key; cached per vocabulary."""
        cache = self._derived
        if key not in cache:
            cache[key] = _compile(_shape(key), list(self.values.get(key, ())))
        return cache[key]

    def group_matchers(self, key: str) -> list[tuple[str, re.Pattern[str]]]:
        """(group, compiled pattern) for a Groups(Patterns) key, in the groups' order."""
        cache = self._derived
        if key not in cache:
            shape = _shape(key)
            assert isinstance(shape, Groups)
            cache[key] = [(group, _compile(shape.of, list(items)))
                          for group, items in self.values.get(key, {}).items()]
        return cache[key]

    def group_of_module(self, key: str, module: str, separator: str) -> str | None:
        """The first group of a Groups(Names) key that lists `module` or a module it lies under (`redis` for
        `redis.asyncio` with the separator "."), or None. Each prefix of `module` ending before a separator is
        looked up in a table made once, not compared with every listed name."""
        table = self._derived.get(("group_of_module", key))
        if table is None:
            table = self._derived[("group_of_module", key)] = {}
            for rank, (group, listed) in enumerate(self.values.get(key, {}).items()):
                for name in listed:
                    table.setdefault(name, (rank, group))
        found = table.get(module)
        prefix_end = module.find(separator)
        while prefix_end >= 0:
            here = table.get(module[:prefix_end])
            if here is not None and (found is None or here[0] < found[0]):
                found = here
            prefix_end = module.find(separator, prefix_end + 1)
        return found[1] if found is not None else None

    def group_searched(self, key: str, text: str) -> str | None:
        """The first group of a Groups(Patterns) key whose pattern searches `text` successfully, or None;
        remembered per text, for names asked again in file after file (a class's `self.redis`)."""
        memo = self._derived.setdefault(("group_searched", key), {})
        if text not in memo:
            memo[text] = next((group for group, pattern in self.group_matchers(key) if pattern.search(text)), None)
        return memo[text]

    @cached_property
    def _derived(self) -> dict[Any, Any]:
        """What is worked out from the values (compiled patterns, sets, lookup tables), once per vocabulary;
        never pickled: a worker makes its own."""
        return {}

    def __getstate__(self) -> dict[str, Any]:  # compiled patterns are rebuilt in a worker, not pickled
        return {"values": self.values, "sources": self.sources}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        object.__setattr__(self, "values", state["values"])
        object.__setattr__(self, "sources", state["sources"])


_NEVER = re.compile(r"(?!)")


def _compile(shape: Shape, items: list[str]) -> re.Pattern[str]:
    """Names with `*` globs match a whole name; patterns are searched. No entries: matches nothing."""
    if not items:
        return _NEVER
    if isinstance(shape, Names):
        return re.compile("^(?:" + "|".join(r"\w*".join(map(re.escape, item.split("*"))) for item in items) + ")$")
    assert isinstance(shape, Patterns)
    return re.compile("|".join(f"(?:{item})" for item in items), re.I if shape.ignore_case else 0)


def _shape(key: str) -> Shape:
    node: Any = SCHEMA
    for part in key.split("."):
        node = node[part]
    return node


def _leaves(schema: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Shape]]:
    for key, value in schema.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# -- loading ---------------------------------------------------------------------------------------------

def load_vocabulary(dirs: Iterable[Path]) -> Vocabulary:
    """Merge every `vocabulary/*.yaml` of the rule folders, in order; later folders extend the lists."""
    merged: dict[str, Any] = {}
    sources: list[Path] = []
    for folder in dirs:
        vocab = folder / "vocabulary"
        for path in sorted(vocab.glob("*.y*ml")) if vocab.is_dir() else []:
            sources.append(path)
            for key, value in read_vocabulary_file(path).items():
                merged[key] = _merge(_shape(key), merged.get(key), value)
    return Vocabulary(merged, tuple(sources))


def _merge(shape: Shape, old: Any, new: Any) -> Any:
    if old is None or isinstance(shape, Order):
        return new
    if isinstance(shape, (Names, Patterns)):
        return tuple(dict.fromkeys((*old, *new)))
    if isinstance(shape, Groups):
        out = dict(old)
        for group, items in new.items():
            out[group] = tuple(dict.fromkeys((*out.get(group, ()), *items)))
        return out
    return {**old, **new}  # Labels: a later folder may relabel


def read_vocabulary_file(path: Path) -> dict[str, Any]:
    """`section.key -> value` from one vocabulary file, checked against SCHEMA."""
    data, node = _parse(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise VocabularyError(f"{path}:1: a vocabulary file maps sections ({', '.join(SCHEMA)}) to their lists")
    out: dict[str, Any] = {}
    _check_mapping(path, node, data, SCHEMA, "", out)
    return out


def _check_mapping(path: Path, node: yaml.Node | None, data: Mapping[Any, Any], schema: Mapping[str, Any],
                   prefix: str, out: dict[str, Any]) -> None:
    for key, value in data.items():
        where = _line(node, key)
        name = f"{prefix}{key}"
        if key not in schema:
            known = [str(k) for k in schema]
            hint = difflib.get_close_matches(str(key), known, n=1)
            what = "section" if not prefix else "key"
            raise VocabularyError(f"{path}:{where}: unknown {what} '{name}'"
                                  + (f"; did you mean '{prefix}{hint[0]}'?" if hint else "")
                                  + f" (known: {', '.join(known)})")
        expected = schema[key]
        child = _value(node, key)
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise VocabularyError(f"{path}:{where}: '{name}' must be a mapping of {', '.join(expected)}")
            _check_mapping(path, child, value, expected, f"{name}.", out)
        else:
            out[name] = _check_value(path, child, where, name, expected, value)


def _check_value(path: Path, node: yaml.Node | None, where: int, name: str, shape: Shape, value: Any) -> Any:
    if isinstance(shape, (Names, Patterns, Order)):
        items = _string_list(path, where, name, value, shape)
        if isinstance(shape, Patterns):
            for index, item in enumerate(items):
                _check_pattern(path, _item_line(node, index, where), name, item, shape)
        if isinstance(shape, Order):
            for index, item in enumerate(items):
                if item not in shape.values:
                    raise VocabularyError(f"{path}:{_item_line(node, index, where)}: '{name}' takes "
                                          f"{', '.join(shape.values)}, not '{item}'")
        return items
    if not isinstance(value, dict):
        raise VocabularyError(f"{path}:{where}: '{name}' must be {shape.doc}")
    if isinstance(shape, Labels):
        out = {}
        for key, label in value.items():
            at = _line(node, key)
            if not isinstance(key, str) or not isinstance(label, str):
                raise VocabularyError(f"{path}:{at}: '{name}' maps names to labels (strings)")
            if shape.values and label not in shape.values:
                raise VocabularyError(f"{path}:{at}: '{name}.{key}' must be one of {', '.join(shape.values)}, "
                                      f"not '{label}'")
            out[key] = label
        return out
    groups = {}
    for group, items in value.items():
        at = _line(node, group)
        groups[str(group)] = _check_value(path, _value(node, group), at, f"{name}.{group}", shape.of, items)
    return groups


def _string_list(path: Path, where: int, name: str, value: Any, shape: Shape) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VocabularyError(f"{path}:{where}: '{name}' must be {shape.doc} (strings)")
    return tuple(value)


def _check_pattern(path: Path, line: int, name: str, item: str, shape: Patterns) -> None:
    try:
        re.compile(item, re.I if shape.ignore_case else 0)
    except re.error as err:
        raise VocabularyError(f"{path}:{line}: '{name}': the pattern {item!r} does not compile ({err})") from None


def _parse(path: Path) -> tuple[Any, yaml.Node | None]:
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(path.read_text(encoding="utf-8"))
        try:  # one parse: the node gives the lines, the same node the data
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError) as err:
        raise VocabularyError(f"{path}:1: cannot read ({err})") from None
    except yaml.YAMLError as err:
        line = err.problem_mark.line + 1 if getattr(err, "problem_mark", None) else 1
        raise VocabularyError(f"{path}:{line}: invalid YAML ({getattr(err, 'problem', err)})") from None
    return data, node


def _line(node: yaml.Node | None, key: Any) -> int:
    """The 1-based line of `key` in a YAML mapping node (the node's own line when it cannot be found)."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            if key_node.value == str(key):
                return key_node.start_mark.line + 1
    return node.start_mark.line + 1 if node is not None else 1


def _value(node: yaml.Node | None, key: Any) -> yaml.Node | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if key_node.value == str(key):
                return value
    return None


def _item_line(node: yaml.Node | None, index: int, fallback: int) -> int:
    import yaml

    if isinstance(node, yaml.SequenceNode) and index < len(node.value):
        return node.value[index].start_mark.line + 1
    return fallback


# -- the vocabulary in use -----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def shipped() -> Vocabulary:
    """The lists in the shipped `rules/vocabulary/`, for code that runs without a rule set."""
    from .resources import rules_dir
    return load_vocabulary([rules_dir()])


_ACTIVE: list[Vocabulary] = []


def current() -> Vocabulary:
    """The vocabulary of the rule set in use (the shipped one when none was installed)."""
    return _ACTIVE[0] if _ACTIVE else shipped()


def install(vocabulary: Vocabulary) -> None:
    """Make `vocabulary` the one the fact modules read (cheap: called for every matched file)."""
    if not _ACTIVE or _ACTIVE[0] is not vocabulary:
        _ACTIVE[:] = [vocabulary]


__all__ = ["SCHEMA", "Vocabulary", "VocabularyError", "current", "install", "load_vocabulary",
           "read_vocabulary_file", "shipped"]
