"""The findings JSON of ../shared/spec/findings-json.md (schema_version 1)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from ..model import Finding, Report

SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "fingerprint": f.fingerprint,
        "rule": f.rule_id,
        "service": f.service,
        "file": f.location.path,
        "line": f.location.line,
        "column": f.location.column,
        "end_line": f.location.end_line,
        "symbol": f.symbol,
        "kind": f.kind,
        "category": f.category,
        "state_type": f.state_type,
        "storage": f.storage,
        "shared": f.shared,
        "risk": f.risk.name,
        "priority": f.priority,
        "confidence": f.confidence,
        "action": f.action,
        "effort": f.effort,
        "message": f.message,
        "snippet": f.snippet,
        "write_sites": list(f.write_sites),
        "reasons": list(f.reasons),
        "language": f.language,
        "suppressed": f.suppressed,
        "suppression": suppression_dict(f),
    }


def suppression_dict(f: Finding) -> dict[str, Any] | None:
    """Why a suppressed finding is suppressed: `inline` (with the comment's reason, line, expiry) or `baseline`."""
    note = f.suppression
    if note is None:
        return None
    data: dict[str, Any] = {"kind": note.kind, "reason": note.reason}
    if note.line is not None:
        data["line"] = note.line
    if note.expires is not None:
        data["expires"] = note.expires
    return data


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "stateaudit", "version": report.tool_version},
        "root": report.root,
        "summary": {
            "files_scanned": report.files_scanned,
            "lines_scanned": report.lines_scanned,
            "parse_errors": len(report.errors),
            "duration_s": report.duration_s,
            "findings": len(report.active),
            "by_risk": report.by_risk(),
            "skipped": count_by_reason(report.errors),
            "degraded": count_by_reason(report.degraded),
            "internal_errors": len(report.internal_errors),
            "files_excluded": report.excluded_by_role(),
        },
        "services": [
            {"name": s.service.name, "path": s.service.path, "language": s.language, "readiness": s.readiness,
             "findings": sum(s.by_risk.values()), "by_risk": s.by_risk}
            for s in report.services
        ],
        "findings": [finding_dict(f) for f in report.findings],
        "errors": [{"file": e.path, "message": e.message, "reason": e.reason} for e in report.errors],
        "excluded": [{"file": path, "role": role} for path, role in report.excluded],
        "reviewed": [{"rule": r.rule_id, "kind": r.kind, "service": r.service, "file": r.location.path,
                      "line": r.location.line, "symbol": r.symbol, "snippet": r.snippet, "reason": r.reason}
                     for r in report.reviewed],
        "degraded": [{"file": d.path, "reason": d.reason, "message": d.message} for d in report.degraded],
        "internal_errors": [{"file": e.path, "rule": e.rule, "message": e.message} for e in report.internal_errors],
    }


def count_by_reason(entries) -> dict[str, int]:
    """Files per reason code, e.g. {"binary": 1, "too-large": 2}; reasons in name order."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.reason] = counts.get(entry.reason, 0) + 1
    return dict(sorted(counts.items()))


def render(report: Report) -> str:
    """The report as `json.dumps(..., indent=2, sort_keys=True, ensure_ascii=False)` writes it, plus a newline.

    orjson writes that very text several times faster: with `indent`, the standard library encodes in pure
    Python, which was a tenth of a warm scan. The two differ only on floats written with an exponent (1e-07
    against 1e-7); the report's one float is `duration_s`, rounded to hundredths. What orjson refuses (a
    string holding a lone surrogate, an integer over 64 bits) is left to json, as before.
    """
    data = to_dict(report)
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
                            ).decode("utf-8")
    except TypeError:
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
