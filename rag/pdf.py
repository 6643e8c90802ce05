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

from rag.layout import Box, block_text, reading_order


class PdfError(Exception):
    """A PDF that cannot be read; the message gives the reason (not the file name)."""


@dataclass
class PdfFile:
    """Page texts in reading order, printed page labels and document metadata."""

    pages: list[str]
    labels: list[str | None] = field(default_factory=list)
    title: str | None = None


def read_pdf(data: bytes) -> PdfFile:
    """Every page's text; raises ``PdfError`` for corrupt, truncated or encrypted files."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        raise PdfError(_reason(err)) from err
    try:
        pages, labels = [], []
        for i in range(len(pdf)):
            page = pdf[i]
            pages.append(page_text(page))
            labels.append(pdf.get_page_label(i) or None)
        meta = pdf.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError as err:
        raise PdfError(_reason(err)) from err
    finally:
        pdf.close()
    return PdfFile(pages, labels, (meta.get("Title") or "").strip() or None)


def _reason(err: Exception) -> str:
    text = str(err)
    if "password" in text.lower():
        return "encrypted PDF (password required)"
    return f"corrupt or truncated PDF ({text})"


def page_text(page: pdfium.PdfPage) -> str:
    """A page's text in reading order (``rag.layout``): text runs as lines, the page's own paths (not those inside
    form XObjects, whose bounds are in the form's space) as frames."""
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
    return "\n\n".join(block_text(block) for block in reading_order(lines, frames))
