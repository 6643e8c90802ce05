"""The vector-store seam: dense vectors keyed by stable chunk id, searched with filters as data.

Modelled on txtai's ANN interface (index, append, delete, search, save/load): a backend keeps each chunk's vector
with its payload (paper, date, page) and pushes a ``Filters`` down into its own search. ``FaissStore``
(``rag.store.faiss_store``) is the embedded default; ``QdrantStore`` (``rag.store.qdrant_store``, Qdrant through
``qdrant-client``) implements the same protocol, with ``commit`` recording a version of its collection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rag.types import Chunk, Filters, PageMeta

Scored = list[tuple[int, float]]
"""``(chunk id, score)`` pairs, best first."""


@runtime_checkable
class VectorStore(Protocol):
    """Vectors of chunks by id; a published store is never changed (writers change a ``copy``)."""

    dim: int

    def __len__(self) -> int: ...

    def ids(self) -> np.ndarray:
        """The ids held, ascending."""
        ...

    def add(self, ids: Sequence[int], vectors: np.ndarray, metas: Sequence[PageMeta]) -> None:
        """Add chunks (ids larger than any held) with their vectors and payload."""
        ...

    def delete(self, ids: Iterable[int]) -> None:
        """Drop chunks; ids not held are ignored."""
        ...

    def set_meta(self, ids: Iterable[int], meta: PageMeta) -> None:
        """Give chunks a new payload (a page's metadata was edited)."""
        ...

    def count(self, filters: Filters | None = None) -> int:
        """How many chunks pass ``filters``."""
        ...

    def search(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Scored:
        """The ``k`` chunks (of those passing ``filters``) whose vectors have the largest inner product with
        ``query``."""
        ...

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunks, in the order of ``ids`` (``KeyError`` for an id not held)."""
        ...

    def score(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        """The inner product of ``query`` with each chunk's vector, in the order of ``ids``."""
        ...

    def copy(self) -> VectorStore:
        """An independent copy to change while readers keep this one."""
        ...

    def commit(self, folder: Path) -> None:
        """Write the store into ``folder``, the version being saved (``rag.store.disk``)."""
        ...


@runtime_checkable
class Describable(Protocol):
    """A store that keeps, beside each chunk's vector, what describes the chunk (``about``) for other readers of
    its collection: a Qdrant collection can be searched, grouped by reprint and shown without our files. Never
    filtered on; ``Index`` gives it on add and whenever linking changes a chunk's reprint group."""

    def describe(self, ids: Sequence[int], about: Sequence[dict]) -> None:
        """Keep ``about[i]`` for chunk ``ids[i]`` (replacing what was kept)."""
        ...


def about(chunk: Chunk) -> dict:
    """What a ``Describable`` store keeps of a chunk: its page's id and file, its headline, its reprint group."""
    return {"doc_id": chunk.doc_id, "source": chunk.source, "title": chunk.title, "reprint_group": chunk.reprint_group}
