"""Stage 8: decide the exit code from the report, the --fail-on level and the --fail-on-rule ids."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from .model import Finding, Report, Risk


class ExitCode(enum.IntEnum):
    CLEAN = 0  # nothing at or above --fail-on, nothing of a --fail-on-rule rule
    GATE_FAILED = 1  # at least one unsuppressed finding at or above --fail-on, or of a --fail-on-rule rule
    USAGE_ERROR = 2  # bad flag, unreadable config, invalid rule file; or an internal error in some file


def gate(report: Report, fail_on: Risk | None, fail_rules: Iterable[str] = ()) -> ExitCode:
    """Only unsuppressed findings count: inline suppressions and the baseline never fail the gate.

    An internal error means the scan did not run as asked: 2, never the gate's 'failed' 1.
    """
    if report.internal_errors:
        return ExitCode.USAGE_ERROR
    return ExitCode.GATE_FAILED if failing(report, fail_on, fail_rules) else ExitCode.CLEAN


def failing(report: Report, fail_on: Risk | None, fail_rules: Iterable[str] = ()) -> tuple[Finding, ...]:
    """The unsuppressed findings that fail the gate, in report order."""
    rules = frozenset(fail_rules)
    return tuple(f for f in report.active if (fail_on is not None and f.risk >= fail_on) or f.rule_id in rules)
