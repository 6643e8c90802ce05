"""The searchable store: documents, chunks, FAISS vectors and BM25 counts, saved without pickle.

On disk an index folder holds numbered versions and a ``CURRENT`` file naming the live one::

    index/CURRENT          "v000007"
    index/v000007/         manifest.json documents.jsonl chunks.jsonl vectors.faiss lexical*.
    index/.lock            held by the one writer (see ``rag.lock``)

``save`` writes a new version into a temporary folder, syncs it, renames it into place and
then atomically replaces ``CURRENT``; a process killed at any moment leaves the previous
version current and whole. Readers only follow ``CURRENT``, so they never see a half-written
version. An older flat folder (files directly inside, format 1) still loads.
"""

from __future__ import annotations

import json
from collections import Counter
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np

from rag.lexical import BM25, tokenize
from rag.types import Chunk, Document, PageMeta

FORMAT = 2
READABLE = (1, 2)
"""Format 1 (before jump links and reprint groups) still loads; saving writes format 2."""
SENTENCES = "page_sentences.npz"
"""Optional: per chunk, the pooled vectors of the page sentences it overlaps (``rag.evidence``); indexes saved
before it (or with the older per-chunk layout, ``sentences.npz``) still load and encode candidates at query time."""
FILES = ("manifest.json", "documents.jsonl", "chunks.jsonl", "vectors.faiss", "lexical.npz", "lexical_vocab.json")
CURRENT = "CURRENT"
VERSION = re.compile(r"v\d{6}")
KEEP = 2
"""Versions kept on disk: the current one and the one before, for readers still loading it."""


class IndexLoadError(Exception):
    """A missing, corrupt or incompatible index; the message names the file."""


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
        """Per chunk, the summed token vectors of its sentences (``rag.embed.Embedder.encode_chunks``)."""
        self.version: str | None = None
        self._jumps: dict[str, list[Chunk]] | None = None

    def __len__(self) -> int:
        return len(self.chunks)

    def add(self, documents: list[Document], chunks: list[Chunk], vectors: np.ndarray,
            sentence_sums: list[np.ndarray] | None = None) -> None:
        """Append documents and their chunks (renumbered to continue from ``len(self)``)."""
        if len(chunks) != len(vectors) or sentence_sums is not None and len(sentence_sums) != len(chunks):
            raise ValueError("one vector (and one sentence array) per chunk")
        self.sentences.extend(sentence_sums if sentence_sums is not None else [None] * len(chunks))
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

    def sentence_sums(self, chunk_id: int) -> np.ndarray | None:
        """The stored sentence vectors (unnormalised sums) of a chunk, if its index has them."""
        return self.sentences[chunk_id] if chunk_id < len(self.sentences) else None

    def touch(self) -> None:
        """Forget cached lookups after chunks were changed in place (jump links relinked)."""
        self._jumps = None

    def continuation(self, chunk: Chunk) -> list[Chunk]:
        """Chunks of the other half of ``chunk``'s article on other pages (see ``rag.jumps``)."""
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
        """Whether ``folder`` holds a saved index (either layout)."""
        return (folder / CURRENT).is_file() or (folder / "manifest.json").is_file()

    def save(self, folder: Path) -> None:
        """Write a new version and make it current atomically (see the module docstring)."""
        folder.mkdir(parents=True, exist_ok=True)
        versions = _versions(folder)
        name = f"v{int(versions[-1][1:]) + 1 if versions else 1:06d}"
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=folder))
        tmp.chmod(0o755)
        manifest = {"format": FORMAT, "model": self.model, "dim": self.dim,
                    "documents": len(self.documents), "chunks": len(self.chunks)}
        _write_jsonl(tmp / "documents.jsonl", (asdict(d) for d in self.documents.values()))
        _write_jsonl(tmp / "chunks.jsonl", ({"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start,
                                              "end": c.end, "title": c.title, "jump": c.jump,
                                              "reprint_group": c.reprint_group} for c in self.chunks))
        faiss.write_index(self.vectors, str(tmp / "vectors.faiss"))
        _save_sentences(tmp / SENTENCES, self.sentences, self.dim)
        self.lexical.save(tmp)
        manifest["sizes"] = {n: (tmp / n).stat().st_size for n in (*FILES, SENTENCES) if n != "manifest.json"}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for n in (*FILES, SENTENCES):
            _fsync(tmp / n)
        os.rename(tmp, folder / name)
        pointer = folder / f".{CURRENT}.tmp"
        pointer.write_text(name + "\n", encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, folder / CURRENT)
        _fsync(folder)
        self.version = name
        _tidy(folder, name)

    @classmethod
    def load(cls, folder: Path) -> Index:
        """Load the current version; raises ``IndexLoadError`` naming the bad file."""
        version = current_version(folder)
        index = cls._load(folder / version if version else folder)
        index.version = version
        return index

    @classmethod
    def _load(cls, folder: Path) -> Index:
        for name in FILES:
            if not (folder / name).is_file():
                raise IndexLoadError(f"{folder / name}: missing; rebuild the index with `python -m rag ingest`")
        manifest = _read_json(folder / "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") not in READABLE:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise IndexLoadError(f"{folder / 'manifest.json'}: index format {found!r}, "
                                 f"this version reads {' or '.join(map(str, READABLE))}; rebuild the index")
        for name, size in manifest.get("sizes", {}).items():
            if not (folder / name).is_file():
                raise IndexLoadError(f"{folder / name}: missing; rebuild the index")
            if (folder / name).stat().st_size != size:
                raise IndexLoadError(f"{folder / name}: {(folder / name).stat().st_size} bytes, "
                                     f"expected {size} (truncated or altered); rebuild the index")
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
        if index.vectors.ntotal != len(index.chunks) or index.lexical.counts.shape[0] != len(index.chunks) \
                or index.vectors.d != index.dim:
            raise IndexLoadError(f"{folder}: {len(index.chunks)} chunks but {index.vectors.ntotal} vectors "
                                 f"and {index.lexical.counts.shape[0]} BM25 rows; rebuild the index")
        if len(index.documents) != manifest.get("documents", len(index.documents)):
            raise IndexLoadError(f"{folder / 'documents.jsonl'}: {len(index.documents)} documents, manifest says "
                                 f"{manifest['documents']}; rebuild the index")
        return index


