"""Store uploaded pages safely beside the index, with their metadata sidecar, and ingest them."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from rag.ingest import IngestReport
from rag.load import SUFFIXES
from rag.metadata import MAX_PAGE, iso_date, sidecar_path, write_sidecar
from rag.pipeline import PaperTrail
from rag.types import PageMeta
from ui.i18n import Refusal, t

UNSAFE = re.compile(r"[^\w\-.]+")
MAX_STEM_BYTES = 160
"""A stored name's stem, in UTF-8 bytes: with a "-N" to make it unique, its suffix, ".meta.json" and a temporary
suffix it stays under the 255 bytes a file name may have."""
log = logging.getLogger(__name__)


class UploadError(Refusal):
    """An upload refused before ingest; the message is meant for the user."""


def safe_name(name: str) -> str:
    """A plain file name: no folders, no leading dots, only word characters, '-', '_' and '.'."""
    base = Path(name.replace("\\", "/")).name
    suffix = Path(base).suffix.lower()
    stem = UNSAFE.sub("_", base[: len(base) - len(suffix)] if suffix else base).strip("._")
    stem = stem.encode("utf-8")[:MAX_STEM_BYTES].decode("utf-8", "ignore")
    return (stem or "page") + suffix


def page_meta(paper: str | None, day: str | None, page: str | int | None) -> PageMeta:
    """Validate the metadata typed for an upload; empty fields stay unknown."""
    paper = (paper or "").strip() or None
    typed = (day or "").strip()
    day = iso_date(typed)
    if typed and not day:
        raise UploadError("bad_date", typed=typed)
    page = str(page if page is not None else "").strip()
    if page and not (page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_PAGE):
        raise UploadError("bad_page", typed=page)
    return PageMeta(paper=paper, date=day, page=int(page) if page else None)


def store_upload(source: Path, name: str, folder: Path, meta: PageMeta, max_bytes: int) -> Path:
    """Copy an uploaded file into ``folder`` under a safe, unused name and write its sidecar."""
    target_name = safe_name(name)
    suffix = Path(target_name).suffix
    if suffix not in SUFFIXES:
        raise UploadError("not_indexable", name=name, suffix=suffix or t("en", "no_suffix"),
                          allowed=", ".join(sorted(SUFFIXES)))
    size = source.stat().st_size
    if size > max_bytes:
        raise UploadError("too_large", name=name, size=size, limit=max_bytes)
    folder.mkdir(parents=True, exist_ok=True)
    stem, n = Path(target_name).stem, 1
    while True:  # the name is claimed atomically, so uploads arriving at once never share a file
        target = folder / (target_name if n == 1 else f"{stem}-{n}{suffix}")
        try:
            with target.open("xb") as out, source.open("rb") as data:
                shutil.copyfileobj(data, out)
            break
        except FileExistsError:
            n += 1
        except OSError as err:  # a full disk, a name the file system refuses: nothing half-stored stays
            target.unlink(missing_ok=True)
            raise UploadError("not_stored", name=name, reason=err.strerror or type(err).__name__) from err
    try:
        if any(v is not None for v in asdict(meta).values()):
            write_sidecar(target, meta)
    except OSError as err:
        discard(target)
        raise UploadError("not_stored", name=name, reason=err.strerror or type(err).__name__) from err
    return target


def discard(path: Path) -> None:
    """Remove a stored upload and its sidecar (used when ingest refused or skipped it)."""
    path.unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)


@dataclass
class Upload:
    """What became of one uploaded file: ``added`` (``stored`` is its copy), or ``refused``, ``failed`` or
    ``skipped`` (already indexed) for the ``reasons`` given."""

    name: str
    outcome: Literal["added", "refused", "failed", "skipped"]
    stored: Path | None = None
    chunks: int = 0
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def add_upload(rag: PaperTrail, source: Path, name: str, meta: PageMeta,
               progress: Callable[[int, int], None] | None = None, lang: str = "en",
               ocr_progress: Callable[[int, int], None] | None = None) -> Upload:
    """Store ``source`` (uploaded as ``name``) beside the index and ingest it; a copy not added is discarded.

    Chats keep being answered from the current version while the page is embedded (``PaperTrail.ingest``).
    Reasons of the web chat's own refusals are in ``lang``; those of ingest come from ``rag`` (English)."""
    try:
        stored = store_upload(source, name, rag.config.uploads_dir, meta, rag.config.max_file_bytes)
    except UploadError as err:
        return Upload(name, "refused", reasons=[err.message(lang)])
    try:
        report = rag.ingest([stored], progress=progress, ocr_progress=ocr_progress)
    except Exception as err:  # a front end's boundary: the reason goes to the user, the trace to the server log
        log.exception("ingest failed: %s", stored)
        report = IngestReport(failed=[f"{name}: {err}"])
    # reasons and warnings name the file as uploaded: where the server keeps uploads is not the browser's business
    warnings = [w.replace(str(stored), name) for w in report.warnings]
    if report.indexed:
        return Upload(name, "added", stored, report.chunks, warnings=warnings)
    discard(stored)
    if report.failed:
        return Upload(name, "failed", reasons=[r.replace(str(stored), name) for r in report.failed], warnings=warnings)
    return Upload(name, "skipped", reasons=[t(lang, "already_indexed", name=name)], warnings=warnings)
