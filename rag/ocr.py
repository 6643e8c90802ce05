"""Offline OCR of page images into positioned lines, with results reused by content hash.

The engine is ``rapidocr-onnxruntime`` 1.4 (Apache-2.0): PP-OCRv4 Chinese detection and
recognition models shipped inside its wheel, run on ONNX Runtime, so nothing is downloaded.
It is the optional extra ``papertrail[ocr]``; without it a scan is refused with a message
naming the extra. Lines come back as ``rag.layout.Box`` in the image's pixels (y down), in
the engine's order; ``rag.scan`` puts them in reading order.

OCR costs seconds per page, so each page's lines are kept in ``Config.ocr_dir`` under the
SHA-256 of the file and the page number: the same file ingested again (after a killed run,
into another index, after ``remove``) is not read twice.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import median
from typing import Any

from PIL import Image

from rag.files import write_atomically
from rag.layout import Box

DISPLAY_SIDE = 2000
"""The long side, in pixels, of the page images kept for display (``OcrCache.display``)."""
ENGINE = "rapidocr-onnxruntime-1.4/PP-OCRv4"
"""Part of every cache key: results of another engine or model are not reused."""
MISSING = ("scanned pages need the OCR extra: pip install 'papertrail[ocr]' (rapidocr-onnxruntime, offline "
           "PP-OCRv4 models)")


class OcrUnavailable(Exception):
    """The OCR extra is not installed; the message says how to install it."""


@lru_cache(maxsize=1)
def _engine() -> Any:
    """The RapidOCR engine, built once per process (0.3 s): no angle classifier (printed pages are upright), no
    downscaling of large pages (small newspaper type would blur)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as err:
        raise OcrUnavailable(MISSING) from err
    return RapidOCR(use_cls=False, max_side_len=100_000)


@dataclass
class OcrPage:
    """The text lines of one page image and the image's size, in pixels."""

    width: int
    height: int
    lines: list[Box]
    skew: float = 0.0
    """The page's tilt in degrees (clockwise positive, y down): the median slope of its long lines."""


def recognise(image: Image.Image) -> OcrPage:
    """The text lines of a page image as boxes around them; raises ``OcrUnavailable``."""
    result, _ = _engine()(image)
    lines, slopes = [], []
    for quad, text, _score in result or []:
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        if text.strip():
            lines.append(Box(float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)), text.strip()))
        (x0, y0), (x1, y1) = quad[0], quad[1]
        if x1 - x0 > 3 * abs(quad[3][1] - y0):
            slopes.append(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return OcrPage(*image.size, lines, median(slopes) if slopes else 0.0)


class OcrCache:
    """OCR results per page, one JSON file per page in ``folder``, keyed by file hash and page."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, digest: str, page: int) -> Path:
        return self.folder / f"{digest}-p{page}.json"

    def get(self, digest: str, page: int) -> OcrPage | None:
        """The cached result, or ``None`` when missing, of another engine, or unreadable."""
        try:
            row = json.loads(self.path(digest, page).read_text(encoding="utf-8"))
            if row.get("engine") != ENGINE:
                return None
            lines = [Box(*map(float, line[:4]), str(line[4])) for line in row["lines"]]
            return OcrPage(int(row["width"]), int(row["height"]), lines, float(row["skew"]))
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def put(self, digest: str, page: int, result: OcrPage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        row = {"engine": ENGINE, "width": result.width, "height": result.height, "skew": result.skew,
               "lines": [[b.x0, b.y0, b.x1, b.y1, b.text] for b in result.lines]}
        write_atomically(self.path(digest, page), json.dumps(row, ensure_ascii=False))

    def read(self, digest: str, page: int, image: Callable[[], Image.Image]) -> OcrPage:
        """The page's result: from the cache, else recognised in ``image()`` (decoded only then) and cached."""
        result = self.get(digest, page)
        if result is None:
            result = recognise(image())
            self.put(digest, page, result)
        return result

    def display(self, digest: str, page: int, image: Callable[[], Image.Image]) -> str:
        """The file name of the page's display copy (greyscale JPEG, long side at most ``DISPLAY_SIDE``),
        written from ``image()`` when missing."""
        path = self.folder / f"{digest}-p{page}.jpg"
        if not path.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            copy = image().convert("L")
            copy.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
            tmp = path.with_name(f".{path.name}.tmp")
            copy.save(tmp, "JPEG", quality=80)
            os.replace(tmp, path)
        return path.name

    def forget(self, digests: set[str]) -> None:
        """Delete the cached pages and display copies of these files (their pages were removed from the index)."""
        for digest in digests:
            for path in self.folder.glob(f"{digest}-p*"):
                path.unlink(missing_ok=True)
