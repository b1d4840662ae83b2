"""Stage 2, per service: a candidate's facts completed with what other files of its service say.

Each step builds a new mapping (imported classes, writes through a singleton, boot-time writers, clients
checked against the project's classes). `settled` tells stage 1 which facts no step here can change for
a candidate, so a worker can drop a candidate whose `where:` already fails on them: keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .classify import complete_facts
from .facts import ServiceIndex
from .facts.index import ClassInfo
from .model import Match, Service


def service_facts(match: Match, service: Service, index: ServiceIndex, in_test: bool) -> Mapping[str, Any]:
    """The match's facts completed with what the service knows, read-only: classification builds new
    mappings from them, so no step can change what a later step (or another finding) sees."""
    facts = complete_facts(match, service, index.lifetime(match.facts.get("class_name"), match.location.path), in_test)
    facts = _resolve_imported_cache(_resolve_imported_class(facts, index), index)
    facts = _boot_time_writes(_writes_at_boot_only(facts, index), index)
    facts = _writes_through_singleton(facts, index)
    facts = _collection_class_holder(facts, index)
    facts = {**facts, "calls_file_writer": _calls_file_writer(facts, index)}
    facts = _wraps_memory_limiter(facts, index)
    return MappingProxyType(_verify_clients(facts, index))


def _resolve_imported_class(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """A singleton of a class defined in another file takes that class's statefulness: a new mapping.

    `class_known` says whether the class's body was seen at all (in the file or through the index):
    only then can a singleton be called stateless.
    """
    if facts.get("class_in_file", True):
        return {**facts, "class_known": True}
    info = index.lookup(facts.get("class_name"))
    if info is None:
        return {**facts, "class_known": False}
    return {**facts, "stateful_fields": info.stateful_fields, "stateful": bool(info.stateful_fields),
            "clients": info.clients, "own_class": True, "class_known": True}


def _writes_through_singleton(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """A field written in other files through its class's singleton (`server.monitors[id] = m`) is written at
    runtime: a new mapping with what the other files say."""
    if not _through_singleton(facts.get):
        return facts
    info = index.lookup(facts["class_name"], facts.get("path"))
    changes: dict[str, Any] = {"owner_singleton": bool(info and info.has_static_instance)}
    ops = index.field_writes.get((facts["class_name"], facts.get("name")), set())
    rebinds = {op.split(":", 1)[1] for op in ops if op.startswith("rebind:")}
    if ops - {f"rebind:{kind}" for kind in rebinds}:
        changes["written_after_init"] = True
    if rebinds:
        changes.update(rebound_at_runtime=True, rebound=True,
                       rebound_to=frozenset(facts.get("rebound_to") or ()) | rebinds)
    return {**facts, **changes}


def _calls_file_writer(facts: Mapping[str, Any], index: ServiceIndex) -> bool:
    """A call of the project's own helper that writes a file at the path it is given (`ImageDataURI.outputFile`)."""
    if facts.get("kind") != "file-write" or facts.get("callee_name") not in index.file_writers:
        return False
    return str(facts.get("callee_module", "")).startswith(".") or str(facts.get("callee_object", ""))[:1].isupper() \
        or (not facts.get("callee_object") and not facts.get("callee_module"))


