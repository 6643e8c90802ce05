"""Generate Chinese newspaper-like PDFs for tests (reportlab, CID font STSong-Light)."""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def column_pdf(path: Path, pages: list[tuple[str, list[list[str]]]], title: str | None = None,
               encrypt: str | None = None) -> Path:
    """One PDF page per ``(headline, columns)``: a headline across the page, then columns of lines."""
    c = canvas.Canvas(str(path), pagesize=(600, 800), encrypt=encrypt)
    if title:
        c.setTitle(title)
    for headline, columns in pages:
        c.setFont(FONT, 20)
        c.drawString(40, 760, headline)
        c.setFont(FONT, 10)
        width = 520 / len(columns)
        for n, lines in enumerate(columns):
            for i, line in enumerate(lines):
                c.drawString(40 + n * width, 720 - i * 14, line)
        c.showPage()
    c.save()
    return path
