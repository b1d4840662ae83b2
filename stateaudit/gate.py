"""Stage 8: decide the exit code from the report and the --fail-on level."""

from __future__ import annotations

import enum

from .model import Report, Risk


class ExitCode(enum.IntEnum):
    CLEAN = 0  # nothing at or above --fail-on
    GATE_FAILED = 1  # at least one unsuppressed finding at or above --fail-on
    USAGE_ERROR = 2  # bad flag, unreadable config, invalid rule file; or an internal error in some file


def gate(report: Report, fail_on: Risk | None) -> ExitCode:
    """An internal error means the scan did not run as asked: 2, never the gate's 'failed' 1."""
    if report.internal_errors:
        return ExitCode.USAGE_ERROR
    if fail_on is None:
        return ExitCode.CLEAN
    if any(f.risk >= fail_on for f in report.active):
        return ExitCode.GATE_FAILED
    return ExitCode.CLEAN
