"""Cut articles into overlapping chunks on Chinese sentence boundaries."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from rag.articles import split_articles
from rag.config import Config
from rag.types import Chunk, Document

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;…]*[”’」』）)]*")
SEPARATORS = ["\n\n", "\n", r"[。！？!?][”’」』）)]*", r"[；;…]+", r"[，,、：:]", " ", ""]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of at least four characters in ``text``, whitespace trimmed."""
    spans = []
    for m in SENTENCE.finditer(text):
        lead = len(m.group()) - len(m.group().lstrip())
        if len(m.group().strip()) >= 4:
            spans.append((m.start() + lead, m.start() + len(m.group().rstrip())))
    return spans


def chunks_by_page(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    """Chunks by document id, in order."""
    out: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        out[chunk.doc_id].append(chunk)
    return out


def chunks_in(by_page: dict[str, list[Chunk]], doc_id: str, start: int, end: int) -> list[Chunk]:
    """The chunks of a page that start within ``[start, end)``: those of the article there."""
    return [c for c in by_page.get(doc_id, []) if start <= c.start < end]


def make_splitter(config: Config) -> RecursiveCharacterTextSplitter:
    """A splitter that prefers paragraph, then sentence, then clause boundaries (imported here: ingest only)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=config.chunk_size,
        chunk_overlap=config.chunk_overlap,
    )


def split_document(doc: Document, config: Config, first_id: int = 0) -> list[Chunk]:
    """Chunks of every article of ``doc``; each chunk's offsets index ``doc.text``."""
    splitter = make_splitter(config)
    chunks: list[Chunk] = []
    for article in split_articles(doc.doc_id, doc.text):
        body = doc.text[article.start : article.end]
        previous = -1
        for piece in splitter.split_text(body):
            found = body.find(piece, previous + 1)
            previous = found if found >= 0 else body.find(piece)
            start = article.start + previous
            chunks.append(
                Chunk(
                    chunk_id=first_id + len(chunks),
                    doc_id=doc.doc_id,
                    text=piece,
                    start=start,
                    end=start + len(piece),
                    title=article.title,
                    source=doc.source,
                    meta=doc.meta,
                )
            )
    return chunks
