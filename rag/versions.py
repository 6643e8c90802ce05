"""Version folders of an index: the ``CURRENT`` pointer, reader leases and pruning.

    index/CURRENT          "v000007": the live version
    index/v000007/         one complete save (files listed in its manifest); ``.lease`` inside
    index/.lock            held by the one writer (``rag.lock``)

A reader needs a version's files only while it loads them (everything is read into memory),
so it holds a shared ``flock`` on the version's ``.lease`` for that time. Pruning removes the
versions older than the current one, skipping any it cannot lock exclusively at once (a
reader is loading it); the kernel drops the locks of a killed process, so nothing stays
pinned. Versions newer than ``CURRENT`` (a save killed before its pointer swap) are never
pruned, and nothing is pruned while ``CURRENT`` is missing.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.files import write_atomically

CURRENT = "CURRENT"
VERSION = re.compile(r"v\d{6}")
LEASE = ".lease"
TRASH = ".trash-"


class IndexLoadError(Exception):
    """A missing, corrupt or incompatible index; the message names the file."""


class VersionGone(Exception):
    """The version was pruned between reading ``CURRENT`` and leasing it: read ``CURRENT`` again."""


def versions(folder: Path) -> list[str]:
    """Saved version names, oldest first."""
    return sorted(p.name for p in folder.iterdir() if VERSION.fullmatch(p.name) and p.is_dir()) \
        if folder.is_dir() else []


def next_name(folder: Path) -> str:
    existing = versions(folder)
    return f"v{int(existing[-1][1:]) + 1 if existing else 1:06d}"


def read_pointer(folder: Path) -> str | None:
    """The version ``CURRENT`` names, or ``None`` when it is missing or names no saved version."""
    try:
        name = (folder / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise IndexLoadError(f"{folder / CURRENT}: unreadable ({err})") from err
    return name if VERSION.fullmatch(name) and (folder / name).is_dir() else None


def write_pointer(folder: Path, name: str) -> None:
    """Make ``name`` current atomically (write, sync, rename, sync the folder)."""
    write_atomically(folder / CURRENT, name + "\n")


@contextmanager
def leased(folder: Path, name: str) -> Iterator[Path]:
    """Hold a reader's lease on version ``name`` while the block reads it; ``VersionGone`` if it was pruned."""
    path = folder / name / LEASE
    try:
        fd = _open_lease(path)
    except FileNotFoundError as err:
        raise VersionGone(name) from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise VersionGone(name) from err
        if not _same_file(fd, path):
            raise VersionGone(name)
        yield folder / name
    finally:
        os.close(fd)


def prune(folder: Path, current: str) -> list[str]:
    """Remove the versions older than ``current`` that no reader is loading; returns the names removed."""
    removed = []
    for name in versions(folder):
        if name >= current:
            break
        try:
            fd = _open_lease(folder / name / LEASE)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            trash = folder / f"{TRASH}{name}-{os.getpid()}"
            os.rename(folder / name, trash)
        except OSError:
            continue
        finally:
            os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
        removed.append(name)
    for leftover in folder.glob(f"{TRASH}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return removed


def create_lease(version_dir: Path) -> None:
    """The empty lease file of a version being written."""
    (version_dir / LEASE).touch()


def _open_lease(path: Path) -> int:
    """Open (creating it for versions saved before leases existed, where allowed) a version's lease file."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except PermissionError:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
