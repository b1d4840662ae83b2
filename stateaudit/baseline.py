"""Baselines: accept the findings a team already knows about, so the gate only fails on new ones."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .model import Finding


class BaselineError(Exception):
    """A baseline file that cannot be read; the message names the file."""


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints of a findings JSON report (`scan --format json -o baseline.json`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BaselineError(f"{path}: cannot read baseline ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BaselineError(f"{path}: the baseline is not a findings JSON report ({err})") from None
    findings = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(findings, list):
        raise BaselineError(f"{path}: the baseline has no 'findings' list; write one with --format json -o")
    return frozenset(f["fingerprint"] for f in findings if isinstance(f, dict) and f.get("fingerprint"))


def apply_baseline(findings: list[Finding], fingerprints: frozenset[str]) -> list[Finding]:
    """Findings already in the baseline are kept, marked suppressed; the gate skips them."""
    if not fingerprints:
        return findings
    return [replace(f, suppressed=True, reasons=(*f.reasons, "accepted in the baseline"))
            if f.fingerprint in fingerprints and not f.suppressed else f for f in findings]
