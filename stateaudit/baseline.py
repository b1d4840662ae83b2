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
        raise BaselineError(f"{path}:1: cannot read baseline ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise BaselineError(f"{path}:1: the baseline is not a findings JSON report (not UTF-8: byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise BaselineError(f"{path}:{err.lineno}: the baseline is not a findings JSON report: truncated or invalid "
                            f"JSON ({err.msg}, column {err.colno}); write it again with --format json -o") from None
    except RecursionError:
        raise BaselineError(f"{path}:1: the baseline is not a findings JSON report (nested too deeply)") from None
    findings = data.get("findings") if isinstance(data, dict) else None
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(findings, list) or not isinstance(tool, dict) or tool.get("name") != "stateaudit":
        raise BaselineError(f"{path}:1: not a stateaudit findings JSON report (no 'tool' stateaudit and "
                            f"'findings' list); write one with --format json -o")
    if not all(isinstance(f, dict) and isinstance(f.get("fingerprint"), str) for f in findings):
        raise BaselineError(f"{path}:1: the baseline has findings without a 'fingerprint' string; "
                            f"write it again with --format json -o")
    return frozenset(f["fingerprint"] for f in findings)


def apply_baseline(findings: list[Finding], fingerprints: frozenset[str]) -> list[Finding]:
    """Findings already in the baseline are kept, marked suppressed; the gate skips them."""
    if not fingerprints:
        return findings
    return [replace(f, suppressed=True, reasons=(*f.reasons, "accepted in the baseline"))
            if f.fingerprint in fingerprints and not f.suppressed else f for f in findings]
