"""Ctrl-C and SIGTERM stop a real scan: exit 130 / 143, no traceback, and no partial or truncated report.

The scan runs in a real subprocess. To signal it while it is surely scanning (not still importing), its
config file is a named pipe: opening the pipe for writing blocks until the scan opens it to read, which
it does after start-up and before walking the tree; the tree is big enough that the walk and parse
outlast the short wait that follows.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from stateaudit.pool import SIGNAL_CHECK_S, _stop_workers, completed

from .conftest import FIXTURES, REPO

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")

OLD_REPORT = '{"old": "report"}\n'


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory):
    """Twenty copies of the example platform: a scan of some seconds even on a fast machine."""
    root = tmp_path_factory.mktemp("big")
    for i in range(20):
        # A scan of the fixture in a working copy leaves its cache there: not part of the tree to scan.
        shutil.copytree(FIXTURES / "aiponge", root / f"copy{i}", ignore=shutil.ignore_patterns(".stateaudit-cache"))
    return root


def _default_sigint():
    """The scan starts with Ctrl-C's default action, as from a terminal, whatever this test run was started
    with: a shell starts background jobs with SIGINT ignored, and a program rightly keeps an inherited SIG_IGN."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_scan(tmp_path, tree, delay, jobs):
    fifo = tmp_path / "config.yml"
    os.mkfifo(fifo)
    report = tmp_path / "report.json"
    report.write_text(OLD_REPORT)
    process = subprocess.Popen(
        [sys.executable, "-m", "stateaudit", "scan", str(tree), "--format", "json", "-o", str(report),
         "--config", str(fifo), "--no-cache", "--jobs", str(jobs)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_default_sigint,
    )
    with open(fifo, "w") as config:  # returns once the scan has opened its config
        config.write("fail_on: none\n")
    time.sleep(delay)
    assert process.poll() is None, "the scan ended before it could be interrupted: " + process.communicate()[1]
    return process, report


SIGNALS = [
    # Right after start-up, while the rules' queries compile: tree-sitter calls Python's re from C there, and a
    # Ctrl-C once surfaced as "regular expression error" in a shipped rule (exit 2).
    (signal.SIGINT, 0.0, 1, 130, "interrupted"),
    (signal.SIGINT, 1.0, 1, 130, "interrupted"),  # while files are parsed and matched
    (signal.SIGTERM, 1.0, 1, 143, "terminated"),
    # With a process pool; the signal goes to the scan's whole process group, as a terminal's Ctrl-C does,
    # or to the scan alone, as a CI runner's SIGTERM may: either way the workers must stop too.
    (signal.SIGINT, 1.5, 2, 130, "interrupted"),
    (signal.SIGTERM, 1.5, 2, 143, "terminated"),
]


@pytest.mark.parametrize("sig, delay, jobs, code, word", SIGNALS,
                         ids=["sigint-early", "sigint", "sigterm", "sigint-group-pool", "sigterm-pool"])
def test_a_signal_stops_the_scan_cleanly(tmp_path, big_tree, sig, delay, jobs, code, word):
    process, report = start_scan(tmp_path, big_tree, delay, jobs)
    sent = time.monotonic()
    if jobs > 1 and sig == signal.SIGINT:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the scan did not stop within 30 s of the signal")
    assert process.returncode == code, stderr
    assert time.monotonic() - sent < 10
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == f"stateaudit: {word}; no report was written"
    assert stdout == ""
    assert report.read_text() == OLD_REPORT, "the previous report is left whole"
    assert sorted(os.listdir(tmp_path)) == ["config.yml", "report.json"], "no temp file left behind"
    if jobs > 1:
        assert not _processes_in_group(process.pid), "every worker has ended"


def _processes_in_group(group: int) -> list[int]:
    """Live processes (not zombies) whose process group is `group` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(int(entry))
    return found


def test_an_interrupt_wrapped_by_c_code_is_not_taken_for_an_internal_error():
    """py-tree-sitter reports an exception raised inside Python's re as its own error, the interrupt as context."""
    from stateaudit.interrupt import Terminated, reraise_if_interrupted

    for interrupt in (KeyboardInterrupt(), Terminated()):
        try:
            try:
                raise interrupt
            except BaseException:
                raise ValueError("regular expression error") from None  # context kept, as C code leaves it
        except ValueError as wrapped:
            assert wrapped.__context__ is interrupt
            with pytest.raises(type(interrupt)):
                reraise_if_interrupted(wrapped)
    reraise_if_interrupted(ValueError("a real bug of ours"))  # no interrupt in the chain: returns


def test_a_command_whose_interrupt_was_wrapped_still_exits_130(capsys):
    from stateaudit.interrupt import interruptible

    @interruptible
    def command():
        try:
            raise KeyboardInterrupt
        except BaseException as interrupt:
            raise ValueError("regular expression error") from interrupt

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as stopped:
            command()
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "stateaudit: interrupted; no report was written\n"


class _Woken(Exception):
    """Raised by this test's SIGINT handler, so that nothing it misses could stop the test run itself."""


def _raise_woken(_signum, _frame):
    raise _Woken


def test_ctrl_c_that_another_thread_receives_still_stops_the_wait_on_the_workers():
    """The kernel hands a process's Ctrl-C to any of its threads, the executor's own among them; Python runs
    the handler in the main thread only when that thread runs. Waiting on the workers must wake for it."""
    previous = signal.signal(signal.SIGINT, _raise_woken)
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    receiver = threading.Thread(target=time.sleep, args=(3,))
    try:
        futures = [executor.submit(time.sleep, 30)]  # a batch far longer than the wait allowed below
        receiver.start()
        threading.Timer(0.5, signal.pthread_kill, (receiver.ident, signal.SIGINT)).start()
        started = time.monotonic()
        with pytest.raises(_Woken):
            for _future in completed(futures):
                pass
        assert time.monotonic() - started < 0.5 + 5 * SIGNAL_CHECK_S + 2
    finally:
        signal.signal(signal.SIGINT, previous)
        _stop_workers(executor)
        receiver.join()


def test_an_interrupt_that_passed_through_exec_still_exits_130(tmp_path):
    """Ctrl-C that lands while a lazily imported module makes a dataclass passes out of an `exec` of a string;
    CPython then made `python -m stateaudit` die by SIGINT (-2) though it exited with 130."""
    (tmp_path / "interrupted_in_exec.py").write_text(
        "from stateaudit.interrupt import _stop\n"
        "try:\n"
        "    exec('raise KeyboardInterrupt')\n"
        "except KeyboardInterrupt:\n"
        "    _stop('interrupted', 130)\n")
    done = subprocess.run([sys.executable, "-m", "interrupted_in_exec"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"})
    assert done.returncode == 130, done.stderr
    assert done.stderr == "stateaudit: interrupted; no report was written\n"
