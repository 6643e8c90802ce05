"""Ingest page files into an index: load → clean → split → embed → index."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.clean import clean
from rag.config import Config
from rag.embed import Embedder
from rag.index import Index
from rag.load import IngestError, RawPage, iter_pages
from rag.split import split_document
from rag.types import Document


@dataclass
class IngestReport:
    """What an ingest run did: files indexed, skipped (unchanged) and failed with reasons."""

    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    chunks: int = 0

    def summary(self) -> str:
        return (f"indexed {len(self.indexed)} file(s) ({self.chunks} chunks), "
                f"skipped {len(self.skipped)} unchanged, failed {len(self.failed)}")


def to_document(page: RawPage) -> Document:
    """Clean a page into a ``Document`` that remembers where each character came from."""
    cleaned = clean(page.text)
    return Document(
        doc_id=page.sha256[:16],
        source=page.path.name,
        meta=page.meta,
        raw=page.text,
        text=cleaned.text,
        spans=cleaned.spans(),
        sha256=page.sha256,
        path=str(page.path),
    )


def ingest(paths: Iterable[Path], index: Index, embedder: Embedder, config: Config) -> IngestReport:
    """Add every readable page under ``paths`` to ``index``; bad files are reported, never fatal."""
    report = IngestReport()
    docs: list[Document] = []
    for item in iter_pages(paths, config):
        if isinstance(item, IngestError):
            report.failed.append(str(item))
            continue
        doc = to_document(item)
        if doc.doc_id in index.documents or any(d.doc_id == doc.doc_id for d in docs):
            report.skipped.append(doc.source)
            continue
        docs.append(doc)
    chunks, kept = [], []
    for doc in docs:
        doc_chunks = split_document(doc, config, first_id=len(index) + len(chunks))
        if not doc_chunks:
            report.failed.append(f"{doc.source}: no text left after cleaning")
            continue
        chunks.extend(doc_chunks)
        kept.append(doc)
        report.indexed.append(doc.source)
    vectors = embedder.encode_passages([c.embed_text() for c in chunks])
    index.add(kept, chunks, vectors)
    report.chunks = len(chunks)
    return report
