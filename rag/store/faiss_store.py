"""The embedded vector store: FAISS, exact (flat) while small, inverted lists (IVF) once large.

Vectors are keyed by chunk id (an ``IndexIDMap2`` around the flat index; an IVF index keeps ids itself, with a
hash-table direct map for reconstruction and removal), so removing chunks never renumbers the others. A filter
is pushed down as an ID selector in the search parameters: FAISS scores only the chunks that pass, with no
reconstruction. ``Layout`` picks the index by size and retrains it as the archive grows (measured in
``scripts/bench_ann.py``, see docs/benchmarks.md); the number of lists probed is saved with the index.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.store.payload import Payload
from rag.store.vectors import Scored
from rag.types import Filters, PageMeta
from rag.versions import IndexLoadError

FILE = "vectors.faiss"
KINDS = ("auto", "flat", "ivf", "ivf-sq8")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """Which FAISS index holds the vectors: ``flat`` (exact), ``ivf`` (IVF-Flat), ``ivf-sq8`` (IVF with 8-bit
    scalar-quantised vectors, a quarter of the memory) or ``auto``: flat below ``ivf_from`` chunks, IVF-Flat from
    there (back to flat below half of it). An IVF index has about 4·√n lists for n chunks, is retrained when the
    archive has grown (or shrunk) enough to double (or halve) that, and probes ``probe_share`` of its lists per
    query."""

    kind: str = "auto"
    ivf_from: int = 200_000
    probe_share: float = 1 / 8

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"vector index {self.kind!r}: choose one of {', '.join(KINDS)}")

    @staticmethod
    def lists_for(n: int) -> int:
        """About 4·√n lists, with at least 39 training vectors per list (FAISS's minimum for k-means)."""
        return max(1, min(round(4 * math.sqrt(n)), n // 39))

    def plan(self, n: int, lists: int | None) -> int | None:
        """The lists an index of ``n`` chunks should have (``None``: flat), given those it has now."""
        ivf = self.kind in ("ivf", "ivf-sq8") or self.kind == "auto" and (
            n >= self.ivf_from if lists is None else n >= self.ivf_from // 2)
        if not ivf or n == 0:
            return None
        wanted = self.lists_for(n)
        return lists if lists is not None and lists / 2 <= wanted < 2 * lists else wanted

    def probes(self, lists: int) -> int:
        return max(1, min(lists, math.ceil(lists * self.probe_share)))


class FaissStore:
    """Dense vectors by chunk id with their payload (``rag.store.vectors.VectorStore``)."""

    def __init__(self, dim: int, index: faiss.Index | None = None, payload: Payload | None = None,
                 layout: Layout | None = None) -> None:
        self.dim = dim
        self.index = index if index is not None else _flat(dim)
        self.payload = payload or Payload()
        self.layout = layout or Layout()

    @property
    def lists(self) -> int | None:
        """The IVF index's number of lists, ``None`` while flat."""
        return self.index.nlist if isinstance(self.index, faiss.IndexIVF) else None

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
        self._arrange()

    def delete(self, ids: Iterable[int]) -> None:
        ids = np.fromiter(ids, np.int64)
        if len(ids):
            self.index.remove_ids(faiss.IDSelectorArray(ids))  # the hash-table direct map needs an array
            self.payload = self.payload.without(ids)
            self._arrange()

    def _arrange(self) -> None:
        """Rebuild the index when ``layout`` plans another one for its size (built from the stored vectors)."""
        lists = self.lists
        wanted = self.layout.plan(len(self), lists)
        if wanted == lists:
            return
        ids = self.payload.ids
        vectors = self.index.reconstruct_batch(ids) if len(ids) else np.zeros((0, self.dim), np.float32)
        if wanted is None:
            log.info("vector index: %d chunks, exact (flat)", len(ids))
            index = _flat(self.dim)
        else:
            log.info("vector index: training %d lists on %d chunks (%s)", wanted, len(ids), self.layout.kind)
            index = _ivf(self.dim, wanted, self.layout.kind == "ivf-sq8", vectors)
            index.nprobe = self.layout.probes(wanted)
        index.add_with_ids(vectors, ids)
        self.index = index

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
            lists = self.lists
            if lists is None:
                params = faiss.SearchParameters(sel=selector)
            else:  # probe more lists the fewer chunks pass, so as many passing chunks are reached
                share = max(len(passing), 1) / max(len(self), 1)
                params = faiss.SearchParametersIVF(sel=selector, nprobe=min(lists, math.ceil(self.index.nprobe / share)))
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
        return FaissStore(self.dim, faiss.clone_index(self.index), self.payload, self.layout)

    def commit(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray, metas: Sequence[PageMeta], dim: int,
             layout: Layout | None = None) -> FaissStore:
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
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise IndexLoadError(f"{path}: not an inner-product index; rebuild the index")
        if isinstance(index, faiss.IndexIVF):
            held = np.sort(np.concatenate([_list_ids(index, i) for i in range(index.nlist)] or [np.zeros(0, np.int64)]))
        elif isinstance(index, faiss.IndexIDMap2):
            held = faiss.vector_to_array(index.id_map)
        else:  # a flat index from before ids were stable
            index, held = _with_ids(index, ids), ids
        if not np.array_equal(held, ids):
            raise IndexLoadError(f"{path}: its chunk ids differ from chunks.jsonl's; rebuild the index")
        return cls(dim, index, Payload.of(ids, metas), layout)


def _flat(dim: int) -> faiss.IndexIDMap2:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _ivf(dim: int, lists: int, sq8: bool, vectors: np.ndarray) -> faiss.IndexIVF:
    """An inner-product IVF index with ``lists`` lists trained on ``vectors`` (FAISS's k-means samples at most
    256 per list; its seed is fixed), keeping ids in a hash table for reconstruction and removal."""
    index = faiss.index_factory(dim, f"IVF{lists},{'SQ8' if sq8 else 'Flat'}", faiss.METRIC_INNER_PRODUCT)
    index.cp.min_points_per_centroid = 1  # ``Layout.lists_for`` keeps 39 a list where there are that many
    index.train(vectors)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    return index


def _list_ids(index: faiss.IndexIVF, i: int) -> np.ndarray:
    lists = index.invlists
    return faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).astype(np.int64).copy()


def _with_ids(flat: faiss.Index, ids: np.ndarray) -> faiss.IndexIDMap2:
    """A row-numbered index as an id map: row ``i`` becomes chunk ``ids[i]``."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(flat.d))
    if flat.ntotal:
        index.add_with_ids(flat.reconstruct_n(0, flat.ntotal), ids.astype(np.int64))
    return index
