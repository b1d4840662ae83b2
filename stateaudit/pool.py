"""Stage 3 across processes: per-file matching on every core, files sent in batches.

Only per-file work runs here (parse, queries, local facts); it yields a picklable record per file, its
matches already pickled (match.PackedResult). Classification needs the whole service, so it stays in the
calling process. Records are handed out one by one as they arrive, keyed by the file's path, so what the
caller does with them never depends on which worker finished first, and nothing here keeps them.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .bounds import DEFAULT_FILE_BUDGET_S, BudgetExceeded, cpu_budget, generated_shape
from .cache import ResultCache, content_digest, gc_paused
from .interrupt import ignore_in_worker
from .match import MAX_FILE_BYTES, FileResult, PackedResult, match_file, pack, prepare, read_head, unpack
from .model import ParseError, SourceFile
from .ruleset import RuleSet

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

# Below this much source a pool costs more (process start, result transfer) than it saves.
POOL_MIN_BYTES = 1_000_000
POOL_MIN_FILES = 16
# Batches per worker: few enough that each carries many files, enough that the join of a service can start
# before the pool ends.
BATCHES_PER_JOB = 16
# The last part of the work goes in smaller batches, down to this fraction of a full one: a worker that
# takes a full batch last keeps the scan waiting on it while the other cores have nothing left to do.
SMALLEST_BATCH = 1 / 8

Progress = Callable[[int], None]
_WORKER: dict = {}


def default_jobs() -> int:
    """The cores this process may run on (the affinity mask, not the machine's count, where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class FileWork:
    """What every file's work needs, sent once to each worker."""

    ruleset: RuleSet
    cache: ResultCache | None = None
    budget_s: float = DEFAULT_FILE_BUDGET_S  # CPU seconds per file; 0 for none
    include_browser: bool = False  # scan files whose content is browser code
    max_bytes: int = MAX_FILE_BYTES  # larger files are skipped as too-large, unread beyond this


def packed_records(files: list[SourceFile], work: FileWork, jobs: int, progress: Progress | None = None,
                   min_pool_bytes: int = POOL_MIN_BYTES,
                   keys: dict[str, str | None] | None = None) -> Iterator[tuple[str, PackedResult, bool]]:
    """(path, record, parsed now?) for every file, one at a time as each is ready: first the records the
    cache holds for unchanged content, then the others as workers finish them (and store them).

    Nothing is kept here once handed out, so the caller decides what stays in memory. `keys` are the
    files' cache keys when the caller has hashed them already.
    """
    cache = work.cache
    if cache is None or not cache.records.has_any():  # a cold scan: nothing to look up
        yield from ((rel, record, True) for rel, record in _matched(files, work, jobs, progress, min_pool_bytes))
        return
    missing: list[SourceFile] = []
    for file in files:
        key = keys[file.rel] if keys is not None and file.rel in keys else cache.key_of(file)
        with gc_paused():
            record = cache.get(key) if key is not None else None
        if record is None:
            missing.append(file)
            continue
        if progress is not None:
            progress(1)
        yield file.rel, record, False
    for rel, record in _matched(missing, work, jobs, progress, min_pool_bytes):
        yield rel, record, True


def match_files(files: list[SourceFile], work: FileWork, jobs: int, progress: Progress | None = None,
                min_pool_bytes: int = POOL_MIN_BYTES) -> dict[str, FileResult]:
    """FileResult per file path, matches included; in one process for small scans or jobs=1, else in a pool."""
    return {rel: unpack(record) for rel, record in _matched(files, work, jobs, progress, min_pool_bytes)}


def _matched(files: list[SourceFile], work: FileWork, jobs: int, progress: Progress | None,
             min_pool_bytes: int) -> Iterator[tuple[str, PackedResult]]:
    sizes = [_size(f) for f in files]
    if jobs <= 1 or len(files) < max(POOL_MIN_FILES, 2 * jobs) or sum(sizes) < min_pool_bytes:
        with fewer_young_collections():
            for file in files:
                yield file.rel, packed_record(file, work)
                if progress is not None:
                    progress(1)
        return
    # Imported here: a scan small enough for one process (a rescan after one edit) needs neither.
    from concurrent.futures import ProcessPoolExecutor

    prepare(work.ruleset, (f.language for f in files))
    if work.cache is not None:  # else the forked workers would write the records kept here once more
        work.cache.records.flush()
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=_start_worker,
                                   initargs=(work,))
    try:
        with fewer_young_collections():  # the parent joins each record as it comes: it makes no cycles either
            # Each future is let go of once handed out, so no batch's records outlive their use.
            futures = [executor.submit(_match_batch, b) for b in batches_by_size(files, sizes, jobs)]
            left = len(futures)
            for future in completed(futures):
                blobs, stored = future.result()
                del future
                left -= 1
                if not left:  # the workers are idle: gone before the caller joins the last records
                    executor.shutdown()
                if work.cache is not None:
                    work.cache.records.adopt(stored)
                if progress is not None:
                    progress(len(blobs))
                blobs.reverse()
                while blobs:
                    rel, blob = blobs.pop()
                    with gc_paused():  # a record is many small objects
                        record = pickle.loads(blob)
                    del blob
                    yield rel, record
    except BaseException:  # Ctrl-C, SIGTERM, a broken pool, the caller gone: stop the workers now
        _stop_workers(executor)
        raise
    executor.shutdown()


