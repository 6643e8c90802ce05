"""Text of scanned pages: page images and image-only PDF pages, OCR'd and put in reading order; and the page
image behind a PDF page with a text layer.

Each page image is OCR'd into line boxes (``rag.ocr``, results reused by content hash), and the
lines go through the same column geometry as a PDF's text runs (``rag.layout``): columns one
after another, headlines over several columns before the columns under them. The page text
then takes the same clean → articles → split path as any page. Every line's box and its span in
the page text are kept (``Scan.lines``), so evidence can be shown on the page image. A PDF page with
a usable text layer keeps its text runs' boxes the same way (``text_layer``), on a display copy
rendered from the PDF.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache as cache_result
from dataclasses import dataclass, field

from PIL import Image
from tqdm import tqdm

from rag.config import Config
from rag.images import image_frames
from rag.layout import Box, Placed, page_layout, reading_order
from rag.ocr import DISPLAY_SIDE, OcrCache, OcrPage
from rag.pdf import PdfFile, render


@dataclass
class Scan:
    """One page image with its text in reading order and where each line lies on it: a scan's OCR lines (in
    the image's pixels), or a PDF page's text runs (in points, ``width`` × ``height`` the page's size)."""

    number: int
    """The page's index in its file (a frame of a TIFF, a page of a PDF), from 0."""
    text: str
    width: int
    height: int
    image: str
    """The page's display copy, a file name in ``Config.ocr_dir``."""
    lines: list[Placed] = field(default_factory=list)


Pages = Callable[[int, int], None]
"""Called with (pages OCR'd, pages to OCR) of one file as each page is done (the web upload's progress bar)."""


def scan_image(data: bytes, digest: str, name: str, config: Config, pages: Pages | None = None) -> list[Scan]:
    """Every frame of an image file, OCR'd; raises ``ImageError`` or ``OcrUnavailable``."""
    frames = image_frames(data, config.max_image_pixels, config.max_pages_per_file)
    return _scan({i: lambda frame=frame: frame for i, frame in enumerate(frames)}, digest, name, config, pages)


def scan_pdf(data: bytes, digest: str, name: str, numbers: list[int], config: Config,
             pages: Pages | None = None) -> list[Scan]:
    """The given pages of a PDF, rendered at ``Config.ocr_dpi`` (less over ``Config.max_image_pixels``) and
    OCR'd; raises ``PdfError`` or ``OcrUnavailable``."""
    return _scan({i: lambda i=i: render(data, i, config.ocr_dpi, config.max_image_pixels) for i in numbers},
                 digest, name, config, pages)


def text_layer(data: bytes, digest: str, pdf: PdfFile, number: int, config: Config) -> Scan:
    """PDF page ``number`` (which has a usable text layer) with its text runs placed, on a display copy rendered
    now, once per file content (``OcrCache.display``)."""
    width, height = pdf.sizes[number]
    dpi = 72 * DISPLAY_SIDE / max(width, height, 1.0)
    image = OcrCache(config.ocr_dir).display(digest, number, lambda: render(data, number, dpi, config.max_image_pixels))
    return Scan(number, pdf.pages[number], round(width), round(height), image, pdf.lines[number])


def _scan(images: dict[int, Callable[[], Image.Image]], digest: str, name: str, config: Config,
          pages: Pages | None) -> list[Scan]:
    """OCR each page (its number and a function giving its image), with a progress bar per page."""
    cache = OcrCache(config.ocr_dir)
    out = []
    if pages:
        pages(0, len(images))
    for number, image in tqdm(images.items(), desc=f"OCR {name}", unit="page", disable=not config.show_progress):
        image = cache_result(image)  # rendered once for OCR and the display copy
        result = cache.read(digest, number, image)
        level = upright(result)
        text, placed = page_layout(reading_order(level))
        out.append(Scan(number, text, result.width, result.height, cache.display(digest, number, image),
                        [Placed(p.start, p.end, box) for p, box in zip(placed, on_page(placed, level, result.lines))]))
        if pages:
            pages(len(out), len(images))
    return out


def on_page(placed: list[Placed], level: list[Box], lines: list[Box]) -> list[Box]:
    """Each placed box where it lies on the page image: its OCR line (``lines``, of which ``level`` are the
    levelled boxes), or, for a piece of a line the reading order cut at a gutter, that part of its line."""
    original = {id(u): box for u, box in zip(level, lines)}
    out = []
    for p in placed:
        box = original.get(id(p.box))
        if box is None:
            whole = next(u for u in level if u.y0 == p.box.y0 and u.y1 == p.box.y1 and u.x0 <= p.box.x0 < u.x1)
            line = original[id(whole)]
            box = Box(line.x0 + p.box.x0 - whole.x0, line.y0, line.x0 + p.box.x1 - whole.x0, line.y1, p.box.text)
        out.append(box)
    return out


def upright(page: OcrPage) -> list[Box]:
    """The lines as they lie on the page turned level (by ``-skew`` about its centre), for the column geometry: a
    page scanned 1.5° askew has no straight gutter from top to bottom, the same page level has. A tilted line's
    box is taller than the line by its width × the slope; the level box is the line's own height."""
    turn = math.radians(-page.skew)
    cos, sin, slope = math.cos(turn), math.sin(turn), abs(math.tan(turn))
    cx, cy = page.width / 2, page.height / 2
    out = []
    for box in page.lines:
        x, y = (box.x0 + box.x1) / 2 - cx, (box.y0 + box.y1) / 2 - cy
        mx, my = cx + x * cos - y * sin, cy + x * sin + y * cos
        half_w = (box.x1 - box.x0) / 2
        half_h = max((box.y1 - box.y0) - (box.x1 - box.x0) * slope, (box.y1 - box.y0) / 3) / 2
        out.append(Box(mx - half_w, my - half_h, mx + half_w, my + half_h, box.text))
    return out
