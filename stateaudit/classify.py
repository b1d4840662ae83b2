"""Stage 5: turn a raw match and its facts into a finding, using the YAML classification tables."""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from typing import Any

from .conditions import holds
from .config import Config
from .model import Finding, Match, Reviewed, Risk, Service
from .ruleset import Rule, RuleSet
from .vocabulary import Vocabulary

DEFAULT_PRIORITY = {Risk.CRITICAL: "P1", Risk.HIGH: "P2", Risk.MEDIUM: "P3", Risk.LOW: "P3"}
CONTAINER_LABELS = {"Map": "Map", "Set": "Set", "WeakMap": "WeakMap", "WeakSet": "WeakSet", "array": "array",
                    "object": "object", "collection": "collection", "dict": "dict", "list": "list", "set": "set", "deque": "deque",
                    "defaultdict": "defaultdict", "OrderedDict": "OrderedDict", "Counter": "Counter"}


class _Facts(dict):
    """Template context: missing keys render as empty strings rather than failing a scan."""

    def __missing__(self, key: str) -> str:
        return ""


def humanize(name: str | None) -> str:
    """`errorLogs` -> `Error logs`, `_sessions` -> `Sessions`."""
    if not name:
        return ""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name.strip("_#"))
    text = " ".join(w.lower() if not w.isupper() or len(w) == 1 else w for w in words)
    return text[:1].upper() + text[1:]


def render(template: str | None, facts: Mapping[str, Any]) -> str:
    if not template:
        return ""
    return string.Formatter().vformat(template, (), _Facts(facts)).strip()


def complete_facts(match: Match, service: Service, lifetime: tuple[str, str], in_test: bool) -> dict[str, Any]:
    """A new mapping: the match's facts plus what only the whole service knows (lifetime, dependencies,
    test status) and the names message templates use. `match.facts` is left as it is."""
    facts = match.facts
    local = facts.get("lifetime_local", "unknown")
    if local in ("process", "request"):
        lifetime = (local, "module scope lives as long as the process" if local == "process"
                    else "request-scoped provider")
    container_label = CONTAINER_LABELS.get(facts.get("container") or "", "")
    label = container_label or "collection"
    return {
        **facts.as_dict(),
        "lifetime": lifetime[0],
        "lifetime_reason": lifetime[1],
        "depends_on": service.dependencies,
        "service": service.name,
        "in_test_file": in_test,
        "write_count": len(match.write_sites),
        "Name": humanize(facts.get("name")),
        "Class": facts.get("class_name") or "",
        "container_label": container_label,
        "a_container": ("an " if label[0].lower() in "aeiou" else "a ") + label,
    }


def _first_row(rows, facts) -> Mapping[str, Any] | None:
    return next((row for row in rows if holds(row.get("when"), facts)), None)


def _category_row(rows, facts: Mapping[str, Any], vocabulary: Vocabulary) -> Mapping[str, Any] | None:
    """What the state is for: the words of its own name, its owner's name and its element type, asked in
    the order the vocabulary's `categories` section gives (by default the name decides first).

    A generic answer (cache, other) from an earlier source gives way to a specific one from a later.
    """
    if facts.get("kind") == "timer" or not (facts.get("class_words") or facts.get("type_words")):
        return _first_row(rows, facts)
    from .facts.common import split_words  # the fact package loads only where a file is matched or joined

    own = split_words(facts.get("name") or "")
    words_of = {"name": own, "class": facts.get("class_words"), "type": facts.get("type_words")}
    order = vocabulary.order("categories.sources")
    if own & vocabulary.names("categories.owner_first_name_words") or \
            vocabulary.names("categories.owner_first_class_words") & set(facts.get("class_words") or ()):
        # `byUser` is a secondary index of the owner's records; the fields of an `LRUCache` are the cache.
        order = vocabulary.order("categories.owner_first_sources")
    generic = vocabulary.names("categories.generic")
    first = None
    for words in (words_of[source] for source in order):
        if not words:
            continue
        row = _first_row(rows, dict(facts, words=frozenset(words)))
        if row is not None and row.get("category") not in generic:
            return row
        first = first or row
    return first


def _with_category(facts: Mapping[str, Any], rule: Rule, rows, vocabulary: Vocabulary) -> dict[str, Any]:
    """Stage 1 of classification: what the state is for (the `categories` table; the rule's own category wins)."""
    row = _category_row(rows, facts, vocabulary) or {}
    category = rule.category or row.get("category", "other")
    label = row.get("label", "")
    return {**facts, "category": category, "category_label": label,
            "category_text": (label or category.replace("-", " ")).lower()}


