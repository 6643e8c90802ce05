"""Text of e-paper PDFs, one string per page, read column by column.

Extraction uses pypdfium2 (Apache-2.0 / BSD-3-Clause, bundling PDFium), chosen over
PyMuPDF, whose AGPL licence would bind the whole app.

Newspaper pages set text in many columns. PDFium reports text as rectangles (runs of
one line); reading them in stream or y order would interleave the columns line by
line. Instead the runs, and the rectangles drawn around boxed stories, go to
``rag.layout.reading_order``: columns read one after another, headlines and banners
over several columns before the columns under them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from rag.layout import Box, Placed, page_layout, reading_order


class PdfError(Exception):
    """A PDF that cannot be read; the message gives the reason (not the file name)."""


MIN_TEXT = 20
"""A text layer is usable when it holds at least this many letters, digits or CJK characters (see ``usable``)."""
MAX_JUNK = 0.1
"""… and at most this share of its characters are U+FFFD or private-use code points (fonts without a Unicode map)."""


@dataclass
class PdfFile:
    """Page texts in reading order, printed page labels and document metadata."""

    pages: list[str]
    labels: list[str | None] = field(default_factory=list)
    title: str | None = None
    images: list[bool] = field(default_factory=list)
    """Per page, whether it holds an image (a scan, if its text layer is not ``usable``)."""
    lines: list[list[Placed]] = field(default_factory=list)
    """Per page, its text runs (one line's run of characters each) with their span in the page text and their box
    in points from the page's top left."""
    sizes: list[tuple[float, float]] = field(default_factory=list)
    """Per page, its width and height in points."""

    def scanned(self) -> list[int]:
        """Indices of the image-only pages to OCR: an image, and no usable text layer (blank pages are neither)."""
        return [i for i, text in enumerate(self.pages) if i < len(self.images) and self.images[i] and not usable(text)]


def usable(text: str) -> bool:
    """Whether a page's text layer is real text (measured in docs/ocr.md: the generated text PDFs hold 2000+
    such characters a page, image-only scans 0, a scan stamped with a page header a few)."""
    chars = [c for c in text if not c.isspace()]
    junk = sum(1 for c in chars if c == "\ufffd" or "\ue000" <= c <= "\uf8ff")
    return sum(1 for c in chars if c.isalnum()) >= MIN_TEXT and junk <= MAX_JUNK * len(chars)


def render(data: bytes, index: int, dpi: int, max_pixels: int) -> Image.Image:
    """Page ``index`` as a greyscale image at ``dpi``, or less where that would exceed ``max_pixels`` or where the
    page's images hold no more detail (a 200 dpi scan is read at 200 dpi, as the same scan as an image file
    would be, not upsampled)."""
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        width, height = page.get_size()
        native = [o.get_metadata().horizontal_dpi for o in page.get_objects([pdfium_c.FPDF_PAGEOBJ_IMAGE])]
        dpi = min(dpi, max((d for d in native if d > 0), default=dpi))
        scale = min(dpi / 72, (max_pixels / max(width * height, 1.0)) ** 0.5)
        return page.render(scale=scale, grayscale=True).to_pil().convert("L")
    except pdfium.PdfiumError as err:
        raise PdfError(_reason(err)) from err
    finally:
        pdf.close()


def read_pdf(data: bytes, max_pages: int | None = None) -> PdfFile:
    """Every page's text; raises ``PdfError`` for corrupt, truncated or encrypted files, and for one of more than
    ``max_pages`` pages (before reading any)."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        raise PdfError(_reason(err)) from err
    if max_pages is not None and len(pdf) > max_pages:
        count = len(pdf)
        pdf.close()
        raise PdfError(f"{count:,} pages, over the {max_pages:,} a file may have (Config.max_pages_per_file); "
                       "split it into editions or pages")
    try:
        pages, labels, images, lines, sizes = [], [], [], [], []
        for i in range(len(pdf)):
            page = pdf[i]
            text, placed = page_text(page)
            pages.append(text)
            lines.append(placed)
            sizes.append(page.get_size())
            labels.append(pdf.get_page_label(i) or None)
            images.append(next(page.get_objects([pdfium_c.FPDF_PAGEOBJ_IMAGE]), None) is not None)
        meta = pdf.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError as err:
        raise PdfError(_reason(err)) from err
    finally:
        pdf.close()
    return PdfFile(pages, labels, (meta.get("Title") or "").strip() or None, images, lines, sizes)


def _reason(err: Exception) -> str:
    text = str(err)
    if "password" in text.lower():
        return "encrypted PDF (password required)"
    return f"corrupt or truncated PDF ({text})"


def page_text(page: pdfium.PdfPage) -> tuple[str, list[Placed]]:
    """A page's text in reading order (``rag.layout``): text runs as lines, the page's own paths (not those inside
    form XObjects, whose bounds are in the form's space) as frames; and each run placed in that text."""
    height = page.get_height()
    textpage = page.get_textpage()
    try:
        lines = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).replace("\r", "").replace("\n", "")
            if text.strip():
                lines.append(Box(left, height - top, right, height - bottom, text))
    finally:
        textpage.close()
    bounds = (path.get_bounds() for path in page.get_objects([pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=1))
    frames = [Box(left, height - top, right, height - bottom) for left, bottom, right, top in bounds]
    return page_layout(reading_order(lines, frames))
