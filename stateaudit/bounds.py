"""Bounded work per file: generated code recognised by its shape, and a CPU-time budget per file.

A scan is a CI gate: one pathological file (a 1 MB bundle checked into a theme folder) must not cost
minutes. Bundles and minified files are recognised by content, whatever their name: few, very long
lines. Whatever else takes too long is cut short after its budget and reported; the scan goes on.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_FILE_BUDGET_S = 2.0
SMALL_FILE = 4096  # never judged by shape: too little text to tell
MEAN_LINE_LIMIT = 300  # bytes per line on average; hand-written code in the corpora stays under 170
LONG_LINE = 10_000  # one line this long holding most of the file is a bundle or an inlined blob


def generated_shape(data: bytes) -> str | None:
    """Why these bytes look minified or machine-generated, or None for hand-written code."""
    size = len(data)
    if size < SMALL_FILE:
        return None
    lines = data.count(b"\n") + 1
    if size / lines >= MEAN_LINE_LIMIT:
        return f"looks minified or generated ({lines} lines, {size // lines} bytes per line on average)"
    if size >= LONG_LINE:
        longest = max(map(len, data.split(b"\n")))
        if longest >= LONG_LINE and 2 * longest > size:
            return f"looks minified or generated (one {longest}-byte line holds most of the file)"
    return None


class BudgetExceeded(BaseException):
    """Raised inside a file's work when its CPU budget runs out.

    A BaseException, so the per-rule `except Exception` guards let it through to the file's own handler.
    """


@contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Raise BudgetExceeded in this thread after `seconds` of process CPU time.

    CPU time, not wall time: on a busy machine wall time would cut files short at random. Works where
    the platform has interval timers and only in the main thread; elsewhere the work runs unbounded.
    """
    if seconds <= 0 or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame) -> None:
        raise BudgetExceeded()

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


__all__ = ["DEFAULT_FILE_BUDGET_S", "BudgetExceeded", "cpu_budget", "generated_shape"]
