"""The searchable store: documents, chunks, FAISS vectors and BM25 counts, saved without pickle.

On disk an index folder holds numbered versions and a ``CURRENT`` file naming the live one
(see ``rag.versions``)::

    index/CURRENT          "v000007"
    index/v000007/         manifest.json documents.jsonl chunks.jsonl vectors.faiss lexical* sentence_vectors.npz

``save`` writes a new version into a temporary folder, records every file's size and SHA-256
in the manifest, syncs it, renames it into place and then atomically replaces ``CURRENT``; a
process killed at any moment leaves the previous version current and whole. ``load`` checks
every file against the manifest, so a damaged or altered file is an error naming it, never
silently wrong answers. If ``CURRENT`` is lost, ``load`` falls back to the newest version
that loads (with a warning) rather than to an empty index. An older flat folder (files
directly inside, format 1) still loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path

import faiss
import numpy as np

from rag.boxes import BOXES, PageBoxes, load_boxes, save_boxes
from rag.files import fsync
from rag.lexical import BM25, tokenize
from rag.types import Chunk, Document, PageMeta
from rag.versions import (CURRENT, IndexLoadError, VersionGone, create_lease, leased, next_name, prune,
                          read_pointer, versions, write_pointer)

FORMAT = 2
READABLE = (1, 2)
"""Format 1 (before jump links and reprint groups) still loads; saving writes format 2."""
SENTENCES = "sentence_vectors.npz"
"""Optional: per chunk, the vectors (float16) of the page sentences it overlaps, each encoded alone
(``rag.evidence``). Indexes saved before it (whose ``page_sentences.npz`` or ``sentences.npz`` held vectors pooled
from the chunk, a weaker signal the answer model was not fitted on) still load and encode candidates at query
time."""
FILES = ("manifest.json", "documents.jsonl", "chunks.jsonl", "vectors.faiss", "lexical.npz", "lexical_vocab.json")
DATA = tuple(n for n in (*FILES, SENTENCES, BOXES) if n != "manifest.json")
"""The files a manifest describes (size and SHA-256)."""
RETRIES = 5
"""Times ``load`` reads ``CURRENT`` again when the version it named was pruned before it could lease it."""
log = logging.getLogger(__name__)


class Index:
    """Chunks with their dense vectors (row i of ``vectors`` is chunk i) and BM25 counts."""

    def __init__(self, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim
        self.documents: dict[str, Document] = {}
        self.chunks: list[Chunk] = []
        self.vectors = faiss.IndexFlatIP(dim)
        self.lexical = BM25.empty()
        self.sentences: list[np.ndarray | None] = []
        """Per chunk, the vectors of its page sentences (``rag.embed.Embedder.encode_chunks``)."""
        self.boxes: dict[str, PageBoxes] = {}
        """Per document id, where its text lies on its page image (``rag.boxes``)."""
        self.version: str | None = None
        self._jumps: dict[str, list[Chunk]] | None = None

    def __len__(self) -> int:
        return len(self.chunks)

    def copy(self) -> Index:
        """An independent copy to change while readers keep using this one (chunks are relinked in place)."""
        other = Index(self.model, self.dim)
        other.documents = dict(self.documents)
        other.chunks = [replace(c) for c in self.chunks]
        other.vectors = faiss.clone_index(self.vectors)
        other.lexical = self.lexical
        other.sentences = list(self.sentences)
        other.boxes = dict(self.boxes)
        other.version = self.version
        return other

    def add(self, documents: list[Document], chunks: list[Chunk], vectors: np.ndarray,
            sentence_vectors: list[np.ndarray] | None = None) -> None:
        """Append documents and their chunks (renumbered to continue from ``len(self)``)."""
        if len(chunks) != len(vectors) or sentence_vectors is not None and len(sentence_vectors) != len(chunks):
            raise ValueError("one vector (and one sentence array) per chunk")
        self.sentences.extend(sentence_vectors if sentence_vectors is not None else [None] * len(chunks))
        for doc in documents:
            self.documents[doc.doc_id] = doc
        for i, chunk in enumerate(chunks, len(self.chunks)):
            chunk.chunk_id = i
        self.chunks.extend(chunks)
        if len(vectors):
            self.vectors.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.lexical = self.lexical.extend([tokenize(c.embed_text()) for c in chunks])
        self.touch()

    def remove(self, doc_ids: Iterable[str]) -> list[Document]:
        """Drop documents with their chunks, vectors and BM25 rows; returns the documents removed."""
        gone = [self.documents.pop(d) for d in set(doc_ids) if d in self.documents]
        if not gone:
            return []
        keep = np.array([i for i, c in enumerate(self.chunks) if c.doc_id in self.documents], dtype=np.int64)
        vectors = faiss.IndexFlatIP(self.dim)
        if len(keep):
            vectors.add(self.vectors.reconstruct_batch(keep))
        self.vectors = vectors
        self.lexical = self.lexical.select(keep)
        self.sentences = [self.sentences[i] for i in keep]
        self.chunks = [self.chunks[i] for i in keep]
        for i, chunk in enumerate(self.chunks):
            chunk.chunk_id = i
        self.touch()
        return gone

    def chunk_counts(self) -> Counter[str]:
        """How many chunks each document has."""
        return Counter(c.doc_id for c in self.chunks)

    def sentence_vectors(self, chunk_id: int) -> np.ndarray | None:
        """The stored vectors of a chunk's page sentences, if its index has them."""
        return self.sentences[chunk_id] if chunk_id < len(self.sentences) else None

    def touch(self) -> None:
        """Forget cached lookups after chunks were changed in place (jump links relinked)."""
        self._jumps = None

    def continuation(self, chunk: Chunk) -> list[Chunk]:
        """Chunks of the other parts of ``chunk``'s article, on other pages (see ``rag.jumps``)."""
        if chunk.jump is None:
            return []
        if self._jumps is None:
            self._jumps = {}
            for c in self.chunks:
                if c.jump is not None:
                    self._jumps.setdefault(c.jump, []).append(c)
        return [c for c in self._jumps.get(chunk.jump, []) if c.doc_id != chunk.doc_id]

    def find(self, key: str) -> list[Document]:
        """Documents whose id, source (``NAME`` or ``NAME#p3``) or path is ``key``; a PDF name gives all its pages."""
        return [d for d in self.documents.values()
                if key in (d.doc_id, d.source, d.path) or d.source.split("#")[0] == key]

    @staticmethod
    def exists(folder: Path) -> bool:
        """Whether ``folder`` holds a saved index (either layout), even one whose ``CURRENT`` was lost."""
        return (folder / CURRENT).is_file() or (folder / "manifest.json").is_file() or bool(versions(folder))

    def save(self, folder: Path) -> None:
        """Write a new version and make it current atomically (see the module docstring); the caller holds the
        writer lock. Older versions are pruned once no reader is loading them."""
        folder.mkdir(parents=True, exist_ok=True)
        name = next_name(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=folder))
        tmp.chmod(0o755)
        _write_jsonl(tmp / "documents.jsonl", (asdict(d) for d in self.documents.values()))
        _write_jsonl(tmp / "chunks.jsonl", ({"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start,
                                              "end": c.end, "title": c.title, "jump": c.jump,
                                              "reprint_group": c.reprint_group} for c in self.chunks))
        faiss.write_index(self.vectors, str(tmp / "vectors.faiss"))
        _save_sentences(tmp / SENTENCES, self.sentences, self.dim)
        save_boxes(tmp / BOXES, self.boxes, self.documents)
        self.lexical.save(tmp)
        manifest = {"format": FORMAT, "model": self.model, "dim": self.dim,
                    "documents": len(self.documents), "chunks": len(self.chunks),
                    "sizes": {n: (tmp / n).stat().st_size for n in DATA},
                    "sha256": {n: file_sha256(tmp / n) for n in DATA}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        create_lease(tmp)
        for n in (*FILES, SENTENCES, BOXES):
            fsync(tmp / n)
        os.rename(tmp, folder / name)
        write_pointer(folder, name)
        self.version = name
        _tidy(folder, name)

    @classmethod
    def load(cls, folder: Path) -> Index:
        """Load the current version, verified; raises ``IndexLoadError`` naming the bad file.

        When ``CURRENT`` is missing or names no saved version, the newest version that loads is used (logged as
        a warning); when none does, the error says how to recover.
        """
        if not (folder / CURRENT).exists() and not versions(folder) and (folder / "manifest.json").is_file():
            return cls._load(folder)
        for _ in range(RETRIES):
            name = read_pointer(folder)
            if name is None:
                return cls._recover(folder)
            try:
                return cls._load_version(folder, name)
            except VersionGone:
                continue
        raise IndexLoadError(f"{folder}: the current version changed {RETRIES} times while loading; try again")

    @classmethod
    def _load_version(cls, folder: Path, name: str) -> Index:
        with leased(folder, name) as path:
            index = cls._load(path)
        index.version = name
        return index

    @classmethod
    def _recover(cls, folder: Path) -> Index:
        """The newest saved version that loads, when ``CURRENT`` is lost."""
        names = versions(folder)
        if not names:
            raise IndexLoadError(f"{folder}: no index here; build one with `papertrail ingest`")
        problems = []
        for name in reversed(names):
            try:
                index = cls._load_version(folder, name)
            except (IndexLoadError, VersionGone) as err:
                problems.append(f"{name}: {err}")
                continue
            log.warning("%s: %s is missing or names no saved version; using %s, the newest complete version",
                        folder, CURRENT, name)
            return index
        raise IndexLoadError(f"{folder}: {CURRENT} is missing and no saved version is complete "
                             f"({'; '.join(problems)}); restore the folder from a backup, or move it aside and "
                             "ingest the pages again to rebuild")

    @classmethod
    def _load(cls, folder: Path) -> Index:
        for name in FILES:
            if not (folder / name).is_file():
                raise IndexLoadError(f"{folder / name}: missing; rebuild the index with `papertrail ingest`")
        manifest = _read_json(folder / "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") not in READABLE:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise IndexLoadError(f"{folder / 'manifest.json'}: index format {found!r}, "
                                 f"this version reads {' or '.join(map(str, READABLE))}; rebuild the index")
        _verify(folder, manifest)
        try:
            index = cls(str(manifest["model"]), int(manifest["dim"]))
            for row in _read_jsonl(folder / "documents.jsonl"):
                row["meta"] = PageMeta(**row["meta"])
                row["spans"] = [tuple(s) for s in row["spans"]]
                doc = Document(**row)
                index.documents[doc.doc_id] = doc
            for row in _read_jsonl(folder / "chunks.jsonl"):
                doc = index.documents[row["doc_id"]]
                index.chunks.append(Chunk(text=doc.text[row["start"]:row["end"]], source=doc.source,
                                          meta=doc.meta, **row))
        except (KeyError, TypeError, ValueError) as err:
            raise IndexLoadError(f"{folder}: inconsistent documents/chunks ({err!r}); rebuild the index") from err
        try:
            index.vectors = faiss.read_index(str(folder / "vectors.faiss"))
        except RuntimeError as err:
            raise IndexLoadError(f"{folder / 'vectors.faiss'}: unreadable FAISS index") from err
        try:
            index.lexical = BM25.load(folder)
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
            raise IndexLoadError(f"{folder / 'lexical.npz'}: unreadable ({err})") from err
        index.sentences = _load_sentences(folder / SENTENCES, len(index.chunks), index.dim)
        try:
            index.boxes = load_boxes(folder / BOXES)
        except ValueError as err:
            raise IndexLoadError(str(err)) from err
        if index.vectors.ntotal != len(index.chunks) or index.lexical.counts.shape[0] != len(index.chunks) \
                or index.vectors.d != index.dim:
            raise IndexLoadError(f"{folder}: {len(index.chunks)} chunks but {index.vectors.ntotal} vectors "
                                 f"and {index.lexical.counts.shape[0]} BM25 rows; rebuild the index")
        if len(index.documents) != manifest.get("documents", len(index.documents)):
            raise IndexLoadError(f"{folder / 'documents.jsonl'}: {len(index.documents)} documents, manifest says "
                                 f"{manifest['documents']}; rebuild the index")
        return index


def _save_sentences(path: Path, sentences: list[np.ndarray | None], dim: int) -> None:
    """Chunk i's sentence rows are ``vectors[offsets[i]:offsets[i + 1]]``; a chunk without them has ``-1`` counts."""
    counts = np.array([-1 if s is None else len(s) for s in sentences], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(np.maximum(counts, 0))])
    rows = [s for s in sentences if s is not None and len(s)]
    vectors = np.concatenate(rows).astype(np.float16) if rows else np.zeros((0, dim), np.float16)
    with path.open("wb") as f:
        np.savez(f, counts=counts, offsets=offsets, vectors=vectors)


