"""A progress bar on stderr for scans long enough to wonder about: files done of the total.

It appears only once a scan has run for DELAY_S, only on a terminal, and never with --quiet, NO_COLOR
or TERM=dumb, so pipes, CI logs and short scans stay clean. It redraws from the scan's own thread
(no refresh thread), so worker processes are never forked from a multi-threaded parent.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress

DELAY_S = 1.0  # scans shorter than this never show a bar
REDRAW_S = 0.1


def progress_wanted(quiet: bool, stream: TextIO | None = None, environ: dict[str, str] | None = None) -> bool:
    """Show a bar only to a person at a terminal that can draw one."""
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    if quiet or "NO_COLOR" in environ or environ.get("TERM", "") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ScanProgress:
    """Counts files as the scan reports them; draws after DELAY_S when enabled. Use as a context manager."""

    def __init__(self, enabled: bool, stream: TextIO | None = None, delay: float = DELAY_S) -> None:
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.delay = delay
        self.total = 0
        self.done = 0
        self.shown = False
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> ScanProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if self._bar is None:
            if now - self._started < self.delay:
                return
            self._show()
        if now - self._drawn_at >= REDRAW_S or self.done >= self.total:
            self._bar.update(self._task, completed=self.done)
            self._bar.refresh()
            self._drawn_at = now

    def _show(self) -> None:
        from rich.console import Console  # only when a bar is drawn: rich costs start-up time
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(file=self.stream, stderr=self.stream is sys.stderr)
        self._bar = Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
                             TimeElapsedColumn(), console=console, transient=True, auto_refresh=False)
        self._task = self._bar.add_task("scan", total=self.total, completed=self.done)
        self._bar.start()
        self.shown = True


__all__ = ["DELAY_S", "ScanProgress", "progress_wanted"]
