"""Reading order of a page from positioned text: columns, headlines and banners over them, boxed stories.

Pure geometry over plain boxes (``Box``: x0, y0, x1, y1 and text, y growing downward as in an image), so any
source of positioned lines can use it: PDF text runs (``rag.pdf``) or the OCR lines of a scanned page.

A region of the page is cut recursively, columns first:

1. Where a gutter (white at least ``GUTTER`` line heights wide) runs through the whole region, it is cut into
   columns, read left to right.
2. Otherwise something spans a gutter: a headline over several columns, a banner, a boxed story. Candidate
   gutters are the gaps between boxes that at least two rows share; the one crossed by the fewest rows wins.
   The region is cut above and below each run of rows that cross it, read top to bottom; a run that does not
   cross it is read left of the gutter, then right of it.
3. A region with neither is one block, read row by row.

A frame (a rectangle drawn around a boxed story) keeps its lines together: they are ordered on their own and
stand in the page's layout as one box around them (the frame's own outline may reach into a gutter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from statistics import median

GUTTER = 0.6
"""The narrowest white between columns, in line heights (a word space is narrower)."""
ROW_OVERLAP = 0.5
"""Boxes are on one row when they overlap vertically by more than this share of the lower one's height."""
PARAGRAPH_GAP = 1.6
"""A vertical gap above this many line heights starts a new paragraph."""
BRIDGES, BRIDGE_ROWS, BRIDGE_HEIGHT = 2, 3, 1.5
"""A line that bridges a gutter (``_unbridged``): at most this many to a gutter, with at least this many rows
above and below that leave the gutter white, at most this many line heights tall."""


@dataclass(frozen=True)
class Box:
    """A positioned piece of text (a line or part of one), or a frame when ``text`` is empty."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str = ""

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def holds(self, other: Box) -> bool:
        """Whether the centre of ``other`` lies inside this box."""
        return self.x0 <= (other.x0 + other.x1) / 2 <= self.x1 and self.y0 <= (other.y0 + other.y1) / 2 <= self.y1


@dataclass(frozen=True)
class Framed(Box):
    """The lines of a frame (their bounding box) standing in for the blocks of the boxed story they are."""

    blocks: tuple[tuple[Box, ...], ...] = ()


def reading_order(lines: Sequence[Box], frames: Sequence[Box] = ()) -> list[list[Box]]:
    """The lines as blocks in reading order: each block a column piece, headline or part of a boxed story,
    its lines row by row. A frame holding fewer than two lines' centres is ignored."""
    if not lines:
        return []
    return _unframe(_order(lines, frames, GUTTER * median(b.height for b in lines)))


@dataclass(frozen=True)
class Placed:
    """A box and the span ``[start, end)`` of its text in the page text (``page_layout``)."""

    start: int
    end: int
    box: Box


def page_layout(blocks: Sequence[Sequence[Box]]) -> tuple[str, list[Placed]]:
    """The page text of blocks in reading order (blocks apart by a blank line, each as ``block_text``) and where
    each box's text lies in it."""
    parts: list[str] = []
    placed: list[Placed] = []
    size = 0
    for block in blocks:
        previous: list[Box] | None = None
        if parts:
            parts.append("\n\n")
            size += 2
        for row in rows(block):
            if previous is not None:
                gap = min(b.y0 for b in row) - max(b.y1 for b in previous)
                parts.append("\n\n" if gap > PARAGRAPH_GAP * max(b.height for b in previous) else "\n")
                size += len(parts[-1])
            for box in sorted(row, key=lambda b: b.x0):
                placed.append(Placed(size, size + len(box.text), box))
                parts.append(box.text)
                size += len(box.text)
            previous = row
    return "".join(parts), placed


def block_text(block: Sequence[Box]) -> str:
    """The text of a block: boxes of a row joined, rows on lines, a blank line at paragraph gaps."""
    return page_layout([block])[0]


def rows(boxes: Sequence[Box]) -> list[list[Box]]:
    """Boxes grouped into rows, top to bottom: a box joins the row whose first (top) box it overlaps in height
    by ``ROW_OVERLAP`` of the lower of the two (so lines that touch, or columns set half a line apart, do
    not chain into one row)."""
    out: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b.y0, b.x0)):
        first = out[-1][0] if out else None
        if first is not None and min(box.y1, first.y1) - box.y0 > ROW_OVERLAP * min(box.height, first.height):
            out[-1].append(box)
        else:
            out.append([box])
    return out


def gaps(boxes: Sequence[Box], width: float) -> list[tuple[float, float]]:
    """The white x intervals at least ``width`` wide between the boxes, left to right."""
    out: list[tuple[float, float]] = []
    right: float | None = None
    for box in sorted(boxes, key=lambda b: b.x0):
        if right is not None and box.x0 - right >= width > 0:
            out.append((right, box.x0))
        right = box.x1 if right is None else max(right, box.x1)
    return out


def _order(lines: Sequence[Box], frames: Sequence[Box], gutter: float) -> list[list[Box]]:
    """Reading order with each outermost frame that holds lines (two or more: a rule or a tint behind one line is
    no boxed story) replaced by a ``Framed`` of their own order."""
    loose = list(lines)
    outer: list[Box] = []
    for frame in sorted(frames, key=lambda f: (f.x1 - f.x0) * (f.y1 - f.y0), reverse=True):
        if not any(o.holds(frame) for o in outer):
            outer.append(frame)
    for frame in outer:
        inside = [b for b in loose if frame.holds(b)]
        if len(inside) > 1:
            nested = [f for f in frames if f is not frame and frame.holds(f)]
            loose = [b for b in loose if not frame.holds(b)]
            blocks = tuple(tuple(b) for b in _order(inside, nested, gutter))
            loose.append(Framed(min(b.x0 for b in inside), min(b.y0 for b in inside), max(b.x1 for b in inside),
                                max(b.y1 for b in inside), blocks=blocks))
    return _cut(loose, gutter)


