"""Fingerprints unique within a report: identical findings are told apart by their occurrence index.

`classify.fingerprint` hashes rule, file, symbol and code, so it survives line moves and unrelated
edits; two copies of the same code in one file would share it. Here the k-th copy (k >= 1, counted
in file order) gets a fingerprint derived from the first one's and its index, so a baseline that
accepted two copies does not hide a third, and the first copy keeps the fingerprint it always had.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace

from .model import Finding


def occurrence_fingerprint(base: str, occurrence: int) -> str:
    """The fingerprint of the `occurrence`-th copy (0-based) of a finding whose own fingerprint is `base`."""
    if occurrence == 0:
        return base
    return hashlib.sha1(f"{base}\x1f{occurrence}".encode()).hexdigest()[:20]


def numbered(fingerprints: Iterable[str]) -> list[str]:
    """Fingerprints in order, each repeat replaced by its occurrence fingerprint."""
    seen: dict[str, int] = {}
    result = []
    for base in fingerprints:
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.append(occurrence_fingerprint(base, count))
    return result


def _order(f: Finding) -> tuple:
    return (f.location.path, f.location.line, f.location.column, f.rule_id)


def unique_fingerprints(findings: Iterable[Finding]) -> list[Finding]:
    """The findings in file order with repeats renumbered; the result's fingerprints are all distinct."""
    ordered = sorted(findings, key=_order)
    fingerprints = numbered(f.fingerprint for f in ordered)
    return [f if f.fingerprint == fp else replace(f, fingerprint=fp) for f, fp in zip(ordered, fingerprints, strict=True)]


def report_order(item: dict) -> tuple:
    """A findings JSON entry's place in file order, as `_order` for findings."""
    return (str(item.get("file", "")), int(item.get("line") or 0), int(item.get("column") or 0), str(item.get("rule", "")))


def unique_in_report(items: list[dict]) -> list[tuple[dict, str]]:
    """Findings JSON entries in file order, each with a fingerprint unique among them.

    Reports written before fingerprints were unique repeat one for identical findings; this numbers the
    repeats exactly as a scan does today, so an old report matches a new one finding for finding.
    """
    ordered = sorted((i for i in items if isinstance(i, dict) and i.get("fingerprint")), key=report_order)
    return list(zip(ordered, numbered(str(i["fingerprint"]) for i in ordered), strict=True))