def _with_storage(facts: Mapping[str, Any], rows) -> tuple[dict[str, Any], str]:
    """Stage 2: where the state lives (the `storage` table, whose rows may test `category`), and why."""
    row = _first_row(rows, facts) or {}
    stored = {**facts, "storage": row.get("storage", "in-memory"), "shared": row.get("shared", "no")}
    return stored, render(row.get("reason"), stored)


def classify(match: Match, facts: Mapping[str, Any], rule: Rule, ruleset: RuleSet, service: Service,
             config: Config) -> Finding:
    """The finding for one match. Each table adds its answers to a new mapping, in the order the tables may
    depend on: categories, then storage (which may test the category), then assessment (which may test both),
    then confidence, whose reason may name the final risk. `facts` is left as it is."""
    tables = ruleset.tables
    reasons: list[str] = []
    categorised = _with_category(facts, rule, tables["categories"], ruleset.vocabulary)
    facts, storage_reason = _with_storage(categorised, tables["storage"])
    if storage_reason:
        reasons.append(storage_reason)
    chosen = _assess(list(rule.assess) + list(tables["assessment"]), facts)
    risk = Risk.parse(chosen["risk"]) if "risk" in chosen else rule.risk
    reasons.insert(0, f"{rule.id} baseline {rule.risk.name}" + (f"; {render(chosen['reason'], facts)}" if chosen.get("reason") else ""))
    if facts.get("lifetime_reason") and match.kind in ("collection", "singleton"):
        reasons.append(str(facts["lifetime_reason"]))
    if match.write_sites:
        reasons.append(f"written after start-up at {len(match.write_sites)} site(s)")
    risk = _apply_overrides(risk, rule.id, facts["category"], config, reasons)
    facts = {**facts, "risk": risk.name}
    confidence_row = _first_row(tables["confidence"], facts) or {}
    confidence = confidence_row.get("confidence", rule.confidence)
    if confidence_row.get("reason"):
        reasons.append(render(confidence_row["reason"], facts))
    message = render(chosen.get("message") or rule.message, facts)
    state_type = render(rule.state_type, facts) or humanize(match.kind)
    path = match.location.path
    return Finding(
        rule_id=rule.id, kind=match.kind, category=facts["category"], state_type=state_type,
        storage=facts["storage"], shared=facts["shared"], risk=risk,
        priority=chosen.get("priority") if chosen.get("priority") and "risk" in chosen and risk == Risk.parse(chosen["risk"]) else DEFAULT_PRIORITY[risk],
        confidence=confidence, action=render(chosen.get("action", "Review"), facts),
        effort=str(chosen.get("effort", "")), message=message, location=match.location, service=service.name,
        language=match.language, symbol=match.symbol, snippet=match.snippet,
        write_sites=tuple(w.label(path) for w in match.write_sites), reasons=tuple(r for r in reasons if r),
        owner=facts.get("class_name") or None,
        fingerprint=fingerprint(rule.id, path, match.symbol, match.snippet),
    )


def review(match: Match, facts: Mapping[str, Any], ruleset: RuleSet, service: Service) -> Reviewed | None:
    """A Reviewed record when the `reviewed` table says the candidate is stateless, else None."""
    row = _first_row(ruleset.tables.get("reviewed", ()), facts)
    if row is None:
        return None
    return Reviewed(rule_id=match.rule_id, kind=match.kind, location=match.location, service=service.name,
                    symbol=match.symbol, snippet=match.snippet, reason=render(row.get("reason"), facts))


def _assess(rows, facts) -> dict[str, Any]:
    """Each field comes from the first matching row that sets it: specific rows first, defaults last."""
    chosen: dict[str, Any] = {}
    for row in rows:
        if not holds(row.get("when"), facts):
            continue
        for key in ("risk", "priority", "action", "effort", "message", "reason"):
            if key in row and key not in chosen:
                if key in ("priority", "reason") and "risk" in chosen and "risk" not in row:
                    continue
                chosen[key] = row[key]
        if all(k in chosen for k in ("risk", "action", "effort")):
            break
    return chosen


def _apply_overrides(risk: Risk, rule_id: str, category: str, config: Config, reasons: list[str]) -> Risk:
    if category in config.category_risk:
        risk = config.category_risk[category]
        reasons.append(f"config sets category '{category}' to {risk.name}")
    if rule_id in config.risk_overrides:
        risk = config.risk_overrides[rule_id]
        reasons.append(f"config sets rule {rule_id} to {risk.name}")
    return risk


def fingerprint(rule_id: str, path: str, symbol: str | None, snippet: str) -> str:
    """Stable across line moves: only rule, file, symbol and the code itself feed it."""
    normalised = re.sub(r"\s+", " ", snippet).strip()
    digest = hashlib.sha1("\x1f".join([rule_id, path, symbol or "", normalised]).encode("utf-8"))
    return digest.hexdigest()[:20]