def _cut(boxes: list[Box], gutter: float) -> list[list[Box]]:
    """Blocks of one region: split at gutters through it, else around the rows that cross its best gutter."""
    boxes = _unbridged(boxes, gutter)
    columns = _split(boxes, [x1 for _, x1 in gaps(boxes, gutter)])
    if len(columns) > 1:
        return [block for column in columns for block in _cut(column, gutter)]
    lines = rows(boxes)
    centre = _best_gutter(lines, gutter)
    if centre is None:
        return [[b for row in lines for b in sorted(row, key=lambda b: b.x0)]]
    out: list[list[Box]] = []
    for crossing, run in groupby(lines, key=lambda row: _crosses(row, centre)):
        region = [b for row in run for b in row]
        for part in [region] if crossing else _split(region, [centre]):
            out.extend(_cut(part, gutter))
    return out


def _best_gutter(lines: list[list[Box]], gutter: float) -> float | None:
    """The centre of the gap shared by at least two rows that the fewest rows cross (leftmost on a tie).

    Gaps whose centres round to the same quarter gutter are one candidate, weighed once."""
    step = gutter / 4
    centres: dict[int, float] = {}
    for row in lines:
        for a, b in gaps(row, gutter):
            centres.setdefault(round((a + b) / 2 / step), (a + b) / 2)
    shared = [c for c in centres.values() if sum(_beside(row, c) for row in lines) >= 2]
    return min(shared, key=lambda c: (sum(_crosses(row, c) for row in lines), c), default=None)


def _unbridged(boxes: list[Box], gutter: float) -> list[Box]:
    """The boxes with the lines that bridge a gutter cut in two at it, by their characters' share of the width.

    OCR's line detector can join the short last line of one column to the line beside it in the next column
    across a narrow gutter, and that one line would hide the gutter. A bridge is a line of body height (at most
    ``BRIDGE_HEIGHT`` line heights) across a gap that at least ``BRIDGE_ROWS`` rows above it and as many below
    it leave white; at most ``BRIDGES`` lines may bridge one gap (more is a headline or a boxed story across
    the columns)."""
    if len(boxes) < 2 * BRIDGE_ROWS + 1:
        return boxes
    body = median(b.height for b in boxes)
    lines = rows(boxes)
    for centre in sorted({(a + b) / 2 for row in lines for a, b in gaps(row, gutter)}):
        bridges = [b for b in boxes if b.x0 < centre < b.x1]
        if not bridges or len(bridges) > BRIDGES or any(b.height > BRIDGE_HEIGHT * body or len(b.text) < 2
                                                        for b in bridges):
            continue
        white = [(a, b) for a, b in gaps([b for b in boxes if b not in bridges], gutter) if a <= centre <= b]
        if not white or any(b.x0 >= white[0][0] or b.x1 <= white[0][1] for b in bridges):
            continue  # a bridge reaches into the columns on both sides
        beside = [row for row in lines if _beside(row, centre)]
        top, bottom = min(b.y0 for b in bridges), max(b.y1 for b in bridges)
        if (sum(min(b.y1 for b in row) <= top for row in beside) >= BRIDGE_ROWS
                and sum(max(b.y0 for b in row) >= bottom for row in beside) >= BRIDGE_ROWS):
            return [part for b in boxes for part in (_cut_at(b, *white[0]) if b in bridges else [b])]
    return boxes


def _cut_at(box: Box, left: float, right: float) -> list[Box]:
    """A line cut in two across the white from ``left`` to ``right``, its text by the share of the width on each
    side of the white's middle."""
    n = round(len(box.text) * ((left + right) / 2 - box.x0) / (box.x1 - box.x0))
    n = min(max(n, 1), len(box.text) - 1)
    return [Box(box.x0, box.y0, min(left, box.x1), box.y1, box.text[:n].rstrip()),
            Box(max(right, box.x0), box.y0, box.x1, box.y1, box.text[n:].lstrip())]


def _crosses(row: list[Box], x: float) -> bool:
    return any(b.x0 < x < b.x1 for b in row)


def _beside(row: list[Box], x: float) -> bool:
    """Whether the row has boxes left and right of ``x`` and none across it."""
    return not _crosses(row, x) and any(b.x1 <= x for b in row) and any(b.x0 >= x for b in row)


def _split(boxes: list[Box], cuts: list[float]) -> list[list[Box]]:
    """The boxes between consecutive x cuts (none crosses one), left to right, empty parts dropped."""
    parts: list[list[Box]] = [[] for _ in range(len(cuts) + 1)]
    for box in boxes:
        parts[sum(box.x0 >= c for c in cuts)].append(box)
    return [p for p in parts if p]


def _unframe(blocks: list[list[Box]]) -> list[list[Box]]:
    """Blocks with every ``Framed`` replaced by its own blocks, the lines before and after it kept apart."""
    out: list[list[Box]] = []
    for block in blocks:
        for framed, run in groupby(block, key=lambda b: isinstance(b, Framed)):
            if framed:
                out.extend(_unframe([list(inner) for f in run for inner in f.blocks]))
            else:
                out.append(list(run))
    return out
