"""Read a regular file safely (never a pipe, device or socket, never more than a size limit); write one atomically.

``stat`` (links followed) refuses anything but a regular file before it is opened; the file
is opened non-blocking (a pipe swapped in meanwhile cannot hang the reader) and checked
again on its descriptor, and at most ``limit + 1`` bytes are read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class FileRefused(Exception):
    """Not a regular file, or over the size limit; the message gives the reason (not the path)."""


class TooLarge(FileRefused):
    """Over the size limit."""


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit``); raises ``FileRefused`` or ``OSError``."""
    _check(os.stat(path), limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        _check(os.fstat(fd), limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"over the {limit}-byte limit (it grew while being read)")
    return data


def _check(info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in KINDS if test(info.st_mode)), "a special file")
        raise FileRefused(f"is {kind}, not a regular file; only regular files are read")
    if info.st_size > limit:
        raise TooLarge(f"{info.st_size} bytes is over the {limit}-byte limit")


def fsync(path: Path) -> None:
    """Flush a file's (or a folder's) contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a kill at any moment leaves the old file or the new one, whole: write a
    hidden temporary file beside it, sync it, rename it over ``path`` and sync the folder (one writer at a time)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    fsync(tmp)
    os.replace(tmp, path)
    fsync(path.parent)
