"""What the last walk of a scan found, and the state of the file system it found it in.

A rescan of an unchanged tree then neither walks it (the `.gitignore` matching, the role and test checks,
a Path per file) nor reads and hashes its files: it asks the file system for the status of every folder
listed, every `.gitignore` and manifest read and every file kept, and, when each is as recorded, takes the
last walk's outcome. A file whose status changed is read and hashed again; a folder, `.gitignore` or
manifest whose status changed means a whole walk again (files keep the shortcut there too).

A status is (device, inode, size, mtime, ctime), taken *before* the folder is listed or the file read, so a
change made while it was read shows in the next status. ctime is set by the kernel on every write, rename
and permission change and cannot be set back (`touch -d`, `cp -p` and `git checkout` set mtime, not
ctime), so a same-size edit with its mtime restored is still seen. What a status cannot tell apart is two
writes within one tick of the file system's clock: a status is kept only when its mtime and ctime are at
least RACY_SECONDS older than the moment it was taken (as git does with its index); a newer one is
checked again, by content, on the next scan. The content hash stays the cache's key: this memory only
says which files need no new hash. A clock set back, or a file system that does not keep ctime, defeats
it; `--no-cache` does without it. On Windows st_ctime is the creation time: no status is trusted there.

The record lives in the result cache's folder, one per scan root, path list and config, written
atomically; a damaged one is ignored and the tree walked again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cache import ResultCache
    from .services import ServiceMap

WALKS = "walks"  # the cache part holding walk records

# A status younger than this when taken may be followed by an edit that leaves it as it is (same clock tick).
RACY_SECONDS = 2.0
# Only where st_ctime is the inode's change time (POSIX) does a status catch an edit with its mtime set back;
# on Windows it is the creation time, so no status is trusted there and every scan walks and reads.
CTIME_IS_CHANGE_TIME = os.name != "nt"

StatKey = tuple[int, int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns
# A file's read check: (status when settled, else None; (message, reason code) when skipped; content hash)
FileState = tuple[StatKey | None, tuple[str, str] | None, str]


def stat_key(status: os.stat_result) -> StatKey:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def status_of(path: str) -> StatKey | None:
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None


@dataclass
class WalkRecord:
    """One walk's outcome and the status of everything it read. Only a `replayable` record stands for a
    whole walk: every folder and watched file had a settled status and nothing else (a symlink, an
    unreadable folder) decided anything."""

    folders: dict[str, StatKey] = field(default_factory=dict)  # folder path -> status before its listing
    watched: dict[str, StatKey] = field(default_factory=dict)  # .gitignore and manifest files -> status
    kept: list[tuple[str, str, bool]] = field(default_factory=list)  # (rel, language, test), in walk order
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (rel, role), in walk order
    listings: dict[str, frozenset[str]] = field(default_factory=dict)  # folder rel -> manifest names in it
    files: dict[str, FileState] = field(default_factory=dict)  # rel -> its read check
    replayable: bool = True
    services: ServiceMap | None = None  # the services found from this walk's files and manifests, if asked
    service_files: list[tuple[str, str]] | None = None  # the (rel, language) of the files they were found from


class WalkMemory:
    """The record of the last walk (`previous`, None if none) and the one this walk makes (`now`).

    `root_walk` says this walk covers the scan root whole, the only kind that may be replayed.
    """

    def __init__(self, previous: WalkRecord | None, root_walk: bool) -> None:
        self.previous = previous if isinstance(previous, WalkRecord) else None
        self.now = WalkRecord(replayable=root_walk)
        self.read: list[str] = []  # files read and hashed in this walk
        self.replayed: WalkRecord | None = None  # the last record, once still_valid found it stands for this walk
        self._since = time.time_ns() - int(RACY_SECONDS * 1e9)  # statuses older than this are settled

    def settled(self, key: StatKey | None) -> bool:
        """Can this status stand for the content it was taken with, on a later scan?"""
        return CTIME_IS_CHANGE_TIME and key is not None and key[3] < self._since and key[4] < self._since

    def folder(self, path: str) -> None:
        """Take a folder's status; call it before listing the folder."""
        self._note(self.now.folders, path)

    def watch(self, path: str) -> None:
        """Take the status of a file the walk's decisions read (.gitignore, manifest); call before reading."""
        self._note(self.now.watched, path)

    def _note(self, table: dict[str, StatKey], path: str) -> None:
        key = status_of(path)
        if not self.settled(key):
            self.now.replayable = False
            return
        table[path] = key

    def give_up_replay(self) -> None:
        """Something decided the walk that no status covers (a symlink, an unreadable folder)."""
        self.now.replayable = False

    def read_check(self, path: str, rel: str, check) -> tuple[tuple[str, str] | None, str]:
        """`check(status)` of the file, or its last outcome when its status is as recorded and settled.

        `check` gets the os.stat_result taken before it reads (None if the file cannot be stat'ed).
        """
        try:
            status = os.stat(path)
        except OSError:
            self.read.append(rel)
            problem, digest = check(None)
            self.now.files[rel] = (None, problem, digest)
            return problem, digest
        key = stat_key(status)
        old = self.previous.files.get(rel) if self.previous is not None else None
        if old is not None and old[0] is not None and old[0] == key:
            problem, digest = old[1], old[2]
        else:
            self.read.append(rel)
            problem, digest = check(status)
        unstable = problem is not None and problem[1] == "unreadable"  # may pass; never trust it
        self.now.files[rel] = (key if self.settled(key) and not unstable else None, problem, digest)
        return problem, digest

    def still_valid(self) -> WalkRecord | None:
        """The last record when it stands for a whole walk of the tree as it is now, else None."""
        old = self.previous
        if old is None or not old.replayable or not self.now.replayable:
            return None
        for table in (old.folders, old.watched):
            for path, key in table.items():
                if status_of(path) != key:
                    return None
        self.replayed = old
        return old

    def services(self, files: list[tuple[str, str]], detect: Callable[[], ServiceMap]) -> ServiceMap:
        """The services of `files` ((rel, language) each): those of the replayed record when they were found
        from these very files, else `detect()`; kept in the record made now.

        A replayed record's manifests are watched files whose statuses are as recorded, so the services read
        from them are as `detect()` would find them. Only for services whose folders the walk listed: a
        service root the walk did not enter (config `service_roots`) has manifests no status covers.
        """
        last = self.replayed
        if last is not None and last.services is not None and last.service_files == files:
            found = last.services
        else:
            found = detect()
        self.now.services, self.now.service_files = found, files
        return found

    def changed(self) -> bool:
        """Is the record made now worth writing (the last one, if any, says something else)?"""
        old = self.previous
        return old is None or old.files != self.now.files or old.replayable != self.now.replayable \
            or old.kept != self.now.kept or old.folders != self.now.folders or old.watched != self.now.watched \
            or old.excluded != self.now.excluded or old.listings != self.now.listings \
            or old.services != self.now.services or old.service_files != self.now.service_files


def load_memory(cache: ResultCache, key: str, root_walk: bool) -> WalkMemory:
    """The memory of the walk stored under `key` (a damaged or missing record: a walk from scratch)."""
    return WalkMemory(cache.get_join(key, WALKS), root_walk)


def save_memory(cache: ResultCache, key: str, memory: WalkMemory) -> None:
    """Store the record this walk made, unless it says what the stored one says (atomic; failures cost speed)."""
    if memory.changed():
        cache.put_join(key, memory.now, WALKS)


__all__ = ["RACY_SECONDS", "WALKS", "WalkMemory", "WalkRecord", "load_memory", "save_memory", "stat_key",
           "status_of"]
