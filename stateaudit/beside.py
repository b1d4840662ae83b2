"""One task run in a forked child while the parent gets on with chores of its own.

A cold scan starts with two jobs that need nothing of each other: walking the tree (discovery, about half
a second on a large monorepo) and compiling the rules' joined queries (about as long again). Compiled
queries cannot leave the process that compiled them, and the pool's workers inherit them by fork, so the
parent compiles and a child walks. Compiling holds the GIL: a thread would wait for it.

A bare os.fork and a pipe, not multiprocessing: importing that costs more than a small scan's walk, and a
small scan never starts the pool that would need it.
"""

from __future__ import annotations

import os
import pickle
import select
import sys
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Linux only: elsewhere fork is missing or unsafe (macOS frameworks), and a spawned child would import
    everything again."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def run_beside(task: Callable[[], T], chores: Iterable[Callable[[], object]]) -> T:
    """`task()`, run in a forked child while this process runs `chores`, one by one, until it is done.

    Chores not begun by then are left undone: the caller does what it still needs once it knows what
    the task found. The task's result must pickle. An exception in the task is raised here; a child
    that dies without an answer (killed, out of memory) costs the time: the task then runs here.
    Ctrl-C reaches the parent alone, which ends the child.
    """
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(reading)
        _answer(task, writing)
    os.close(writing)  # the child's end: once it exits, reading sees the end instead of waiting forever
    answered = select.poll()  # not select.select, which fails on a descriptor numbered over 1023
    answered.register(reading, select.POLLIN | select.POLLHUP)
    try:
        for chore in chores:
            if answered.poll(0):
                break
            chore()
        answer = _read_all(reading)
    except BaseException:
        _end(pid)
        raise
    finally:
        os.close(reading)
    os.waitpid(pid, 0)
    try:
        succeeded, value = pickle.loads(answer)
    except Exception:  # noqa: BLE001 - no whole answer: the child died on the way
        return task()
    if not succeeded:
        raise value
    return value


def _answer(task: Callable[[], object], writing: int) -> None:
    """In the child: run the task, write its pickled outcome and leave without running the parent's exit
    handlers or flushing its buffers (they are the parent's to flush)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent alone answers Ctrl-C
    code = 0
    try:
        try:
            outcome: tuple[bool, object] = (True, task())
        except BaseException as err:  # noqa: BLE001 - handed to the parent, which raises it
            outcome = (False, err)
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # noqa: BLE001 - the result or the exception does not pickle: our bug, said so
            data = pickle.dumps((False, RuntimeError(f"the task run beside could not hand back its outcome: "
                                                     f"{err!r}")))
        with os.fdopen(writing, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # noqa: BLE001 - the parent sees no whole answer and runs the task itself
        code = 1
    finally:
        os._exit(code)


def _read_all(reading: int) -> bytes:
    chunks = []
    while chunk := os.read(reading, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _end(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


__all__ = ["can_fork", "run_beside"]
