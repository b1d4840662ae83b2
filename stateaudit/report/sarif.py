"""SARIF 2.1.0 for code-scanning UIs: one run, rules[] from rule docs, results with stable fingerprints."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..model import Finding, Report, Risk
from ..templating import rule_markdown

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Risk.CRITICAL: "error", Risk.HIGH: "error", Risk.MEDIUM: "warning", Risk.LOW: "note"}
# GitHub code scanning reads security-severity (0-10) to rank results.
SEVERITY = {Risk.CRITICAL: "9.0", Risk.HIGH: "7.0", Risk.MEDIUM: "5.0", Risk.LOW: "2.0"}


def _rule(rule) -> dict[str, Any]:
    docs = rule.docs
    return {
        "id": rule.id,
        "name": rule.id.split(".", 1)[-1].title().replace("-", ""),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": " ".join(str(docs["what"]).split())},
        "help": {
            "text": " ".join(f"{str(docs[k]).strip()}" for k in ("what", "why", "fix")),
            "markdown": rule_markdown(rule, "##"),
        },
        "defaultConfiguration": {"level": LEVELS[rule.risk]},
        "properties": {"tags": ["scalability", "state", rule.kind, *rule.tags],
                       "security-severity": SEVERITY[rule.risk], "kind": rule.kind},
    }


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index[f.rule_id],
        "level": LEVELS[f.risk],
        "message": {"text": f"{f.message} Action: {f.action}."},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(f.location.path), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": f.location.line, "startColumn": f.location.column,
                           "endLine": f.location.end_line, "snippet": {"text": f.snippet}},
            },
            "logicalLocations": [{"name": f.symbol, "kind": "member"}] if f.symbol else [],
        }],
        "partialFingerprints": {"stateaudit/v1": f.fingerprint},
        "properties": {
            "risk": f.risk.name, "priority": f.priority, "kind": f.kind, "category": f.category,
            "storage": f.storage, "shared": f.shared, "service": f.service, "confidence": f.confidence,
            "writeSites": list(f.write_sites), "reasons": list(f.reasons),
        },
    }
    if f.suppressed:
        note = f.suppression
        suppression: dict[str, Any] = {"kind": "external" if note and note.kind == "baseline" else "inSource",
                                       "status": "accepted"}
        if note is not None and note.reason:
            suppression["justification"] = note.reason
        result["suppressions"] = [suppression]
    return result


def _notification(level: str, path: str, text: str, rule: str | None = None) -> dict[str, Any]:
    note: dict[str, Any] = {
        "level": level,
        "message": {"text": text},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(path), "uriBaseId": "%SRCROOT%"}}}],
    }
    if rule:
        note["associatedRule"] = {"id": rule}
    return note


def _invocation(report: Report) -> dict[str, Any]:
    """Skipped and degraded files as notifications; an internal error makes the run unsuccessful."""
    notes = ([_notification("error", e.path, f"internal error: {e.message}", e.rule) for e in report.internal_errors]
             + [_notification("warning", e.path, f"not scanned ({e.reason}): {e.message}") for e in report.errors]
             + [_notification("note", d.path, f"scanned with problems ({d.reason}): {d.message}") for d in report.degraded])
    return {"executionSuccessful": not report.internal_errors, "toolExecutionNotifications": notes}


def artifact_uri(path: str) -> str:
    """A relative URI reference for a POSIX path: spaces, newlines, '%', '#' and '?' are percent-encoded."""
    return quote(path, safe="/!$&'()*+,;=:@-._~")


def to_dict(report: Report) -> dict[str, Any]:
    rules = [report.rules[rid] for rid in sorted(report.rules)]
    index = {rule.id: i for i, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "stateaudit", "version": report.tool_version, "semanticVersion": report.tool_version,
                "informationUri": "https://pypi.org/project/stateaudit/", "rules": [_rule(r) for r in rules],
            }},
            "results": [_result(f, index) for f in report.findings if f.rule_id in index],
            "invocations": [_invocation(report)],
            "columnKind": "unicodeCodePoints",
            "properties": {"root": report.root},
        }],
    }


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
