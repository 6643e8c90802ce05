"""Versions of an index on disk, written atomically and verified on load (``rag.versions`` keeps the pointer,
leases and pruning)::

    index/CURRENT          "v000007"
    index/v000007/         manifest.json and the files each part writes (``rag.store.index``)

``write_version`` writes a new version into a temporary folder, records every file's size and SHA-256 in the
manifest, syncs it, renames it into place and then atomically replaces ``CURRENT``; a process killed at any
moment leaves the previous version current and whole. ``read_version`` checks every file against the manifest,
so a damaged or altered file is an error naming it, never silently wrong answers. If ``CURRENT`` is lost, the
newest version that loads is used (with a warning) rather than an empty index. An older flat folder (files
directly inside, format 1) still loads. Nothing here ever writes into a saved version, only new ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from rag.files import fsync
from rag.versions import (CURRENT, IndexLoadError, VersionGone, create_lease, leased, next_name, prune,
                          read_pointer, versions, write_pointer)

MANIFEST = "manifest.json"
RETRIES = 5
"""Times ``read_version`` reads ``CURRENT`` again when the version it named was pruned before it could lease it."""
log = logging.getLogger(__name__)
T = TypeVar("T")
Reader = Callable[[Path, dict], T]
"""Reads a verified version folder, given its manifest."""


def exists(folder: Path) -> bool:
    """Whether ``folder`` holds a saved index (either layout), even one whose ``CURRENT`` was lost."""
    return (folder / CURRENT).is_file() or (folder / MANIFEST).is_file() or bool(versions(folder))


def write_version(folder: Path, write: Callable[[Path], None], manifest: dict) -> str:
    """Save a new version whose files ``write`` puts in the folder it is given, described by ``manifest`` (sizes
    and checksums added), and make it current; returns its name. The caller holds the writer lock. Older
    versions are pruned once no reader is loading them."""
    folder.mkdir(parents=True, exist_ok=True)
    name = next_name(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=folder))
    tmp.chmod(0o755)
    write(tmp)
    data = sorted(p.name for p in tmp.iterdir())
    manifest = {**manifest, "sizes": {n: (tmp / n).stat().st_size for n in data},
                "sha256": {n: file_sha256(tmp / n) for n in data}}
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    create_lease(tmp)
    for n in (*data, MANIFEST):
        fsync(tmp / n)
    os.rename(tmp, folder / name)
    write_pointer(folder, name)
    _tidy(folder, name, data)
    return name


def read_version(folder: Path, read: Reader, readable: Iterable[int]) -> tuple[T, str | None]:
    """What ``read`` makes of the current version (of a format in ``readable``), verified, and the version's name
    (``None`` for a flat folder); raises ``IndexLoadError`` naming the bad file.

    When ``CURRENT`` is missing or names no saved version, the newest version that loads is used (logged as a
    warning); when none does, the error says how to recover.
    """
    readable = tuple(readable)
    if not (folder / CURRENT).exists() and not versions(folder) and (folder / MANIFEST).is_file():
        return _read(folder, read, readable), None
    for _ in range(RETRIES):
        name = read_pointer(folder)
        if name is None:
            return _recover(folder, read, readable)
        try:
            return _read_leased(folder, name, read, readable), name
        except VersionGone:
            continue
    raise IndexLoadError(f"{folder}: the current version changed {RETRIES} times while loading; try again")


def _read_leased(folder: Path, name: str, read: Reader, readable: tuple[int, ...]) -> T:
    with leased(folder, name) as path:
        return _read(path, read, readable)


def _recover(folder: Path, read: Reader, readable: tuple[int, ...]) -> tuple[T, str]:
    """The newest saved version that loads, when ``CURRENT`` is lost."""
    names = versions(folder)
    if not names:
        raise IndexLoadError(f"{folder}: no index here; build one with `papertrail ingest`")
    problems = []
    for name in reversed(names):
        try:
            loaded = _read_leased(folder, name, read, readable)
        except (IndexLoadError, VersionGone) as err:
            problems.append(f"{name}: {err}")
            continue
        log.warning("%s: %s is missing or names no saved version; using %s, the newest complete version",
                    folder, CURRENT, name)
        return loaded, name
    raise IndexLoadError(f"{folder}: {CURRENT} is missing and no saved version is complete "
                         f"({'; '.join(problems)}); restore the folder from a backup, or move it aside and "
                         "ingest the pages again to rebuild")


def _read(folder: Path, read: Reader, readable: tuple[int, ...]) -> T:
    if not (folder / MANIFEST).is_file():
        raise IndexLoadError(f"{folder / MANIFEST}: missing; rebuild the index with `papertrail ingest`")
    manifest = read_json(folder / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") not in readable:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise IndexLoadError(f"{folder / MANIFEST}: index format {found!r}, "
                             f"this version reads {' or '.join(map(str, readable))}; rebuild the index")
    _verify(folder, manifest)
    return read(folder, manifest)


def _verify(folder: Path, manifest: dict) -> None:
    """Every file the manifest lists has its size and SHA-256 (manifests before checksums list sizes only)."""
    for name, size in manifest.get("sizes", {}).items():
        if not (folder / name).is_file():
            raise IndexLoadError(f"{folder / name}: missing; rebuild the index")
        if (folder / name).stat().st_size != size:
            raise IndexLoadError(f"{folder / name}: {(folder / name).stat().st_size} bytes, "
                                 f"expected {size} (truncated or altered); rebuild the index")
    for name, digest in manifest.get("sha256", {}).items():
        if file_sha256(folder / name) != digest:
            raise IndexLoadError(f"{folder / name}: SHA-256 differs from the manifest (damaged or altered); "
                                 "restore the index from a backup or rebuild it")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _tidy(folder: Path, current: str, data: list[str]) -> None:
    """Prune older versions; remove leftovers of killed writers and a replaced flat layout (writer only). Flat
    files go only where a flat index's manifest is there (those it lists, or those a version holds): a folder
    that held other files keeps them."""
    prune(folder, current)
    for leftover in folder.glob(".tmp-v*"):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        flat = read_json(folder / MANIFEST)
    except IndexLoadError:
        return
    listed = flat.get("sizes") if isinstance(flat, dict) else None
    names = set(data) | (set(listed) if isinstance(listed, dict) else set())
    for name in names:
        if Path(name).name == name:
            (folder / name).unlink(missing_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexLoadError(f"{path}: unreadable ({err})") from err


def read_jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexLoadError(f"{path}: unreadable ({err})") from err
