"""Where a page's text lies on its page image, so evidence can be shown on the printed page.

A scanned page keeps its OCR line boxes (``rag.scan``), each with its span in the cleaned page text: a sentence's
or chunk's box is derived from its ``(start, end)`` span, the lines it covers, cut at the characters where it
starts and ends (CJK type is set on a fixed pitch, so a character's place in a line is its share of the line).
Boxes are kept per document id in ``boxes.json`` beside the index files (plain JSON, no pickle); the page image
shown is a display copy in ``Config.ocr_dir``.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import asdict, dataclass, field
from itertools import takewhile
from pathlib import Path

from rag.layout import Placed
from rag.types import Citation, Document

BOXES = "boxes.json"
IMAGE_ROUTE = "/api/pages/{id}/image"
"""Where ``serve`` gives a page's image (``ui.api.rest``)."""


@dataclass
class PageBoxes:
    """A page's image (a file name in ``Config.ocr_dir``, ``width`` × ``height`` pixels) and its lines:
    ``[start, end, x0, y0, x1, y1]``, the span in the cleaned page text and the box in the image's pixels."""

    image: str
    width: int
    height: int
    lines: list[list[float]] = field(default_factory=list)

    def box(self, start: int, end: int) -> list[float] | None:
        """The box ``[x0, y0, x1, y1]`` of the text ``[start, end)`` as fractions of the page (0–1): around the
        first column's lines of the span (a sentence running on into the next column is marked where it
        starts); ``None`` when no line holds it."""
        held = [line for line in self.lines if line[0] < end and line[1] > start]
        if not held:
            return None
        head = held[0]
        parts = [(x0 + (x1 - x0) * max(0, start - s) / (e - s), y0, x1 - (x1 - x0) * max(0, e - end) / (e - s), y1)
                 for s, e, x0, y0, x1, y1 in takewhile(lambda line: line[2] < head[4] and line[4] > head[2], held)]
        x0, y0 = min(p[0] for p in parts) / self.width, min(p[1] for p in parts) / self.height
        x1, y1 = max(p[2] for p in parts) / self.width, max(p[3] for p in parts) / self.height
        return [round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4)]


@dataclass(frozen=True)
class PageImage:
    """A page's display image on disk, and the size of the image its boxes measure (the same shape)."""

    path: Path
    width: int
    height: int


def page_boxes(doc: Document, image: str, width: int, height: int, placed: list[Placed]) -> PageBoxes:
    """The boxes of a page whose raw text the ``placed`` lines index, moved to spans of the cleaned text."""
    index = [doc.raw_offset(i) for i in range(len(doc.text))]
    lines = []
    for p in placed:
        start, end = bisect_left(index, p.start), bisect_left(index, p.end)
        if end > start:
            lines.append([start, end, round(p.box.x0, 1), round(p.box.y0, 1), round(p.box.x1, 1), round(p.box.y1, 1)])
    return PageBoxes(image, width, height, lines)


def save_boxes(path: Path, boxes: dict[str, PageBoxes], documents: dict[str, Document]) -> None:
    """Write the boxes of the documents still indexed."""
    rows = {d: asdict(b) for d, b in boxes.items() if d in documents}
    path.write_text(json.dumps(rows, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def load_boxes(path: Path) -> dict[str, PageBoxes]:
    """The stored boxes; none for an index saved before they were kept. Raises ``ValueError`` when unreadable."""
    if not path.is_file():
        return {}
    try:
        return {d: PageBoxes(**row) for d, row in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, UnicodeDecodeError, TypeError, AttributeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable ({err})") from err


def mark(citations: list[Citation], documents: dict[str, Document], boxes: dict[str, PageBoxes]) -> None:
    """Give each citation of a page with boxes its ``page_image`` route and the ``bbox`` of its sentence."""
    by_source: dict[str, list[Document]] = {}
    for doc in documents.values():
        by_source.setdefault(doc.source, []).append(doc)
    for c in citations:
        quoted = c.sentence or c.text
        doc = next((d for d in by_source.get(c.source, []) if d.doc_id in boxes and c.start is not None
                    and d.text[c.start:c.end] in quoted), None)
        if doc is not None and (box := boxes[doc.doc_id].box(c.start, c.end)) is not None:
            c.page_image, c.bbox = IMAGE_ROUTE.format(id=doc.doc_id), box
