"""The searchable store: documents, chunks, FAISS vectors and BM25 counts, saved without pickle."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np

from rag.lexical import BM25, tokenize
from rag.types import Chunk, Document, PageMeta

FORMAT = 1
FILES = ("manifest.json", "documents.jsonl", "chunks.jsonl", "vectors.faiss", "lexical.npz", "lexical_vocab.json")


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

    def __len__(self) -> int:
        return len(self.chunks)

    def add(self, documents: list[Document], chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Append documents and their chunks; chunk ids must continue from ``len(self)``."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        for doc in documents:
            self.documents[doc.doc_id] = doc
        self.chunks.extend(chunks)
        if len(vectors):
            self.vectors.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.lexical = self.lexical.extend([tokenize(c.embed_text()) for c in chunks])

    def save(self, folder: Path) -> None:
        """Write into a temporary sibling folder, then swap it into place."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        manifest = {"format": FORMAT, "model": self.model, "dim": self.dim,
                    "documents": len(self.documents), "chunks": len(self.chunks)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _write_jsonl(tmp / "documents.jsonl", (asdict(d) for d in self.documents.values()))
        _write_jsonl(tmp / "chunks.jsonl", ({"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start,
                                              "end": c.end, "title": c.title} for c in self.chunks))
        faiss.write_index(self.vectors, str(tmp / "vectors.faiss"))
        self.lexical.save(tmp)
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> Index:
        """Load a saved index; raises ``IndexLoadError`` naming the bad file."""
        for name in FILES:
            if not (folder / name).is_file():
                raise IndexLoadError(f"{folder / name}: missing; rebuild the index with `python -m rag ingest`")
        manifest = _read_json(folder / "manifest.json")
        if manifest.get("format") != FORMAT:
            raise IndexLoadError(f"{folder / 'manifest.json'}: index format {manifest.get('format')!r}, "
                              f"this version reads {FORMAT}; rebuild the index")
        index = cls(manifest["model"], int(manifest["dim"]))
        try:
            for row in _read_jsonl(folder / "documents.jsonl"):
                row["meta"] = PageMeta(**row["meta"])
                row["spans"] = [tuple(s) for s in row["spans"]]
                doc = Document(**row)
                index.documents[doc.doc_id] = doc
            for row in _read_jsonl(folder / "chunks.jsonl"):
                doc = index.documents[row["doc_id"]]
                index.chunks.append(Chunk(text=doc.text[row["start"]:row["end"]], source=doc.source,
                                          meta=doc.meta, **row))
        except (KeyError, TypeError) as err:
            raise IndexLoadError(f"{folder}: inconsistent documents/chunks ({err!r}); rebuild the index") from err
        try:
            index.vectors = faiss.read_index(str(folder / "vectors.faiss"))
        except RuntimeError as err:
            raise IndexLoadError(f"{folder / 'vectors.faiss'}: unreadable FAISS index") from err
        try:
            index.lexical = BM25.load(folder)
        except (OSError, ValueError) as err:
            raise IndexLoadError(f"{folder / 'lexical.npz'}: unreadable ({err})") from err
        if index.vectors.ntotal != len(index.chunks) or index.lexical.counts.shape[0] != len(index.chunks):
            raise IndexLoadError(f"{folder}: {len(index.chunks)} chunks but {index.vectors.ntotal} vectors; rebuild")
        return index


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
