"""The searchable index: a collection of documents and chunks with its stores, all keyed by stable chunk id.

A saved version (``rag.store.disk``) holds::

    manifest.json         format, model, dim, counts, next_id; every other file's size and SHA-256
    documents.jsonl       the documents, raw and cleaned
    chunks.jsonl          the chunks: id, page, offsets, headline, jump and reprint links
    vectors.faiss         dense vectors by id (``rag.store.faiss_store``), or
    qdrant.json           where the Qdrant collection holding them is, and which version of it (``rag.store.qdrant_store``)
    lexical*              BM25 counts by id (``rag.store.lexical``), or
    qdrant_bm25*          where the Qdrant collection holding them is, its vocabulary (``rag.store.qdrant_lexical``)
    sentence_vectors.npz  sentence vectors by id (``rag.store.sentences``)
    boxes.json            where each scanned page's text lies on its image, by document id (``rag.boxes``)

Format 3 keys every file by chunk id. Formats 1 and 2 (before stable ids) still load: their chunk ids are their
row numbers, which from then on are stable ids like any other; saving writes format 3 as a new version, never
over the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rag.boxes import BOXES, PageBoxes, load_boxes, save_boxes
from rag.lexical import TermWeights, tokenize
from rag.store import disk
from rag.store.collection import Collection
from rag.store.faiss_store import FILE as VECTORS
from rag.store.faiss_store import FaissStore, Layout
from rag.store.lexical import FILES as LEXICAL
from rag.store.lexical import LexicalStore
from rag.store.qdrant_lexical import FILE as QDRANT_BM25
from rag.store.qdrant_lexical import TERMS as QDRANT_TERMS
from rag.store.qdrant_lexical import QdrantLexicalStore
from rag.store.qdrant_store import FILE as QDRANT
from rag.store.qdrant_store import QdrantStore
from rag.store.sentences import SentenceStore
from rag.store.vectors import Describable, VectorStore, about
from rag.types import Chunk, Document, PageMeta
from rag.versions import IndexLoadError

FORMAT = 3
READABLE = (1, 2, 3)
"""Format 1 (before jump links and reprint groups) and 2 (before stable ids) still load; saving writes format 3."""
REQUIRED = ("documents.jsonl", "chunks.jsonl")
"""The files every saved version has, with ``vectors.faiss`` or ``qdrant.json``, and the ``lexical*`` or
``qdrant_bm25*`` files (``sentence_vectors.npz`` is optional)."""
SparseStore = LexicalStore | QdrantLexicalStore


class Index(Collection):
    """The collection with its dense store, BM25 store and sentence vectors; a published index is never changed
    (writers change a ``copy``)."""

    def __init__(self, model: str, dim: int, dense: VectorStore | None = None, layout: Layout | None = None,
                 sparse: SparseStore | None = None) -> None:
        super().__init__()
        self.model = model
        self.dim = dim
        self.dense: VectorStore = dense if dense is not None else FaissStore(dim, layout=layout)
        self.sparse: SparseStore = sparse if sparse is not None else LexicalStore()
        self.sentences = SentenceStore(dim)
        self.boxes: dict[str, PageBoxes] = {}
        """Per document id, where its text lies on its page image (``rag.boxes``)."""
        self.version: str | None = None

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def lexical(self) -> TermWeights:
        """The idf of each term, which the answer stage weighs question terms by."""
        return self.sparse.terms

    def copy(self, dense: VectorStore | None = None, sparse: SparseStore | None = None) -> Index:
        """An independent copy to change while readers keep this one; ``dense``, ``sparse``: its stores instead of
        copies of this one's."""
        other = super().copy()
        other.dense = dense if dense is not None else self.dense.copy()
        other.sparse = sparse if sparse is not None else self.sparse.copy()
        other.sentences = self.sentences.copy()
        other.boxes = dict(self.boxes)
        return other

    def moved_to(self, dense: VectorStore, sparse: SparseStore, progress: Callable[[int, int], None] | None = None,
                 batch: int = 8192) -> Index:
        """A copy whose dense vectors and BM25 terms are in ``dense`` and ``sparse``, empty stores: every chunk's
        vector, terms (its text cut again, as ``add`` cuts it) and page metadata copied by id, ``batch`` at a time
        (``progress(done, total)`` after each)."""
        if len(dense) or len(sparse):
            raise ValueError("the stores to move the index into already hold some chunks")
        ids, chunks = self.ids(), self.chunks
        for start in range(0, len(ids), batch):
            part, metas = ids[start:start + batch], [c.meta for c in chunks[start:start + batch]]
            dense.add(part, self.dense.vectors(part), metas)
            sparse.add(part, [tokenize(c.embed_text()) for c in chunks[start:start + batch]], metas)
            if progress:
                progress(start + len(part), len(ids))
        moved = self.copy(dense, sparse)
        moved.describe(ids)
        return moved

    def add(self, documents: list[Document], chunks: list[Chunk], vectors: np.ndarray,
            sentence_vectors: list[np.ndarray] | None = None) -> np.ndarray:
        """Add documents and their chunks (given the next ids) with their vectors; returns the ids."""
        if len(chunks) != len(vectors) or sentence_vectors is not None and len(sentence_vectors) != len(chunks):
            raise ValueError("one vector (and one sentence array) per chunk")
        ids = self.add_chunks(documents, chunks)
        metas = [c.meta for c in chunks]
        self.dense.add(ids, vectors, metas)
        self.sparse.add(ids, [tokenize(c.embed_text()) for c in chunks], metas)
        self.sentences.add(ids, sentence_vectors if sentence_vectors is not None else [None] * len(chunks))
        self.describe(ids)
        return ids

    def describe(self, ids: Iterable[int]) -> None:
        """Give the stores that keep it (``Describable``) what describes chunks ``ids`` now."""
        ids = np.fromiter(ids, np.int64)
        stores = [s for s in (self.dense, self.sparse) if isinstance(s, Describable)]
        if stores and len(ids):
            described = [about(self.chunk(int(i))) for i in ids]
            for store in stores:
                store.describe(ids, described)

    def remove(self, doc_ids: Iterable[str]) -> list[Document]:
        """Drop documents with their chunks' vectors, BM25 rows and sentence vectors; the other chunks keep their
        ids. Returns the documents removed."""
        gone, ids = self.remove_documents(doc_ids)
        for store in (self.dense, self.sparse, self.sentences):
            store.delete(ids)
        return gone

    def set_meta(self, doc_id: str, meta: PageMeta) -> Document:
        """Give a document and its chunks ``meta`` in the collection and the stores' payload."""
        doc, ids = self.set_page_meta(doc_id, meta)
        self.dense.set_meta(ids, meta)
        self.sparse.set_meta(ids, meta)
        return doc

    def sentence_vectors(self, chunk_id: int) -> np.ndarray | None:
        """The stored vectors of a chunk's page sentences, if its index has them."""
        return self.sentences.get(chunk_id)

    exists = staticmethod(disk.exists)

    def save(self, folder: Path) -> None:
        """Write a new version and make it current atomically (``rag.store.disk``); the caller holds the writer
        lock."""
        manifest = {"format": FORMAT, "model": self.model, "dim": self.dim, "documents": len(self.documents),
                    "chunks": len(self.chunks), "next_id": self.next_id}
        self.version = disk.write_version(folder, self._write, manifest)

    def _write(self, folder: Path) -> None:
        documents, chunks = self.rows()
        disk.write_jsonl(folder / "documents.jsonl", documents)
        disk.write_jsonl(folder / "chunks.jsonl", chunks)
        for store in (self.dense, self.sparse, self.sentences):
            store.commit(folder)
        save_boxes(folder / BOXES, self.boxes, self.documents)

    @classmethod
    def load(cls, folder: Path, layout: Layout | None = None, qdrant_api_key: str | None = None) -> Index:
        """Load the current version, verified; raises ``IndexLoadError`` naming the bad file (see
        ``rag.store.disk.read_version``). ``layout``: how the FAISS index is to be kept as chunks are added;
        ``qdrant_api_key``: for a version whose vectors are on a Qdrant server."""
        index, version = disk.read_version(folder, lambda f, m: cls._read(f, m, layout, qdrant_api_key), READABLE)
        index.version = version
        return index

    @classmethod
    def _read(cls, folder: Path, manifest: dict, layout: Layout | None = None,
              qdrant_api_key: str | None = None) -> Index:
        dense = QDRANT if (folder / QDRANT).is_file() else VECTORS
        sparse = (QDRANT_BM25, QDRANT_TERMS) if (folder / QDRANT_BM25).is_file() else LEXICAL
        for name in (*REQUIRED, dense, *sparse):
            if not (folder / name).is_file():
                raise IndexLoadError(f"{folder / name}: missing; rebuild the index with `papertrail ingest`")
        try:
            index = cls(str(manifest["model"]), int(manifest["dim"]))
            index.read_rows(disk.read_jsonl(folder / "documents.jsonl"), disk.read_jsonl(folder / "chunks.jsonl"),
                            manifest.get("next_id"))
        except (KeyError, TypeError, ValueError) as err:
            raise IndexLoadError(f"{folder}: inconsistent documents/chunks ({err!r}); rebuild the index") from err
        if len(index.documents) != manifest.get("documents", len(index.documents)):
            raise IndexLoadError(f"{folder / 'documents.jsonl'}: {len(index.documents)} documents, manifest says "
                                 f"{manifest['documents']}; rebuild the index")
        ids, metas = index.ids(), [c.meta for c in index.chunks]
        if dense == QDRANT:
            index.dense = QdrantStore.load(folder, ids, index.dim, qdrant_api_key)
        else:
            index.dense = FaissStore.load(folder, ids, metas, index.dim, layout)
        index.sparse = QdrantLexicalStore.load(folder, ids, qdrant_api_key) if sparse != LEXICAL else \
            LexicalStore.load(folder, ids, metas)
        index.sentences = SentenceStore.load(folder, ids, index.dim)
        try:
            index.boxes = load_boxes(folder / BOXES)
        except ValueError as err:
            raise IndexLoadError(str(err)) from err
        return index

