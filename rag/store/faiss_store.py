"""The embedded vector store: FAISS ``IndexIDMap2`` over an exact inner-product index.

Vectors are keyed by chunk id (the id map), so removing chunks never renumbers the others. A filter is pushed
down as an ID selector in the search parameters: FAISS scores only the chunks that pass, with no reconstruction.
The inner index is flat today; an IVF or HNSW index can replace it behind the same id map.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import faiss
import numpy as np

from rag.store.payload import Payload
from rag.store.vectors import Scored
from rag.types import Filters, PageMeta
from rag.versions import IndexLoadError

FILE = "vectors.faiss"


class FaissStore:
    """Dense vectors by chunk id with their payload (``rag.store.vectors.VectorStore``)."""

    def __init__(self, dim: int, index: faiss.IndexIDMap2 | None = None, payload: Payload | None = None) -> None:
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.payload = payload or Payload()

    def __len__(self) -> int:
        return self.index.ntotal

    def ids(self) -> np.ndarray:
        return self.payload.ids

    def add(self, ids: Sequence[int], vectors: np.ndarray, metas: Sequence[PageMeta]) -> None:
        if len(ids) != len(vectors):
            raise ValueError("one vector per id")
        payload = self.payload.extend(Payload.of(ids, metas))
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, np.int64))
        self.payload = payload

    def delete(self, ids: Iterable[int]) -> None:
        ids = np.fromiter(ids, np.int64)
        if len(ids):
            self.index.remove_ids(ids)
            self.payload = self.payload.without(ids)

    def set_meta(self, ids: Iterable[int], meta: PageMeta) -> None:
        self.payload = self.payload.with_meta(ids, meta)

    def count(self, filters: Filters | None = None) -> int:
        return len(self) if filters is None or not filters.active else int(self.payload.mask(filters).sum())

    def search(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Scored:
        params, selector = None, None
        if filters is not None and filters.active:
            passing = self.payload.ids[self.payload.mask(filters)]
            k = min(k, len(passing))
            selector = faiss.IDSelectorBatch(passing)  # referenced here while FAISS searches with it
            params = faiss.SearchParameters(sel=selector)
        k = min(k, len(self))
        if k <= 0:
            return []
        scores, ids = self.index.search(np.asarray(query, np.float32).reshape(1, -1), k, params=params)
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        self.payload.rows(ids)  # KeyError for an id not held
        return self.index.reconstruct_batch(ids)

    def score(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        return self.vectors(ids) @ query

    def copy(self) -> FaissStore:
        return FaissStore(self.dim, faiss.clone_index(self.index), self.payload)

    def commit(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray, metas: Sequence[PageMeta], dim: int) -> FaissStore:
        """The store saved in ``folder`` for chunks ``ids`` (ascending) with payload ``metas``.

        An index saved before ids were stable holds a plain flat index whose row ``i`` is chunk ``ids[i]``; it is
        wrapped in an id map in memory (the file is left as it is).
        """
        path = folder / FILE
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as err:
            raise IndexLoadError(f"{path}: unreadable FAISS index") from err
        if index.d != dim or index.ntotal != len(ids):
            raise IndexLoadError(f"{path}: {index.ntotal} vectors of {index.d} dimensions for {len(ids)} chunks of "
                                 f"{dim}; rebuild the index")
        if not isinstance(index, faiss.IndexIDMap2):
            if index.metric_type != faiss.METRIC_INNER_PRODUCT:
                raise IndexLoadError(f"{path}: not an inner-product index; rebuild the index")
            index = _with_ids(index, ids)
        elif not np.array_equal(faiss.vector_to_array(index.id_map), ids):
            raise IndexLoadError(f"{path}: its chunk ids differ from chunks.jsonl's; rebuild the index")
        return cls(dim, index, Payload.of(ids, metas))


def _with_ids(flat: faiss.Index, ids: np.ndarray) -> faiss.IndexIDMap2:
    """A row-numbered index as an id map: row ``i`` becomes chunk ``ids[i]``."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(flat.d))
    if flat.ntotal:
        index.add_with_ids(flat.reconstruct_n(0, flat.ntotal), ids.astype(np.int64))
    return index
