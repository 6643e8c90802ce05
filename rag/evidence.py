"""Candidate answer sentences: whole sentences of the page around each hit, with their stored vectors.

A chunk boundary may cut a sentence; candidates are the page's own sentences (``page_sentences``), so a
sentence cut by a chunk is whole again, and the sentences just before and after a hit are candidates too.
At ingest every chunk stores the vectors of the whole page sentences it overlaps (``chunk_sentences``), each
sentence encoded alone, so ranking candidates costs no encoding.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.articles import is_heading
from rag.names import Names, restored
from rag.split import sentence_spans
from rag.store import Index
from rag.text import dated
from rag.types import Chunk, Hit

NEIGHBOURS = 1
"""Sentences before and after a hit's own sentences that are candidates too."""


@dataclass
class Candidate:
    """One page sentence that may answer the question."""

    hit: Hit
    rank: int
    """Rank of the hit it came from (0 = best)."""
    start: int
    end: int
    text: str
    context: str
    """The sentences around it and the article headline: what a reader sees next to it."""
    inside: bool
    """Whether the sentence overlaps the hit's chunk (else it is a neighbour across the chunk edge)."""
    vector: np.ndarray | None = None
    """The sentence's stored vector, ``None`` when the index has none."""
    context_vector: np.ndarray | None = None
    """Sum of the vectors of the sentence and its neighbours."""
    names: Names | None = None
    """The sentence's names as tagged at ingest, ``None`` when the page has none stored."""
    date: str | None = None
    """When its story was printed (``Collection.story_date``): what its 去年, 今年 … count from."""


@lru_cache(maxsize=4096)
def page_sentences(text: str) -> tuple[tuple[int, int, bool], ...]:
    """``(start, end, heading)`` of each sentence of a cleaned page; ``heading`` marks headline lines."""
    out = []
    line_start = 0
    for line in text.split("\n"):
        heading = bool(line.strip()) and is_heading(line.strip())
        out.extend((line_start + s, line_start + e, heading) for s, e in sentence_spans(line))
        line_start += len(line) + 1
    return tuple(out)


def chunk_sentences(page_text: str, chunk: Chunk) -> list[tuple[int, int, int]]:
    """``(sentence index, start, end)`` of the page sentences a chunk overlaps, clipped to the chunk."""
    return [(i, max(s, chunk.start), min(e, chunk.end))
            for i, (s, e, _) in enumerate(page_sentences(page_text)) if s < chunk.end and e > chunk.start]


def near_text(index: Index, chunk: Chunk) -> str:
    """The headline, the chunk and the chunks beside it on the page: the story around a hit (with the years its
    去年, 今年 … name, ``rag.text.dated``)."""
    return dated("\n".join(filter(None, [chunk.title, *(c.text for c in index.neighbours(chunk))])),
                 index.story_date(chunk))


def sentence_vectors(index: Index, chunks: list[Chunk], page_text: str) -> dict[int, np.ndarray]:
    """Stored vectors of the page sentences that ``chunks`` overlap, by sentence number."""
    out: dict[int, np.ndarray] = {}
    for chunk in chunks:
        stored = index.sentence_vectors(chunk.chunk_id)
        spans = chunk_sentences(page_text, chunk)
        if stored is None or len(stored) != len(spans):
            continue
        for (i, _, _), row in zip(spans, stored):
            out.setdefault(i, row.astype(np.float32))
    return out


def candidates(index: Index, hits: list[Hit]) -> list[Candidate]:
    """Whole page sentences of each hit plus ``NEIGHBOURS`` on each side, headlines excluded, each sentence once
    (from its best-ranked hit): a reprint of the same story on another page adds no second copy (compared without
    punctuation, spaces and width), which would split the ranker's probability between two equal sentences."""
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    texts: set[str] = set()
    for rank, hit in enumerate(hits):
        doc = index.documents.get(hit.chunk.doc_id)
        if doc is None:
            continue
        sents = page_sentences(doc.text)
        own = [i for i, _, _ in chunk_sentences(doc.text, hit.chunk)]
        if not own:
            continue
        vectors = sentence_vectors(index, index.neighbours(hit.chunk), doc.text)
        names = doc.names if doc.names is not None and len(doc.names) == len(sents) else None
        lo, hi = max(own[0] - NEIGHBOURS, 0), min(own[-1] + NEIGHBOURS, len(sents) - 1)
        for i in range(lo, hi + 1):
            start, end, heading = sents[i]
            flat = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", doc.text[start:end]))
            if heading or (hit.chunk.doc_id, i) in seen or flat in texts:
                continue
            seen.add((hit.chunk.doc_id, i))
            texts.add(flat)
            around = [doc.text[s:e] for s, e, h in sents[max(i - 1, 0) : i + 2] if not h]
            context = "\n".join(filter(None, [hit.chunk.title, *around]))
            near = [vectors[j] for j in (i - 1, i, i + 1) if j in vectors]
            out.append(Candidate(hit, rank, start, end, doc.text[start:end], context, i in own,
                                 vectors.get(i), np.sum(near, axis=0) if i in vectors else None,
                                 restored(names[i]) if names is not None else None, index.story_date(hit.chunk)))
    return out
