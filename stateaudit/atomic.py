"""The one way stateaudit writes a file: a temp file beside the target, flushed to disk, then renamed over it.

os.replace is atomic on POSIX and Windows when both names are on the same file system, which a temp file in
the target's own folder guarantees. So a reader (a CI step, a browser, the next run reading its cache or
baseline) sees the old file or the new one, never half of one; an interrupted or failing run leaves the
existing file as it was and no temp file behind.

A target that exists and is not a regular file (`-o /dev/null`, `-o /dev/stdout`, a named pipe) is written
in place: renaming over it would replace the device with a file, for every program on the machine.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, content: str | bytes, encoding: str = "utf-8", durable: bool = True) -> None:
    """Replace `path` with `content` in one step; raises OSError (e.g. the folder does not exist).

    `durable` flushes the data to disk before the rename, so even a power cut leaves the old file or the new
    one. Cache entries, thousands per scan and only worth speed, skip it (and keep mkstemp's private mode).
    """
    data = content.encode(encoding) if isinstance(content, str) else content
    write_atomic_with(path, lambda handle: handle.write(data), durable)


def write_atomic_with(path: Path, write: Callable[[BinaryIO], object], durable: bool = True) -> None:
    """write_atomic of what `write(handle)` writes: a large pickle streams to the file (pickle.dump) instead
    of being held whole in memory first."""
    path = Path(path)
    if _special(path):
        with path.open("wb") as handle:
            write(handle)
        return
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if durable:
            os.chmod(temp, _mode_for(path))
        os.replace(temp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temp file behind
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _special(path: Path) -> bool:
    """An existing target that is not a regular file or a link to one: a device or a pipe."""
    try:
        return not stat.S_ISREG(path.stat().st_mode) and not path.is_dir()
    except OSError:
        return False


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets what open() would give it (0o666 minus umask).

    mkstemp creates 0o600 files, which would make a report unreadable to the web server or CI user that
    reads it next.
    """
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask
