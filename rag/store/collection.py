"""The documents and their chunks by stable id, with the lookups retrieval and answers need.

A chunk's id is given once, when it is added (``next_id`` only grows, and is saved), and never renumbered: removing
a page leaves every other chunk's id as it was, so the stores (``rag.store``) key vectors and BM25 rows by it.
The chunks of one page get consecutive ids, in page order.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.split import chunks_by_page
from rag.types import Chunk, Document, Page, PageMeta

CHUNK_FIELDS = ("chunk_id", "doc_id", "start", "end", "title", "jump", "reprint_group")
"""What ``chunks.jsonl`` keeps of a chunk (its text, source and metadata come from its document)."""
CACHES = ("_by_id", "by_page", "_jumps", "by_reprint", "_reprint_dates")


class Collection:
    """Documents by id (in ingest order) and their chunks (ascending ids)."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.chunks: list[Chunk] = []
        self.next_id = 0

    def ids(self) -> np.ndarray:
        return np.array([c.chunk_id for c in self.chunks], np.int64)

    def chunk(self, chunk_id: int) -> Chunk:
        """The chunk with this id (``KeyError`` if there is none)."""
        return self._by_id[chunk_id]

    def add_chunks(self, documents: Iterable[Document], chunks: list[Chunk]) -> np.ndarray:
        """Add documents and their chunks, giving the chunks the next ids; returns them."""
        for doc in documents:
            self.documents[doc.doc_id] = doc
        for i, chunk in enumerate(chunks, self.next_id):
            chunk.chunk_id = i
        self.next_id += len(chunks)
        self.chunks.extend(chunks)
        self.touch()
        return np.array([c.chunk_id for c in chunks], np.int64)

    def remove_documents(self, doc_ids: Iterable[str]) -> tuple[list[Document], np.ndarray]:
        """Drop documents with their chunks; returns the documents and the chunk ids removed."""
        gone = [self.documents.pop(d) for d in set(doc_ids) if d in self.documents]
        removed = np.array([c.chunk_id for c in self.chunks if c.doc_id not in self.documents], np.int64)
        if gone:
            self.chunks = [c for c in self.chunks if c.doc_id in self.documents]
            self.touch()
        return gone, removed

    def set_page_meta(self, doc_id: str, meta: PageMeta) -> tuple[Document, np.ndarray]:
        """Give a document and its chunks ``meta``; returns the new document and its chunk ids. The document is
        replaced, not changed in place, so a collection this one was copied from keeps the old metadata."""
        doc = self.documents[doc_id] = replace(self.documents[doc_id], meta=meta)
        for chunk in self.by_page.get(doc_id, []):
            chunk.meta = meta
        return doc, np.array([c.chunk_id for c in self.by_page.get(doc_id, [])], np.int64)

    def copy(self) -> Collection:
        """An independent copy to change while readers keep using this one (chunks are relinked in place)."""
        other = copy.copy(self)
        other.__dict__ = {k: v for k, v in self.__dict__.items() if k not in CACHES}
        other.documents = dict(self.documents)
        other.chunks = [replace(c) for c in self.chunks]
        return other

    def touch(self) -> None:
        """Forget cached lookups after chunks were added, removed or relinked in place."""
        for name in CACHES:
            self.__dict__.pop(name, None)

    @cached_property
    def _by_id(self) -> dict[int, Chunk]:
        return {c.chunk_id: c for c in self.chunks}

    @cached_property
    def by_page(self) -> dict[str, list[Chunk]]:
        """Chunks by document id, in page order."""
        return chunks_by_page(self.chunks)

    @cached_property
    def _jumps(self) -> dict[str, list[Chunk]]:
        out: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            if c.jump is not None:
                out.setdefault(c.jump, []).append(c)
        return out

    @cached_property
    def by_reprint(self) -> dict[str, list[Chunk]]:
        """The chunks of each reprint group."""
        out: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            if c.reprint_group:
                out.setdefault(c.reprint_group, []).append(c)
        return out

    @cached_property
    def _reprint_dates(self) -> dict[str, str]:
        """The earliest page date of each reprint group's copies (groups with no dated copy left out)."""
        dates = {group: min((c.meta.date for c in chunks if c.meta.date), default=None)
                 for group, chunks in self.by_reprint.items()}
        return {group: date for group, date in dates.items() if date}

    def story_date(self, chunk: Chunk) -> str | None:
        """When ``chunk``'s story was printed: its page's date, else the earliest date of a dated reprint of it (a
        page of unknown date carrying a wire story printed it about then too)."""
        return chunk.meta.date or self._reprint_dates.get(chunk.reprint_group or "")

    def neighbours(self, chunk: Chunk) -> list[Chunk]:
        """The chunk and the chunks just before and after it on its page."""
        page = self.by_page.get(chunk.doc_id, [])
        at = next((i for i, c in enumerate(page) if c.chunk_id == chunk.chunk_id), None)
        return [] if at is None else page[max(at - 1, 0) : at + 2]

    def continuation(self, chunk: Chunk) -> list[Chunk]:
        """Chunks of the other parts of ``chunk``'s article, on other pages (see ``rag.jumps``)."""
        if chunk.jump is None:
            return []
        return [c for c in self._jumps.get(chunk.jump, []) if c.doc_id != chunk.doc_id]

    def find(self, key: str) -> list[Document]:
        """Documents whose id, source (``NAME`` or ``NAME#p3``) or path is ``key``; a PDF name gives all its pages."""
        return [d for d in self.documents.values()
                if key in (d.doc_id, d.source, d.path) or d.source.split("#")[0] == key]

    def chunk_counts(self) -> Counter[str]:
        """How many chunks each document has."""
        return Counter(c.doc_id for c in self.chunks)

    def pages(self, uploads_dir: Path) -> list[Page]:
        """The pages, in ingest order; ``uploaded`` when the file lies in ``uploads_dir``."""
        counts = self.chunk_counts()
        titles: dict[str, str] = {}
        for chunk in self.chunks:
            if chunk.title:
                titles.setdefault(chunk.doc_id, chunk.title)
        uploads = os.path.abspath(uploads_dir)
        return [Page(d.doc_id, d.source, d.meta.paper, d.meta.date, d.meta.page, titles.get(d.doc_id),
                     counts[d.doc_id], bool(d.path) and os.path.dirname(d.path) == uploads, d.path)
                for d in self.documents.values()]

    def rows(self) -> tuple[list[dict], list[dict]]:
        """The rows of ``documents.jsonl`` and ``chunks.jsonl``."""
        return [asdict(d) for d in self.documents.values()], \
            [{k: getattr(c, k) for k in CHUNK_FIELDS} for c in self.chunks]

    def read_rows(self, documents: list[dict], chunks: list[dict], next_id: int | None) -> None:
        """Fill an empty collection from saved rows; ``next_id`` is ``None`` for indexes saved before it was kept
        (whose ids are their row numbers)."""
        for row in documents:
            row["meta"] = PageMeta(**row["meta"])
            row["spans"] = [tuple(s) for s in row["spans"]]
            doc = Document(**row)
            self.documents[doc.doc_id] = doc
        for row in chunks:
            doc = self.documents[row["doc_id"]]
            self.chunks.append(Chunk(text=doc.text[row["start"]:row["end"]], source=doc.source, meta=doc.meta, **row))
        ids = self.ids()
        if len(ids) and (np.any(np.diff(ids) <= 0) or ids[0] < 0):
            raise ValueError("chunk ids not ascending")
        if next_id is None and not np.array_equal(ids, np.arange(len(ids))):
            raise ValueError("an index saved before ids were stable has ids 0, 1, 2, … in order")
        self.next_id = next_id if next_id is not None else len(ids)
        if len(ids) and self.next_id <= ids[-1]:
            raise ValueError(f"next id {self.next_id} not above the last id {ids[-1]}")
