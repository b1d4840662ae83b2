"""Ctrl-C and SIGTERM: stop at once, exit 130 or 143 as shells and CI runners expect, no traceback.

SIGINT already raises KeyboardInterrupt in the main thread; SIGTERM (what CI runners and `timeout` send)
is made to raise Terminated the same way, so both unwind through the same `finally` blocks. Nothing
is written half-way because every output goes through atomic.write_atomic: an interrupted run leaves
the previous report as it was. click would turn KeyboardInterrupt into "Aborted!" and exit 1, the
gate's "failed" code, so commands catch both themselves with `interruptible`.
"""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143

F = TypeVar("F", bound=Callable[..., Any])


class Terminated(BaseException):
    """SIGTERM, raised in the main thread; a BaseException so `except Exception` guards let it through."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def interruptible(command: F) -> F:
    """Run `command` with SIGTERM raising Terminated; exit 130 on Ctrl-C, 143 on SIGTERM, with one line."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            previous = signal.signal(signal.SIGTERM, _raise_terminated)
        except ValueError:  # not the main thread (an embedding application): leave signals alone
            previous = None
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            _stop("interrupted", EXIT_SIGINT)
        except Terminated:
            _stop("terminated", EXIT_SIGTERM)
        except Exception as err:  # an interrupt that C code wrapped in another error is still an interrupt
            try:
                reraise_if_interrupted(err)
            except KeyboardInterrupt:
                _stop("interrupted", EXIT_SIGINT)
            except Terminated:
                _stop("terminated", EXIT_SIGTERM)
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper  # type: ignore[return-value]


def _stop(what: str, code: int) -> None:
    """A second Ctrl-C while stopping must not print a traceback either."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stderr.write(f"stateaudit: {what}; no report was written\n")
    sys.stderr.flush()
    _forget_interrupted_exec()
    sys.exit(code)


def _forget_interrupted_exec() -> None:
    """Keep `python -m stateaudit` from dying by SIGINT after it chose its exit code.

    CPython remembers whether the last code it ran through `exec` of a string ended in KeyboardInterrupt, and a
    `python -m` run that then exits kills itself with SIGINT whatever its exit code (returncode -2, not 130).
    Ctrl-C during a lazy import can land in such an `exec` while a dataclass is being made (dataclasses
    writes its methods that way); test_interrupt's `[sigint]` case failed so now and then. Running one more
    `exec` that ends normally clears what CPython remembers.
    """
    exec("pass")  # noqa: S102 - a constant: only what running it clears matters


def reraise_if_interrupted(err: BaseException) -> None:
    """Re-raise a Ctrl-C, SIGTERM or file budget expiry (any non-Exception) that C code (py-tree-sitter
    calling Python's re) wrapped in an ordinary error, so a guard that records our own bugs does not
    swallow it as an 'internal error'."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if not isinstance(current, Exception):
            raise current
        seen.add(id(current))
        current = current.__cause__ or current.__context__


def ignore_in_worker() -> None:
    """Initializer for worker processes: the parent alone handles Ctrl-C and SIGTERM, then stops the workers,
    so each worker does not print its own KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
