"""Generate Chinese newspaper-like PDFs for tests (reportlab, CID font STSong-Light)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
HEIGHT = 800


def column_pdf(path: Path, pages: list[tuple[str, list[list[str]]]], title: str | None = None,
               encrypt: str | None = None) -> Path:
    """One PDF page per ``(headline, columns)``: a headline across the page, then columns of lines."""
    c = canvas.Canvas(str(path), pagesize=(600, HEIGHT), encrypt=encrypt)
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


@dataclass
class Lines:
    """Lines set from ``x`` with their top at ``top`` (points from the top of the page), 1.4 sizes apart."""

    x: float
    top: float
    lines: list[str]
    size: float = 10


def layout_pdf(path: Path, blocks: list[Lines], frames: list[tuple[float, float, float, float]] = ()) -> Path:
    """A one-page PDF (600 × 800 points) with each block drawn where it says, and a rectangle for each frame
    ``(left, top, right, bottom)`` in points from the top left, as around a boxed side story."""
    c = canvas.Canvas(str(path), pagesize=(600, HEIGHT))
    for block in blocks:
        c.setFont(FONT, block.size)
        for i, line in enumerate(block.lines):
            c.drawString(block.x, HEIGHT - block.top - (i * 1.4 + 1) * block.size, line)
    for left, top, right, bottom in frames:
        c.rect(left, HEIGHT - bottom, right - left, bottom - top)
    c.showPage()
    c.save()
    return path
