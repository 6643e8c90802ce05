"""Per chunk, the vectors (float16) of the page sentences it overlaps, each encoded alone (``rag.evidence``), by
chunk id.

On disk, ``sentence_vectors.npz``: chunk ``ids[i]``'s rows are ``vectors[offsets[i]:offsets[i + 1]]``, and a chunk
without them has ``-1`` in ``counts`` (an index saved before ids were stable has no ``ids``: its entries are the
chunks in order). Indexes saved before the file existed (whose ``page_sentences.npz`` or ``sentences.npz`` held
vectors pooled from the chunk, a weaker signal the answer model was not fitted on) load without it, and answers
encode candidates at query time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.versions import IndexLoadError

FILE = "sentence_vectors.npz"


class SentenceStore:
    """Sentence vectors by chunk id; ``None`` for a chunk that has none."""

    def __init__(self, dim: int, vectors: dict[int, np.ndarray | None] | None = None) -> None:
        self.dim = dim
        self.vectors = vectors if vectors is not None else {}

    def __len__(self) -> int:
        return len(self.vectors)

    def get(self, chunk_id: int) -> np.ndarray | None:
        return self.vectors.get(chunk_id)

    def add(self, ids: Sequence[int], vectors: Sequence[np.ndarray | None]) -> None:
        if len(ids) != len(vectors):
            raise ValueError("one sentence array per id")
        self.vectors.update(zip(map(int, ids), vectors))

    def delete(self, ids: Iterable[int]) -> None:
        for i in ids:
            self.vectors.pop(int(i), None)

    def copy(self) -> SentenceStore:
        return SentenceStore(self.dim, dict(self.vectors))

    def commit(self, folder: Path) -> None:
        ids = np.array(sorted(self.vectors), np.int64)
        arrays = [self.vectors[i] for i in ids]
        counts = np.array([-1 if s is None else len(s) for s in arrays], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(np.maximum(counts, 0))])
        rows = [s for s in arrays if s is not None and len(s)]
        vectors = np.concatenate(rows).astype(np.float16) if rows else np.zeros((0, self.dim), np.float16)
        with (folder / FILE).open("wb") as f:
            np.savez(f, ids=ids, counts=counts, offsets=offsets, vectors=vectors)

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray, dim: int) -> SentenceStore:
        """The vectors saved in ``folder`` for chunks ``ids``; none for each when the file is not there."""
        path = folder / FILE
        if not path.is_file():
            return cls(dim, dict.fromkeys(map(int, ids)))
        try:
            with np.load(path, allow_pickle=False) as z:
                counts, offsets, vectors = z["counts"], z["offsets"], z["vectors"]
                saved = z["ids"] if "ids" in z.files else ids
        except (OSError, ValueError, KeyError) as err:
            raise IndexLoadError(f"{path}: unreadable ({err})") from err
        if len(counts) != len(ids) or not np.array_equal(saved, ids) or vectors.shape[1:] != (dim,) \
                or offsets[-1] != len(vectors):
            raise IndexLoadError(f"{path}: does not match the chunks; rebuild the index")
        return cls(dim, {int(i): None if c < 0 else vectors[offsets[n] : offsets[n + 1]]
                         for n, (i, c) in enumerate(zip(ids, counts))})
