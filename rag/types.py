"""Plain dataclasses passed between the pipeline steps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def page_label(fields: dict[str, Any], with_file: bool = False) -> str:
    """``paper · date · 第N版 · headline`` of a citation dict, unknown parts left out; the file name last when there
    is no page number, or always ``with_file``."""
    parts = [fields.get("paper"), fields.get("date"), f"第{fields['page']}版" if fields.get("page") else None,
             fields.get("title"), fields.get("source") if with_file or not fields.get("page") else None]
    return " · ".join(str(p) for p in parts if p)


@dataclass
class PageMeta:
    """What is known of a page's origin; unknown stays ``None``."""

    paper: str | None = None
    date: str | None = None
    page: int | None = None


@dataclass
class Document:
    """One ingested file (usually one printed page), raw and cleaned.

    ``spans`` maps cleaned text back to raw text: each ``(clean_start, raw_start)``
    begins a run of characters copied verbatim (cleaning only deletes characters).
    """

    doc_id: str
    source: str
    meta: PageMeta
    raw: str
    text: str
    spans: list[tuple[int, int]]
    sha256: str = ""
    path: str | None = None
    names: list[dict[str, list[str]]] | None = None
    """Per sentence of ``text`` (``rag.evidence.page_sentences``), the names tagged in it at ingest
    (``rag.names.stored``); ``None`` for pages ingested before names were stored (tagged when needed)."""

    def raw_offset(self, pos: int) -> int:
        """Map an offset in ``text`` to the matching offset in ``raw``."""
        from bisect import bisect_right

        i = bisect_right(self.spans, (pos, float("inf"))) - 1
        if i < 0:
            return pos
        clean_start, raw_start = self.spans[i]
        return raw_start + (pos - clean_start)


@dataclass
class Page:
    """One indexed page as ``PaperTrail.pages()`` lists it; ``id`` (the document id) names it to ``remove``."""

    id: str
    file: str
    """The page's source: the file name, ``NAME.pdf#p3`` for a PDF page."""
    paper: str | None
    date: str | None
    page: int | None
    title: str | None
    """The page's first headline, if it has one."""
    chunks: int
    uploaded: bool
    """Stored under ``<index>.uploads/`` (uploaded in the web chat or over the HTTP API)."""
    path: str | None = None


@dataclass
class Article:
    """A span of a cleaned page holding one story."""

    doc_id: str
    title: str | None
    start: int
    end: int
    byline: str | None = None
    jump_to: str | None = None
    jump_from: str | None = None


@dataclass
class Chunk:
    """A piece of an article sized for the embedding model; offsets index ``Document.text``."""

    chunk_id: int
    doc_id: str
    text: str
    start: int
    end: int
    title: str | None
    source: str
    meta: PageMeta
    jump: str | None = None
    """Shared by the chunks of all parts of an article continued by jump lines (（下转第三版）), over any number of pages."""
    reprint_group: str | None = None
    """Shared by the chunks of near-identical articles on different pages (found at ingest)."""

    def embed_text(self) -> str:
        """The text given to the embedder: headline first, then the passage."""
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass
class Hit:
    """A retrieved chunk with its fused score; ``reprints`` are the same story on other pages."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    reprints: list[Chunk] = field(default_factory=list)
    continued: list[Chunk] = field(default_factory=list)
    """The rest of the article on other pages, when jump lines link them."""


@dataclass
class Citation:
    """One numbered source of an answer, in the public JSON shape."""

    n: int
    paper: str | None
    date: str | None
    page: int | None
    title: str | None
    source: str
    text: str
    score: float
    sentence: str | None = None
    start: int | None = None
    end: int | None = None
    also: list[dict[str, Any]] = field(default_factory=list)
    page_image: str | None = None
    """Where the server (``serve``) gives the printed page's image, for a scanned page: ``/api/pages/ID/image``."""
    bbox: list[float] | None = None
    """The sentence's box on that image, ``[x0, y0, x1, y1]`` as fractions of its width and height."""

    def label(self) -> str:
        """Human citation line: 铜仁日报 · 2026-04-02 · 第3版 · headline."""
        return page_label(asdict(self))


@dataclass
class Filters:
    """The filters a question was asked under (``None``: not filtered), as data every store pushes down
    (``rag.store.payload``): a chunk passes when its paper is one of ``papers``, its ISO date lies in
    ``[date_from, date_to]`` and its page number is ``page``; an unknown field fails a filter on it."""

    papers: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None
    page: int | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.papers or self.date_from or self.date_to or self.page is not None)

    def describe(self, chinese: bool) -> str:
        """The filters in words, empty when there are none."""
        parts = []
        if self.papers:
            parts.append(("报纸：" if chinese else "papers: ") + ("、" if chinese else ", ").join(self.papers))
        if self.date_from or self.date_to:
            span = f"{self.date_from or '…'} – {self.date_to or '…'}"
            parts.append(("日期：" if chinese else "dates: ") + span)
        if self.page is not None:
            parts.append(f"第{self.page}版" if chinese else f"page {self.page}")
        return ("；" if chinese else "; ").join(parts)


@dataclass
class Answer:
    """An answer with its citations; ``to_dict`` gives the CLI/API JSON shape."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    notice: str | None = None
    short_answer: str | None = None
    """The asked figure, date or name alone, when the answer stage is confident of it; the answer opens with it."""
    confidence: float | None = None
    """The fitted probability that the evidence answers the question (answers are given at or above the
    model's threshold)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
