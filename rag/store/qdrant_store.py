"""The Qdrant vector store: dense vectors by chunk id in one Qdrant collection, versioned in place (MVCC,
``rag.store.qdrant_points``); ``qdrant.json`` in a version folder records the collection and its version."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.store.payload import check_growing
from rag.store.qdrant_points import SHIFT, Location, QdrantPoints, qdrant
from rag.store.vectors import Scored
from rag.types import Filters, PageMeta
from rag.versions import IndexLoadError

if TYPE_CHECKING:
    from qdrant_client import models

FILE = "qdrant.json"
HNSW_EF = 512
"""The search width of a server's HNSW graph: on real questions, ef 512 found 0.988 of the true top 10 at 10⁶
points (10.9 ms), Qdrant's default (its ef_construct, 100) under 0.9 (``scripts/bench_qdrant_edge.py``,
docs/scale.md). Sent to servers only: local mode searches exactly."""


class QdrantStore(QdrantPoints):
    """Dense vectors by chunk id in a Qdrant collection, seen at ``version`` (``rag.store.vectors.VectorStore``)."""

    FILE = FILE

    def __init__(self, dim: int, location: Location, collection: str, version: int, held: np.ndarray) -> None:
        super().__init__(location, collection, version, held)
        self.dim = dim

    @classmethod
    def create(cls, dim: int, location: Location, collection: str, owner: str, shards: int | None = None,
               replicas: int | None = None) -> QdrantStore:
        """The empty first version of the index ``owner`` (its folder) in ``collection``, made if missing
        (``QdrantPoints.open_collection``); points a save of that index never published are dropped."""
        models = qdrant().models
        cls.open_collection(location, collection, owner, shards, replicas,
                            vectors_config=models.VectorParams(size=dim, distance=models.Distance.DOT))
        store = cls(dim, location, collection, 1, np.zeros(0, np.int64))
        store._check_schema()
        store._roll_back()
        return store

    def add(self, ids: Sequence[int], vectors: np.ndarray, metas: Sequence[PageMeta]) -> None:
        ids = np.asarray(ids, np.int64).reshape(-1)
        if len(ids) != len(vectors) or len(ids) != len(metas):
            raise ValueError("one vector and one PageMeta per id")
        check_growing(self.held, ids)
        self._upsert(ids.tolist(), np.asarray(vectors, np.float32).tolist(),
                     [self._payload(int(i), m) for i, m in zip(ids, metas)])
        self.held = np.sort(np.concatenate([self.held, ids]))

    def search(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Scored:
        k = min(k, len(self))
        if k <= 0:
            return []
        found = self.client.query_points(self.collection, query=np.asarray(query, np.float32).tolist(), limit=k,
                                         query_filter=self._filter(filters), with_payload=False,
                                         search_params=self._width(k)).points
        return [(int(p.id) >> SHIFT, float(p.score)) for p in found]

    def _width(self, k: int) -> models.SearchParams | None:
        """A server's HNSW search width (local mode searches exactly and warns of any)."""
        return qdrant().models.SearchParams(hnsw_ef=max(HNSW_EF, k)) if self.location.url else None

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(ids, np.int64).reshape(-1)
        self._known(ids)
        by_id = {p.payload["chunk"]: p.vector for p in self._points(ids)}
        return np.array([by_id[i] for i in ids.tolist()], np.float32).reshape(-1, self.dim)

    def score(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        return self.vectors(ids) @ query

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray, dim: int, api_key: str | None = None) -> QdrantStore:
        """The view ``folder``'s ``qdrant.json`` records, for chunks ``ids`` (ascending); ``api_key`` for a server."""
        store = cls.read(folder, ids, api_key)
        if store.dim != dim:
            raise IndexLoadError(f"{folder / FILE}: {store.dim} dimensions for chunks of {dim}; rebuild the index")
        return store

    @classmethod
    def _restore(cls, saved: dict, folder: Path, location: Location, ids: np.ndarray) -> QdrantStore:
        return cls(int(saved["dim"]), location, str(saved["collection"]), int(saved["version"]), ids)

    def _saved(self, folder: Path) -> dict:
        return {"dim": self.dim}

    def _check_schema(self) -> None:
        size = getattr(self.client.get_collection(self.collection).config.params.vectors, "size", None)
        if size != self.dim:
            raise IndexLoadError(f"Qdrant collection {self.collection!r} holds {size}-dimensional vectors, "
                                 f"not {self.dim}; name another collection")
