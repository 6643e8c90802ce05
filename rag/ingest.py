"""Ingest page files into an index (load → clean → split → embed → index), and remove them.

Re-ingest is idempotent: a file whose path and content hash are already indexed is
skipped, a changed file (same path, new content with text) replaces its old pages, and content
already indexed from another path is not added twice. Nothing touches the index until
every new page is embedded, so a failure (or kill) mid-run leaves it as it was.

Work per page is bounded: a page is cut to ``Config.max_chunks_per_page`` passages (with a
warning), so one file costs at most about a minute of embedding.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from rag.boxes import PageBoxes, page_boxes
from rag.clean import clean
from rag.config import Config
from rag.embed import Embedder
from rag.evidence import chunk_sentences, page_sentences
from rag.jumps import link_jumps
from rag.load import IngestError, RawPage, absolute, find_files, parse, read_bytes, sha256
from rag.names import entities, stored
from rag.reprints import groups_of, relink_reprints
from rag.split import split_document
from rag.store import Index
from rag.types import Chunk, Document, PageMeta

if TYPE_CHECKING:
    from rag.scan import Scan


NAMING_SECONDS = 20.0
"""Time one page's names may take to tag (``sentence_names``)."""


class UnknownPage(LookupError):
    """No indexed page has the id given (it was never there, or has been removed)."""


@dataclass
class IngestReport:
    """What an ingest run did: files indexed, replaced (changed), skipped and failed with reasons."""

    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    chunks: int = 0
    replaced: list[str] = field(default_factory=list)
    removed: list[Document] = field(default_factory=list)
    """The documents of the changed files' old versions, taken out of the index."""
    warnings: list[str] = field(default_factory=list)
    """Pages indexed only in part (over ``Config.max_chunks_per_page``)."""
    digests: set[str] = field(default_factory=set)
    """Content hashes of the new or changed files read (their OCR and page images are cached by it)."""

    def summary(self) -> str:
        replaced = f" ({len(self.replaced)} replaced a changed file)" if self.replaced else ""
        return (f"indexed {len(self.indexed)} page(s) ({self.chunks} chunks){replaced}, "
                f"skipped {len(self.skipped)} unchanged or duplicate, failed {len(self.failed)}")


def to_document(page: RawPage) -> Document:
    """Clean a page into a ``Document`` that remembers where each character came from."""
    cleaned = clean(page.text)
    return Document(
        doc_id=page.doc_id,
        source=page.source,
        meta=page.meta,
        raw=page.text,
        text=cleaned.text,
        spans=cleaned.spans(),
        sha256=page.sha256,
        path=absolute(page.path),
        names=sentence_names(cleaned.text),
    )


def sentence_names(text: str, budget: float = NAMING_SECONDS) -> list[dict[str, list[str]]]:
    """The names in each sentence of a cleaned page (none for headlines, which never answer), tagged once here
    so that answers need not tag at query time. Sentences left when ``budget`` seconds are spent get none: a
    real page takes well under a second, text that is not language (OCR noise, random characters) up to 6 ms a
    character."""
    deadline = time.monotonic() + budget
    return [{} if heading or time.monotonic() > deadline else stored(entities(text[s:e]))
            for s, e, heading in page_sentences(text)]


def text_budget(config: Config) -> int:
    """Characters of a page read at most: twice what ``Config.max_chunks_per_page`` passages hold (cleaning may
    delete much), so a huge page costs bounded cleaning and splitting too."""
    return 2 * config.max_chunks_per_page * config.chunk_size


def within_limit(page: RawPage, config: Config) -> RawPage:
    budget = text_budget(config)
    return page if len(page.text) <= budget else replace(page, text=page.text[:budget])


def capped(doc: Document, chunks: list[Chunk], config: Config) -> tuple[list[Chunk], str | None]:
    """At most ``Config.max_chunks_per_page`` chunks of a page, and a warning when the page was cut."""
    limit = config.max_chunks_per_page
    if len(chunks) <= limit and len(doc.raw) < text_budget(config):
        return chunks, None
    kept = chunks[:limit]
    return kept, (f"{doc.source}: too long for one page; indexed only its first {len(kept)} passages (up to "
                  f"character {kept[-1].end:,}) under Config.max_chunks_per_page = {limit}")


@dataclass
class NewVersion:
    """One file as read now: the ids its old version has in the index, its pages with their chunks (none for
    a page without text) and a warning where a page was cut, and the scans behind its scanned pages (their
    boxes are located only for the pages indexed)."""

    item: Path
    old: list[str]
    pages: list[tuple[Document, list[Chunk], str | None]]
    scans: dict[str, Scan]

    @property
    def has_text(self) -> bool:
        return any(chunks for _, chunks, _ in self.pages)


def read_versions(paths: Iterable[Path], index: Index, config: Config, report: IngestReport,
                  ocr_progress: Callable[[int, int], None] | None) -> list[NewVersion]:
    """Every file under ``paths`` that is new or changed, read, cleaned and split; unreadable and unchanged files
    go to ``report``."""
    by_path: dict[str, list[str]] = defaultdict(list)
    for doc in index.documents.values():
        by_path[doc.path or doc.source].append(doc.doc_id)
    versions = []
    files = list(find_files(paths))
    for item in tqdm(files, desc="reading", unit="file", disable=not config.show_progress or len(files) < 2):
        if isinstance(item, IngestError):
            report.failed.append(str(item))
            continue
        try:
            data = read_bytes(item, config)
            where, digest = absolute(item), sha256(data)
            old = by_path.get(where, [])
            if old and all(index.documents[d].sha256 == digest for d in old):
                report.skipped.append(f"{item} (unchanged)")
                continue
            report.digests.add(digest)
            raw = parse(item, data, config, ocr_progress)
            docs = [to_document(within_limit(p, config)) for p in raw]
        except IngestError as err:
            report.failed.append(str(err))
            continue
        pages = []
        for doc in docs:
            chunks = split_document(doc, config)
            pages.append((doc, *capped(doc, chunks, config)) if chunks else (doc, [], None))
        versions.append(NewVersion(item, old, pages, {p.doc_id: p.scan for p in raw if p.scan is not None}))
    return versions


