"""Text of e-paper PDFs, one string per page, read column by column.

Extraction uses pypdfium2 (Apache-2.0 / BSD-3-Clause, bundling PDFium), chosen over
PyMuPDF, whose AGPL licence would bind the whole app.

Newspaper pages set text in many columns. PDFium reports text as rectangles (runs of
one line); reading them in stream or y order would interleave the columns line by
line. Instead, narrow runs are grouped into column bands by their x extent, runs
wider than one band (headlines over several columns) cut the page into horizontal
sections, and each section is read band by band, top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pypdfium2 as pdfium

WIDE_RUN = 0.45
"""A run wider than this share of the page spans columns (a headline or a wide paragraph)."""
PARAGRAPH_GAP = 1.6
"""A vertical gap above this many line heights starts a new paragraph."""


class PdfError(Exception):
    """A PDF that cannot be read; the message gives the reason (not the file name)."""


@dataclass
class PdfFile:
    """Page texts in reading order, printed page labels and document metadata."""

    pages: list[str]
    labels: list[str | None] = field(default_factory=list)
    title: str | None = None


@dataclass
class Run:
    """One line-long piece of text and its box (PDF points, origin bottom left)."""

    text: str
    left: float
    bottom: float
    right: float
    top: float


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
    """A page's text in column reading order."""
    textpage = page.get_textpage()
    try:
        runs = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).replace("\r", "").replace("\n", "")
            if text.strip():
                runs.append(Run(text, left, bottom, right, top))
    finally:
        textpage.close()
    return reading_order(runs, page.get_width())


def reading_order(runs: list[Run], width: float) -> str:
    """Join runs section by section (cut by wide runs), column by column, top to bottom."""
    narrow = [r for r in runs if r.right - r.left <= WIDE_RUN * width]
    bands = column_bands(narrow)
    wide = sorted((r for r in runs if not _inside_one_band(r, bands)), key=lambda r: -r.top)
    blocks: list[list[Run]] = []
    cuts = [float("inf")] + [r.top for r in wide] + [float("-inf")]
    wide_block: list[Run] | None = None
    for upper, lower, head in zip(cuts, cuts[1:], [None, *wide]):
        if head is not None and wide_block is not None:
            wide_block.append(head)
        elif head is not None:
            wide_block = [head]
            blocks.append(wide_block)
        section = [r for r in narrow if lower < _mid(r) <= upper]
        for left, right in bands:
            column = [r for r in section if left <= r.left and r.right <= right]
            if column:
                blocks.append(column)
                wide_block = None
    return "\n\n".join(_join_lines(block) for block in blocks)


def column_bands(runs: list[Run]) -> list[tuple[float, float]]:
    """Merged x intervals of the runs: one per column, left to right."""
    bands: list[list[float]] = []
    for r in sorted(runs, key=lambda r: r.left):
        if bands and r.left <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], r.right)
        else:
            bands.append([r.left, r.right])
    return [(a, b) for a, b in bands]


def _inside_one_band(run: Run, bands: list[tuple[float, float]]) -> bool:
    return any(left <= run.left and run.right <= right for left, right in bands)


def _mid(run: Run) -> float:
    return (run.top + run.bottom) / 2


def _join_lines(runs: list[Run]) -> str:
    """Runs of one column as lines (same baseline joined), blank line at paragraph gaps."""
    runs = sorted(runs, key=lambda r: (-round(r.top, 0), r.left))
    out: list[str] = []
    previous: Run | None = None
    for run in runs:
        if previous is None:
            out.append(run.text)
        elif run.bottom < _mid(previous) < run.top or previous.bottom < _mid(run) < previous.top:
            out.append(run.text)
        else:
            height = max(previous.top - previous.bottom, 1.0)
            out.append(("\n\n" if previous.bottom - run.top > PARAGRAPH_GAP * height else "\n") + run.text)
        previous = run
    return "".join(out)