SIGNAL_CHECK_S = 0.2  # how long the parent waits on its workers at most before Python's signal handlers run


def completed(futures: list[Future]) -> Iterator[Future]:
    """Each future as it completes (as `as_completed` gives them), waking every SIGNAL_CHECK_S meanwhile.

    The kernel hands a Ctrl-C or SIGTERM to any thread of the process: to the executor's manager or queue
    feeder thread as well as to the main thread. Python's handler then runs only when the main thread runs
    again, and a wait without a timeout left it asleep until the next batch was done: on a big batch the scan
    went on for tens of seconds after Ctrl-C. Nothing keeps a future once it is handed out.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = set(futures)
    futures.clear()
    while pending:
        done, pending = wait(pending, timeout=SIGNAL_CHECK_S, return_when=FIRST_COMPLETED)
        while done:
            yield done.pop()


# Matching a file makes tens of thousands of short-lived objects and no reference cycles (the fact tables
# refer back to their file's analysis weakly). At Python's default of 700, a young collection ran every few
# hundred allocations and walked whatever of the file's tables was alive then, promoting it to be walked again
# by the older collections: on saleor about 14 % of a worker's time. Every 20,000 allocations is about once
# a file, and with no cycles made it lets no more garbage wait.
YOUNG_COLLECTION_EVERY = 20_000


def _collect_young_less_often() -> None:
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_COLLECTION_EVERY), older, oldest)


@contextmanager
def fewer_young_collections() -> Iterator[None]:
    """Young collections every YOUNG_COLLECTION_EVERY allocations while this process matches files or takes
    the records the workers matched (and, between two, while its caller joins them: records are acyclic too).
    Left as it is until the generator that holds it ends or is closed."""
    thresholds = gc.get_threshold()
    _collect_young_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    """Cancel queued batches and end running ones: a `with` block would wait for every queued batch.

    ProcessPoolExecutor has no public way to end busy workers; its `_processes` map is the documented-by-
    source way every 'terminate the pool' recipe uses, and a missing attribute only means no early stop.
    A worker killed outright could die halfway through writing a batch's records to the result pipe: the
    executor's manager thread then waits for the rest of that message for ever, and so does this shutdown
    (5 of 84 interrupted pool scans of the tests here). So a worker takes SIGTERM as "stop after this file",
    which the file budget bounds, and hands back what it has through the pipe as usual.
    """
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.terminate()  # SIGTERM: the worker ends its batch after the file it is matching (_stop_soon)
    executor.shutdown(wait=True, cancel_futures=True)


def batches_by_size(files: list[SourceFile], sizes: list[int], jobs: int) -> list[list[SourceFile]]:
    """Consecutive runs of files, largest batches first so the tail is short.

    A batch holds about a `jobs * BATCHES_PER_JOB`-th of the bytes while more than `4 * jobs` such batches
    remain; after that each takes a quarter of a worker's share of what is left, down to `SMALLEST_BATCH`
    of a full batch. On saleor, 32 equal batches of about 0.7 s of CPU each left one core idle for 0.3 to
    0.7 s at the end while the other finished its last batch.
    """
    total = sum(sizes)
    full = max(1, total // (jobs * BATCHES_PER_JOB))
    smallest = max(1, int(full * SMALLEST_BATCH))
    batches: list[list[SourceFile]] = []
    weights: list[int] = []
    current: list[SourceFile] = []
    weight, remaining = 0, total
    target = _batch_target(remaining, full, smallest, jobs)
    for file, size in zip(files, sizes, strict=True):
        current.append(file)
        weight += size
        if weight >= target:
            batches.append(current)
            weights.append(weight)
            remaining -= weight
            current, weight = [], 0
            target = _batch_target(remaining, full, smallest, jobs)
    if current:
        batches.append(current)
        weights.append(weight)
    order = sorted(range(len(batches)), key=lambda i: -weights[i])
    return [batches[i] for i in order]


def _batch_target(remaining: int, full: int, smallest: int, jobs: int) -> int:
    """The bytes of the next batch: a full one, or a quarter of a worker's share of what is left."""
    return max(smallest, min(full, remaining // (4 * jobs)))


def _size(file: SourceFile) -> int:
    try:
        return os.stat(file.fs_path).st_size  # no Path object per file: this runs before the pool starts
    except OSError:
        return 0


def _context():
    """fork on Linux: workers inherit the compiled queries instead of compiling them again."""
    import multiprocessing

    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def match_one(file: SourceFile, work: FileWork) -> FileResult:
    """One file's record with its matches (see packed_record)."""
    return unpack(packed_record(file, work))


def packed_record(file: SourceFile, work: FileWork) -> PackedResult:
    """Read a file once; skip it if it looks generated, else match it within its CPU budget; pack it.

    With a cache, the record is stored under the hash of the very bytes that were read, so a file
    changed during the scan can never leave a record under the wrong content; it is kept for this process's
    next pack (cache.RecordPacks).
    """
    result, key = _packed(file, work)
    if key is not None:
        work.cache.put(key, result)
    return result


def _packed(file: SourceFile, work: FileWork) -> tuple[PackedResult, str | None]:
    """The file's record, and the cache key of the bytes it was made from (None without a cache)."""
    try:
        data = read_head(file, work.max_bytes + 1)
    except OSError:
        # match_file reports why it cannot be read
        return pack(match_file(file, work.ruleset, work.include_browser, work.max_bytes)), None
    shape = generated_shape(data)
    if shape is not None:
        result = pack(FileResult(error=ParseError(file.rel, f"skipped: {shape}", "minified")))
    else:
        result = pack(_within_budget(file, work, data))
    return result, work.cache.key(file, content_digest(data)) if work.cache is not None else None


def _within_budget(file: SourceFile, work: FileWork, data: bytes) -> FileResult:
    try:
        with cpu_budget(work.budget_s):
            return match_file(file, work.ruleset, work.include_browser, work.max_bytes, data)
    except BudgetExceeded:
        message = f"cut short after {work.budget_s:g} s of CPU time (file_budget); not scanned"
        return FileResult(error=ParseError(file.rel, message, "budget"))


def _start_worker(work: FileWork) -> None:
    """Per worker process: keep the rule set; its queries compile on first use (or are inherited).

    Ctrl-C reaches every process of the terminal's group: workers ignore it and the parent, alone,
    stops them (see _stop_workers), so the user sees one line instead of a traceback per worker.
    """
    ignore_in_worker()
    signal.signal(signal.SIGTERM, _stop_soon)
    _WORKER["work"] = work
    gc.freeze()  # what the worker inherits lives as long as it: no collection need walk it again
    _collect_young_less_often()


def _stop_soon(_signum: int, _frame: object) -> None:
    """A worker's SIGTERM: end the batch after the current file, not in the middle of writing its records."""
    _WORKER["stopping"] = True


def _match_batch(batch: list[SourceFile]) -> tuple[list[tuple[str, bytes]], list]:
    """The batch's records, pickled, and where the cache stored them (one pack per batch, named in the
    parent's index). Pickled here once, the same bytes are stored and sent: the pool's own pickling of
    them is then a copy."""
    work = _WORKER["work"]
    done = []
    for file in batch:
        if _WORKER.get("stopping"):
            break  # the parent is stopping the scan: what is done so far goes back whole
        result, key = _packed(file, work)
        blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        if key is not None:
            work.cache.records.add(key, blob)
        done.append((file.rel, blob))
    return done, work.cache.records.flush() if work.cache is not None else []


__all__ = ["FileWork", "batches_by_size", "default_jobs", "match_files", "match_one", "packed_record",
           "packed_records"]