def ingest(paths: Iterable[Path], index: Index, embedder: Embedder, config: Config,
           progress: Callable[[int, int], None] | None = None,
           ocr_progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Add every readable page under ``paths`` to ``index``; bad files are reported, never fatal.

    A changed file's old pages are replaced only by a new version that has text: one that fails to read or
    cleans to nothing leaves them indexed. Content is a duplicate only of pages that stay, so content moved
    between files (a file renamed and its name reused, two files' contents swapped) is kept under its new file.
    ``progress(done, total)`` is called as passages and their sentences are embedded, ``ocr_progress(done,
    total)`` as the pages of a scanned file are OCR'd (counted per file)."""
    report = IngestReport()
    versions = read_versions(paths, index, config, report, ocr_progress)
    stale = {d for v in versions if v.old and v.has_text for d in v.old}
    docs: dict[str, Document] = {}
    boxes: dict[str, PageBoxes] = {}
    chunks: list[Chunk] = []
    for v in versions:
        kept_old = bool(v.old) and not v.has_text
        if v.old and not kept_old:
            report.replaced.append(str(v.item))
        fresh = [page for page in v.pages if page[0].doc_id not in docs
                 and (page[0].doc_id not in index.documents or page[0].doc_id in stale)]
        if v.pages and not fresh:
            twin = (docs.get(v.pages[0][0].doc_id) or index.documents[v.pages[0][0].doc_id]).source
            report.skipped.append(f"{v.item} (same content as {twin})")
            continue
        for doc, doc_chunks, warning in fresh:
            if not doc_chunks:
                kept = "; its indexed version is kept" if kept_old else ""
                report.failed.append(f"{v.item}: {doc.source}: no text left after cleaning{kept}")
                continue
            if warning:
                report.warnings.append(f"{v.item}: {warning}")
            docs[doc.doc_id] = doc
            if (scan := v.scans.get(doc.doc_id)) is not None:
                boxes[doc.doc_id] = page_boxes(doc, scan.image, scan.width, scan.height, scan.lines)
            chunks.extend(doc_chunks)
            report.indexed.append(doc.source)
    if not chunks and not stale:
        return report
    vectors, sentence_vectors = embedder.encode_chunks([c.embed_text() for c in chunks],
                                                       [embedded_sentences(c, docs[c.doc_id].text) for c in chunks],
                                                       progress=progress)
    regroup = groups_of(index, stale)
    removed = index.remove(stale)
    index.add(list(docs.values()), chunks, vectors, sentence_vectors)
    index.boxes.update(boxes)
    link(index, config, list(docs.values()), removed, regroup)
    report.chunks = len(chunks)
    report.removed = removed
    return report


def embedded_sentences(chunk: Chunk, page_text: str) -> list[str]:
    """The whole page sentences the chunk overlaps (``rag.evidence.chunk_sentences``), each to be encoded alone."""
    spans = page_sentences(page_text)
    return [page_text[spans[i][0] : spans[i][1]] for i, _, _ in chunk_sentences(page_text, chunk)]


def remove(index: Index, key: str, config: Config) -> list[Document]:
    """Remove the documents named by ``key`` (id, source, file name or path); returns them.

    A file name shared by files in different folders is refused (``IngestError``): give the path or id.
    """
    docs = index.find(key) or index.find(absolute(Path(key)))
    paths = sorted({d.path or d.source for d in docs})
    if len(paths) > 1:
        raise IngestError(f"{key}: names pages of {len(paths)} files ({', '.join(paths)}); give the path or id")
    regroup = groups_of(index, [d.doc_id for d in docs])
    index.remove(d.doc_id for d in docs)
    link(index, config, [], docs, regroup)
    return docs


def set_meta(index: Index, doc_id: str, meta: PageMeta) -> Document:
    """Give the document ``doc_id`` (and its chunks) ``meta`` and relink; returns the changed document (a new
    one: an index this one was copied from keeps the old metadata). Raises ``UnknownPage``."""
    if doc_id not in index.documents:
        raise UnknownPage(f"no indexed page has the id {doc_id!r}; it may have been removed")
    old = index.documents[doc_id]
    doc = index.set_meta(doc_id, meta)
    link_editions(index, [old, doc])  # reprint groups compare texts only: an edit leaves them as they are
    return doc


def link(index: Index, config: Config, added: list[Document], removed: list[Document], regroup: set[str]) -> None:
    """Relink after pages were ``added`` or ``removed``: jump lines in their editions, reprint groups of the added
    pages and of the groups ``regroup`` that lost pages (``rag.reprints.relink_reprints``)."""
    link_editions(index, [*removed, *added])
    index.describe(relink_reprints(index, config.reprint_similarity, added, regroup))
    index.touch()


def link_editions(index: Index, changed: Iterable[Document]) -> None:
    """Relink the jump lines among the pages of the editions (paper and date) that ``changed`` pages belong to: a
    jump never leaves its edition, so the others keep their links."""
    editions = {(d.meta.paper, d.meta.date) for d in changed}
    pages = [d for d in index.documents.values() if (d.meta.paper, d.meta.date) in editions]
    link_jumps(pages, [c for d in pages for c in index.by_page.get(d.doc_id, [])])
    index.touch()