def _load_sentences(path: Path, n_chunks: int, dim: int) -> list[np.ndarray | None]:
    """Stored sentence vectors per chunk; an index saved before they existed has none (answers encode them)."""
    if not path.is_file():
        return [None] * n_chunks
    try:
        with np.load(path, allow_pickle=False) as z:
            counts, offsets, vectors = z["counts"], z["offsets"], z["vectors"]
    except (OSError, ValueError, KeyError) as err:
        raise IndexLoadError(f"{path}: unreadable ({err})") from err
    if len(counts) != n_chunks or vectors.shape[1:] != (dim,) or offsets[-1] != len(vectors):
        raise IndexLoadError(f"{path}: does not match the chunks; rebuild the index")
    return [None if c < 0 else vectors[offsets[i] : offsets[i + 1]] for i, c in enumerate(counts)]


def _verify(folder: Path, manifest: dict) -> None:
    """Every file the manifest lists has its size and SHA-256 (manifests before checksums list sizes only)."""
    for name, size in manifest.get("sizes", {}).items():
        if not (folder / name).is_file():
            raise IndexLoadError(f"{folder / name}: missing; rebuild the index")
        if (folder / name).stat().st_size != size:
            raise IndexLoadError(f"{folder / name}: {(folder / name).stat().st_size} bytes, "
                                 f"expected {size} (truncated or altered); rebuild the index")
    for name, digest in manifest.get("sha256", {}).items():
        if file_sha256(folder / name) != digest:
            raise IndexLoadError(f"{folder / name}: SHA-256 differs from the manifest (damaged or altered); "
                                 "restore the index from a backup or rebuild it")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _tidy(folder: Path, current: str) -> None:
    """Prune older versions; remove leftovers of killed writers and a replaced flat layout (writer only)."""
    prune(folder, current)
    for leftover in folder.glob(".tmp-v*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for name in (*FILES, SENTENCES, BOXES):
        (folder / name).unlink(missing_ok=True)


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexLoadError(f"{path}: unreadable ({err})") from err


def _read_jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexLoadError(f"{path}: unreadable ({err})") from err
