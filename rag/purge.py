"""Delete the stored copies of removed pages (uploads, OCR results) once no indexed page comes from them."""

from __future__ import annotations

from pathlib import Path

from rag.store import Index
from rag.metadata import sidecar_path
from rag.ocr import OcrCache
from rag.types import Document


def purge_uploads(removed: list[Document], index: Index, folder: Path) -> list[Path]:
    """Unlink the upload files (and sidecars) of ``removed`` that ``index`` no longer holds; returns them."""
    kept = {d.path for d in index.documents.values()}
    root = folder.resolve()
    gone = []
    for path in sorted({Path(d.path) for d in removed if d.path and d.path not in kept}):
        if path.parent.resolve() == root:
            path.unlink(missing_ok=True)
            sidecar_path(path).unlink(missing_ok=True)
            gone.append(path)
    return gone


def purge_ocr(digests: set[str], index: Index, folder: Path) -> None:
    """Delete the cached OCR results and page images (``rag.ocr``) of the file contents ``digests`` (removed
    pages', or files read but not indexed) that ``index`` does not hold."""
    kept = {d.sha256 for d in index.documents.values()}
    OcrCache(folder).forget({d for d in digests if d and d not in kept})