def _save_sentences(path: Path, sentences: list[np.ndarray | None], dim: int) -> None:
    """Chunk i's sentence rows are ``sums[offsets[i]:offsets[i + 1]]``; a chunk without them has ``-1`` counts."""
    counts = np.array([-1 if s is None else len(s) for s in sentences], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(np.maximum(counts, 0))])
    rows = [s for s in sentences if s is not None and len(s)]
    sums = np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)
    with path.open("wb") as f:
        np.savez(f, counts=counts, offsets=offsets, sums=sums)


def _load_sentences(path: Path, n_chunks: int, dim: int) -> list[np.ndarray | None]:
    """Stored sentence vectors per chunk; an index saved before they existed has none (answers encode them)."""
    if not path.is_file():
        return [None] * n_chunks
    try:
        with np.load(path, allow_pickle=False) as z:
            counts, offsets, sums = z["counts"], z["offsets"], z["sums"]
    except (OSError, ValueError, KeyError) as err:
        raise IndexLoadError(f"{path}: unreadable ({err})") from err
    if len(counts) != n_chunks or sums.shape[1:] != (dim,) or offsets[-1] != len(sums):
        raise IndexLoadError(f"{path}: does not match the chunks; rebuild the index")
    return [None if c < 0 else sums[offsets[i] : offsets[i + 1]] for i, c in enumerate(counts)]


def current_version(folder: Path) -> str | None:
    """The live version's folder name, or ``None`` for an older flat index folder."""
    pointer = folder / CURRENT
    if not pointer.is_file():
        if (folder / "manifest.json").is_file():
            return None
        raise IndexLoadError(f"{folder}: no index here; build one with `python -m rag ingest`")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise IndexLoadError(f"{pointer}: unreadable ({err})") from err
    if not VERSION.fullmatch(name) or not (folder / name).is_dir():
        raise IndexLoadError(f"{pointer}: names {name!r}, which is not a saved version; rebuild the index")
    return name


def _versions(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if VERSION.fullmatch(p.name) and p.is_dir())


def _tidy(folder: Path, current: str) -> None:
    """Remove old versions (keeping ``KEEP``), leftovers of killed writers and a replaced flat layout."""
    for name in _versions(folder)[:-KEEP]:
        if name != current:
            shutil.rmtree(folder / name, ignore_errors=True)
    for leftover in folder.glob(".tmp-v*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for name in (*FILES, SENTENCES):
        (folder / name).unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