def _wraps_memory_limiter(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """`new LoginLimiter(...)` of a project class whose constructor makes an in-memory rate limiter."""
    return {**facts, "wraps_memory_limiter": facts.get("callee_name") in index.limiter_classes} \
        if facts.get("rule") == "ts.memory-rate-limiter" else facts


def _collection_class_holder(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """`new LimitQueue()` is reported where it is held only when LimitQueue's own fields are not reported already."""
    if facts.get("container") == "collection":
        info = index.lookup(facts.get("value_class"))
        if info is not None and info.stateful_fields:
            return {**facts, "container": None}
    return facts


def _boot_time_writes(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """State written only by static methods that the service calls while it boots is a boot-time registry."""
    if facts.get("writer_methods") and index.only_called_at_boot(facts.get("class_name"), facts["writer_methods"]):
        return {**facts, "written_after_init": False, "rebound_at_runtime": False, "boot_registry": True}
    return facts


def _writes_at_boot_only(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """Python: every function that writes the state runs only at start-up (or is a registration API nothing
    in the service calls): a registry filled at boot, identical on every instance. A new mapping."""
    writers = facts.get("writer_functions")
    if not writers:
        return facts
    return {**facts, "written_at_boot_only": all(name and not decorated and index.runs_only_at_boot(name)
                                                 for name, decorated in writers)}


def _resolve_imported_cache(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """A decorator naming a cache object or an lru_cache wrapper defined in another module of the service:
    a new mapping with `cache_backend` / `wraps_cache` resolved, or `facts` itself."""
    extra: dict[str, Any] = {}
    ref = facts.get("cache_ref")
    if ref:
        target = index.module(ref[0])
        if target is not None and ref[1] in target.cache_objects:
            extra["cache_backend"] = target.cache_objects[ref[1]]
    ref = facts.get("wrapper_ref")
    if ref:
        target = index.module(ref[0])
        extra["wraps_cache"] = target is not None and ref[1] in target.cache_wrappers
    return {**facts, **extra} if extra else facts


def _verify_clients(facts: Mapping[str, Any], index: ServiceIndex) -> Mapping[str, Any]:
    """Drop project classes that only look like clients (`FilesRepository` kept in a Map) by their own facts:
    a new mapping, or `facts` itself when it names no client."""
    refs = facts.get("client_refs")
    if not refs:
        return facts
    kept = frozenset((kind, name, needs_check) for kind, name, needs_check in refs
                     if not needs_check or (info := index.lookup(name)) is None or info.clients)
    return {**facts, "client_refs": kept, "clients": frozenset(kind for kind, _n, _v in kept)}


# Every fact service_facts may set or change. A fact not listed is the file's alone: the join hands it on.
JOINED = frozenset({
    # complete_facts: what the service and its instantiation sites say
    "lifetime", "lifetime_reason", "depends_on", "service", "in_test_file", "write_count", "Name", "Class",
    "container_label", "a_container",
    # _resolve_imported_class and _verify_clients
    "class_known", "stateful_fields", "stateful", "own_class", "clients", "client_refs",
    # _resolve_imported_cache
    "cache_backend", "wraps_cache",
    # _writes_at_boot_only and _boot_time_writes
    "written_at_boot_only", "boot_registry",
    # _writes_through_singleton (and _boot_time_writes for the first two)
    "written_after_init", "rebound_at_runtime", "owner_singleton", "rebound", "rebound_to",
    # _collection_class_holder, _calls_file_writer, _wraps_memory_limiter
    "container", "calls_file_writer", "wraps_memory_limiter",
})


class Settled(Mapping[str, Any]):
    """The facts of one candidate that service_facts cannot change, as their joined values.

    A fact outside JOINED reads as the file gave it (absent reads None). A JOINED fact is here when, for this
    candidate, no step can change it or the file alone gives the step's answer (the owner class is declared
    in the file); otherwise it is missing, and `where:` tests on it are left to the join.
    """

    __slots__ = ("_facts", "_decided", "_unknown")

    def __init__(self, facts: Mapping[str, Any], decided: dict[str, Any],
                 unknown: frozenset[str] = frozenset()) -> None:
        self._facts = facts
        self._decided = decided
        self._unknown = unknown  # facts not computed yet (see settled): missing, whatever else is decided

    def __contains__(self, name: object) -> bool:
        return name not in self._unknown and (name not in JOINED or name in self._decided)

    def __getitem__(self, name: str) -> Any:
        if name not in JOINED:
            return self._facts.get(name)
        return self._decided[name]

    def __iter__(self):
        raise TypeError("a Settled view answers single facts only")

    def __len__(self) -> int:
        raise TypeError("a Settled view answers single facts only")


def settled(facts: Mapping[str, Any], classes_in_file: Mapping[str, ClassInfo],
            unknown: frozenset[str] = frozenset()) -> Settled:
    """What the join will say of this candidate for the facts it cannot change (see Settled).

    `classes_in_file`: the first class of each name its file declares, which is what ServiceIndex.lookup
    answers for a name and that file. Each branch mirrors one step of service_facts. `unknown`: the costly
    facts of a candidate not computed yet (a class's client writes); every other fact is in `facts`.
    """
    get = facts.get
    decided: dict[str, Any] = {}
    if get("class_in_file", True):
        decided.update(class_known=True, stateful_fields=get("stateful_fields"), stateful=get("stateful"),
                       own_class=get("own_class"))
        refs = get("client_refs")
        if not refs:
            decided.update(clients=get("clients"), client_refs=refs)
        elif not any(needs_check for _kind, _name, needs_check in refs):
            decided.update(clients=frozenset(kind for kind, _name, _check in refs), client_refs=refs)
    if not get("cache_ref"):
        decided["cache_backend"] = get("cache_backend")
    if not get("wrapper_ref"):
        decided["wraps_cache"] = get("wraps_cache")
    if not get("writer_functions"):
        decided["written_at_boot_only"] = get("written_at_boot_only")
    _decide_writes(get, decided)
    _decide_from_file(get, classes_in_file, decided)
    if get("kind") != "file-write":
        decided["calls_file_writer"] = False
    if get("rule") != "ts.memory-rate-limiter":
        decided["wraps_memory_limiter"] = get("wraps_memory_limiter")
    return Settled(facts, decided, unknown)


def settled_early(early: Mapping[str, Any], classes_in_file: Mapping[str, ClassInfo]) -> dict[str, Any]:
    """settled() for a state candidate of which only its early facts are computed (scope, name, class_name,
    container, declared_with: facts.*.early_state_facts): the ones the join cannot change, and the owner's
    singleton when the file declares the class. A fact missing here is unknown, not absent."""
    known = settled_shape(early)
    _decide_from_file(early.get, classes_in_file, known)
    _decide_writes(early.get, known, early.__contains__)  # for the early facts that hold them (module variables)
    return known


def settled_shape(shape: Mapping[str, Any]) -> dict[str, Any]:
    """settled() for a candidate of which only some facts are computed (a call's facts.*.call_shape_facts; a
    state candidate's early facts, which settled_early completes): those the join cannot change, as they
    are. A fact missing here is unknown, not absent."""
    return {name: value for name, value in shape.items() if name not in JOINED}


def _decide_writes(get, decided: dict[str, Any], computed: Callable[[str], bool] = lambda _name: True) -> None:
    """The write facts no step of the join can change for this candidate, of those `computed` says it has:
    _boot_time_writes may clear the first two for a static field's writer methods, and
    _writes_through_singleton may set them all for a field of a named class."""
    through_singleton = _through_singleton(get)
    if not get("writer_methods"):
        if computed("boot_registry"):
            decided["boot_registry"] = get("boot_registry")
        for name in ("written_after_init", "rebound_at_runtime"):
            if computed(name) and (get(name) or not through_singleton):
                decided[name] = get(name)
    if not through_singleton:
        decided.update((name, get(name)) for name in ("owner_singleton", "rebound", "rebound_to") if computed(name))


def _through_singleton(get) -> bool:
    """Can _writes_through_singleton change this candidate's facts? Only a field's, of a named class."""
    return get("scope") in ("instance", "static") and bool(get("class_name"))


def _decide_from_file(get, classes_in_file: Mapping[str, ClassInfo], decided: dict[str, Any]) -> None:
    """What the join will say that the candidate's own facts and its file already tell: its container
    unless it is a project collection class (_collection_class_holder may clear it), and the owner's
    singleton when the file declares the owner class (_writes_through_singleton looks it up there first)."""
    if get("container") != "collection":
        decided["container"] = get("container")
    if _through_singleton(get):
        info = classes_in_file.get(get("class_name"))
        if info is not None:
            decided["owner_singleton"] = bool(info.has_static_instance)
