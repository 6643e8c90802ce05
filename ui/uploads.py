"""Store uploaded pages safely beside the index, with their metadata sidecar."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path

from rag.load import SUFFIXES
from rag.metadata import iso_date, sidecar_path
from rag.types import PageMeta

UNSAFE = re.compile(r"[^\w\-.]+")
MAX_STEM = 80


class UploadError(ValueError):
    """An upload refused before ingest; the message is meant for the user."""


def safe_name(name: str) -> str:
    """A plain file name: no folders, no leading dots, only word characters, '-', '_' and '.'."""
    base = Path(name.replace("\\", "/")).name
    suffix = Path(base).suffix.lower()
    stem = UNSAFE.sub("_", base[: len(base) - len(suffix)] if suffix else base).strip("._")
    return (stem[:MAX_STEM] or "page") + suffix


def page_meta(paper: str | None, day: str | None, page: str | int | None) -> PageMeta:
    """Validate the metadata typed for an upload; empty fields stay unknown."""
    paper = (paper or "").strip() or None
    typed = (day or "").strip()
    day = iso_date(typed)
    if typed and not day:
        raise UploadError(f"Date {typed!r} is not a date like 2026-04-02.")
    page = str(page if page is not None else "").strip()
    if page and not (page.isdigit() and int(page) >= 1):
        raise UploadError(f"Page {page!r} must be a whole number from 1.")
    return PageMeta(paper=paper, date=day, page=int(page) if page else None)


def store_upload(source: Path, name: str, folder: Path, meta: PageMeta, max_bytes: int) -> Path:
    """Copy an uploaded file into ``folder`` under a safe, unused name and write its sidecar."""
    target_name = safe_name(name)
    suffix = Path(target_name).suffix
    if suffix not in SUFFIXES:
        raise UploadError(f"{name}: {suffix or 'files without an extension'} cannot be indexed; "
                          f"upload {', '.join(sorted(SUFFIXES))}.")
    size = source.stat().st_size
    if size > max_bytes:
        raise UploadError(f"{name}: {size:,} bytes is over the {max_bytes:,}-byte limit.")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / target_name
    stem, n = target.stem, 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    shutil.copyfile(source, target)
    if any(v is not None for v in asdict(meta).values()):
        sidecar_path(target).write_text(json.dumps(asdict(meta), ensure_ascii=False), encoding="utf-8")
    return target


def discard(path: Path) -> None:
    """Remove a stored upload and its sidecar (used when ingest refused or skipped it)."""
    path.unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)
