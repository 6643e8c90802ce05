"""One writer per index folder: an exclusive ``fcntl.flock`` on ``INDEX/.lock``.

The lock belongs to the open file, so the kernel releases it when the writer exits,
even after ``kill -9``; a stale lock file never blocks anyone.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK = ".lock"


class IndexBusyError(Exception):
    """Another process is writing the index; the message names the folder."""


@contextmanager
def write_lock(folder: Path) -> Iterator[None]:
    """Hold the index's writer lock, or raise ``IndexBusyError`` at once if another process has it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise IndexBusyError(f"{folder}: the index is being changed by {holder}; "
                                 "try again when that ingest or remove has finished") from err
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
