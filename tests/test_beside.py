"""A task run in a forked child beside the parent's chores (discovery beside compiling, on a cold scan)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stateaudit.beside import can_fork, run_beside

pytestmark = pytest.mark.skipif(not can_fork(), reason="discovery runs beside compiling only where fork is")


def _wait_for(condition, what: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def _has_exited(pid: int) -> bool:
    """Has our child exited (a zombie until we reap it)?"""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rpartition(")")[2].split()[0] == "Z"


def test_the_task_runs_in_a_child_while_the_chores_run_here(tmp_path):
    """The task waits for what the first chore writes: the two can only meet if they run at once."""
    parent = os.getpid()
    marker = tmp_path / "compiled"
    ran: list[int] = []

    def task() -> tuple[int, str]:
        _wait_for(marker.exists, "the chore's marker")
        return os.getpid(), marker.read_text(encoding="utf-8")

    def chore() -> None:
        ran.append(os.getpid())
        # Written whole, then named: the task polls for the name and must not read a file still empty.
        partial = tmp_path / "compiled.partial"
        partial.write_text("written by the parent", encoding="utf-8")
        os.replace(partial, marker)

    pid, seen = run_beside(task, [chore])
    assert pid != parent and seen == "written by the parent"
    assert ran == [parent]


def test_chores_not_begun_when_the_task_is_done_are_left(tmp_path):
    pid_file = tmp_path / "pid"
    ran: list[str] = []

    def task() -> str:
        pid_file.write_text(str(os.getpid()), encoding="ascii")
        return "found"

    def first() -> None:
        ran.append("first")
        _wait_for(lambda: pid_file.exists() and pid_file.read_text(encoding="ascii"), "the child's pid")
        _wait_for(lambda: _has_exited(int(pid_file.read_text(encoding="ascii"))), "the child to exit")

    assert run_beside(task, [first, lambda: ran.append("second"), lambda: ran.append("third")]) == "found"
    assert ran == ["first"]


def test_an_exception_in_the_task_is_raised_here():
    def task() -> None:
        raise ValueError("cannot read folder")

    with pytest.raises(ValueError, match="cannot read folder"):
        run_beside(task, [])


def test_a_child_that_dies_without_an_answer_costs_only_time():
    parent = os.getpid()

    def task() -> int:
        if os.getpid() != parent:
            os._exit(3)  # killed before it could answer
        return os.getpid()

    assert run_beside(task, []) == parent


def test_a_result_larger_than_a_pipe_holds_comes_back_whole():
    """The child blocks writing until the parent reads: the parent must read while it waits, not after."""
    big = [str(i) * 20 for i in range(50_000)]
    assert run_beside(lambda: big, [lambda: None] * 3) == big


def test_the_child_leaves_the_parents_files_alone(tmp_path):
    """The child ends without flushing buffers or running exit handlers it shares with the parent."""
    out = tmp_path / "log.txt"
    with out.open("w", encoding="utf-8") as handle:
        handle.write("written once\n")  # still in the buffer when the child is forked
        run_beside(lambda: Path(tmp_path).is_dir(), [])
    assert out.read_text(encoding="utf-8") == "written once\n"


def test_a_process_with_over_a_thousand_open_files_still_waits_on_its_child():
    """select.select cannot watch a descriptor numbered over 1023; a long-running host process may hold that many."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip(f"this machine allows {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100) if hard == resource.RLIM_INFINITY
                                                 else max(soft, min(hard, 1100)), hard))
    held = [os.open(os.devnull, os.O_RDONLY)]
    try:
        while held[-1] < 1030:
            held.append(os.dup(held[0]))
        ran: list[str] = []
        assert run_beside(lambda: "found", [lambda: ran.append("chore")]) == "found"
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
