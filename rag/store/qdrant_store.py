"""The Qdrant vector store: dense vectors by chunk id in one Qdrant collection, versioned in place (MVCC).

Each point is one version of a chunk: its id is ``chunk << 20 | born % 2**20``, its payload ``chunk`` (the chunk
id), ``born`` (the store version that wrote it), ``died`` (the version that removed it; ``ALIVE`` until then),
``paper`` (``""`` when unknown), ``date`` (ISO) and ``day`` (the date as an int ``yyyymmdd``, for range
filters), ``page`` (absent when unknown). A ``QdrantStore`` is a view of the collection at one version ``V``: it
sees the points with ``born <= V < died``, and every query (search, count, vectors) carries that condition with
the question's ``Filters``, pushed down into Qdrant.

``copy()`` is the writer of version ``V + 1``: it writes its adds, deletes and metadata edits to Qdrant at once,
tagged ``V + 1`` (a new point for an added or re-described chunk, ``died = V + 1`` on the one it replaces), which
no view at ``V`` or below can see; ``commit`` writes ``qdrant.json`` (where the collection is, its name, the
version) into the version folder, so the index's ``CURRENT`` pointer swaps versions atomically as with FAISS.
Only one writer works at a time (the index's writer lock): a new writer first drops whatever an abandoned
writer (killed, or its save failed) left at its version or later. ``commit`` purges points that died at least
``KEEP`` versions before the one committed: readers up to ``KEEP`` versions behind keep their answers.

Qdrant's local mode (``QdrantClient(path=...)``) locks its folder for one process: ``client`` opens each
location once per process. Several processes (a server and a CLI ingest) need a Qdrant server (``url``).
``qdrant-client`` is an optional extra, imported only when a Qdrant store is used.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.store.payload import check_growing
from rag.store.vectors import Scored
from rag.types import Filters, PageMeta
from rag.versions import IndexLoadError

if TYPE_CHECKING:
    from qdrant_client import QdrantClient, models

FILE = "qdrant.json"
ALIVE = 2**62
"""``died`` of a point no version has removed."""
SHIFT = 20
"""Bits of a point id that hold its version (mod 2**20): two versions of a chunk never coexist that far apart."""
KEEP = 2
"""Versions behind the one committed whose readers keep their answers (``commit`` purges what only older saw)."""
BATCH = 256
"""Points per upsert request."""
HNSW_EF = 512
"""The search width of a server's HNSW graph: on real questions, ef 512 found 0.988 of the true top 10 at 10⁶
points (10.9 ms), Qdrant's default (its ef_construct, 100) under 0.9 (``scripts/bench_qdrant_edge.py``,
docs/scale.md). Sent to servers only: local mode searches exactly."""
OWNER = "papertrail_index"
"""Collection metadata: the folder of the index whose vectors the collection holds."""
INDEXED = {"chunk": "integer", "born": "integer", "died": "integer", "paper": "keyword", "day": "integer",
           "page": "integer"}
"""The payload indexes a server collection gets (local mode ignores payload indexes)."""
log = logging.getLogger(__name__)


def qdrant() -> Any:
    """The ``qdrant_client`` package, or an ``IndexLoadError`` naming the extra that installs it."""
    try:
        import qdrant_client
    except ImportError as err:
        raise IndexLoadError("the Qdrant store needs qdrant-client: pip install 'papertrail[qdrant]'") from err
    return qdrant_client


@dataclass(frozen=True)
class Location:
    """Where a collection lives: a Qdrant server's ``url`` (with its ``api_key``) or a local-mode folder ``path``."""

    url: str | None = None
    path: Path | None = None
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.url is None) == (self.path is None):
            raise ValueError("a Qdrant location is a server url or a local path, one of them")
        if self.path is not None:
            object.__setattr__(self, "path", Path(self.path).resolve())

    def to_json(self) -> dict:
        """The location as saved in ``qdrant.json`` (never the API key)."""
        return {"url": self.url} if self.url else {"path": str(self.path)}


_clients: dict[tuple, QdrantClient] = {}
_opening = threading.Lock()


def client(location: Location) -> QdrantClient:
    """The process's one client for ``location`` (local mode would refuse a second on the same folder)."""
    key = (location.url, location.path, location.api_key)
    with _opening:
        if key not in _clients:
            make = qdrant().QdrantClient
            _clients[key] = make(url=location.url, api_key=location.api_key) if location.url else \
                make(path=str(location.path))
        return _clients[key]


@atexit.register
def _close() -> None:
    """Close the clients while the interpreter can still run their clean-up (local mode's unlock)."""
    for opened in _clients.values():
        opened.close()


class QdrantStore:
    """Dense vectors by chunk id in a Qdrant collection, seen at ``version`` (``rag.store.vectors.VectorStore``).

    ``held`` is the ascending ids visible at ``version``, kept in memory as the index keeps its chunks.
    """

    def __init__(self, dim: int, location: Location, collection: str, version: int, held: np.ndarray) -> None:
        self.dim = dim
        self.location = location
        self.collection = collection
        self.version = version
        self.held = held
        self.client = client(location)

    @classmethod
    def create(cls, dim: int, location: Location, collection: str, owner: str, shards: int | None = None,
               replicas: int | None = None) -> QdrantStore:
        """The empty first version of the index ``owner`` (its folder) in ``collection``, made if missing (with
        ``shards`` and ``replicas`` on a cluster, every write acknowledged by all copies, so whichever copy answers
        a reader has the version ``CURRENT`` names) and marked as that index's (collection metadata ``OWNER``).
        Points a save of that index never published are dropped; a collection another index or program holds is
        refused, never emptied."""
        models = qdrant().models
        store_client = client(location)
        if not store_client.collection_exists(collection):
            store_client.create_collection(collection, models.VectorParams(size=dim, distance=models.Distance.DOT),
                                           shard_number=shards, replication_factor=replicas,
                                           write_consistency_factor=replicas,
                                           metadata={OWNER: owner})
            if location.url:
                for name, schema in INDEXED.items():
                    store_client.create_payload_index(collection, name, field_schema=schema)
        held_by = (store_client.get_collection(collection).config.metadata or {}).get(OWNER)
        if held_by != owner and (held_by or store_client.count(collection, exact=True).count):
            raise IndexLoadError(f"Qdrant collection {collection!r} at {location.to_json()} holds "
                                 f"{'the index ' + held_by if held_by else 'points PaperTrail did not write'}; "
                                 "name another collection (--qdrant-collection)")
        if held_by is None:
            store_client.update_collection(collection, metadata={OWNER: owner})
        store = cls(dim, location, collection, 1, np.zeros(0, np.int64))
        store._check_dim()
        store._roll_back()
        return store

    def __len__(self) -> int:
        return len(self.held)

    @property
    def where(self) -> str:
        """The collection and its location, as messages name them."""
        return f"Qdrant collection {self.collection!r} at {self.location.to_json()}"

    def ids(self) -> np.ndarray:
        return self.held

    def add(self, ids: Sequence[int], vectors: np.ndarray, metas: Sequence[PageMeta]) -> None:
        ids = np.asarray(ids, np.int64).reshape(-1)
        if len(ids) != len(vectors) or len(ids) != len(metas):
            raise ValueError("one vector and one PageMeta per id")
        check_growing(self.held, ids)
        self._upsert(ids, np.asarray(vectors, np.float32), metas)
        self.held = np.sort(np.concatenate([self.held, ids]))

    def delete(self, ids: Iterable[int]) -> None:
        ids = np.intersect1d(np.fromiter(ids, np.int64), self.held)
        if not len(ids):
            return
        models = qdrant().models
        mine = models.Filter(must=[_any("chunk", ids), _equal("born", self.version)])
        self.client.delete(self.collection, models.FilterSelector(filter=mine))  # never seen by another version
        self.client.set_payload(self.collection, {"died": self.version}, self._filter(chunks=ids))
        self.held = np.setdiff1d(self.held, ids)

    def set_meta(self, ids: Iterable[int], meta: PageMeta) -> None:
        """A new point for each chunk at this version (in place for one this writer added); the old one dies."""
        ids = np.fromiter(ids, np.int64)
        self._known(ids)
        points = self._points(ids)
        older = [p.id for p in points if p.payload["born"] < self.version]
        if older:
            self.client.set_payload(self.collection, {"died": self.version}, older)
        self._upsert(np.array([p.payload["chunk"] for p in points], np.int64),
                     np.array([p.vector for p in points], np.float32).reshape(-1, self.dim), [meta] * len(points))

    def count(self, filters: Filters | None = None) -> int:
        if filters is None or not filters.active:
            return len(self)
        return self.client.count(self.collection, count_filter=self._filter(filters), exact=True).count

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

    def copy(self) -> QdrantStore:
        """The writer of the next version."""
        other = QdrantStore(self.dim, self.location, self.collection, self.version + 1, self.held)
        other._roll_back()
        return other

    def commit(self, folder: Path) -> None:
        """Purge points no reader within ``KEEP`` versions sees, and record this version in ``folder``."""
        models = qdrant().models
        gone = models.Filter(must=[models.FieldCondition(key="died", range=models.Range(lte=self.version - KEEP))])
        self.client.delete(self.collection, models.FilterSelector(filter=gone))
        saved = {"location": self.location.to_json(), "collection": self.collection, "version": self.version,
                 "dim": self.dim}
        (folder / FILE).write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray, dim: int, api_key: str | None = None) -> QdrantStore:
        """The view ``folder``'s ``qdrant.json`` records, for chunks ``ids`` (ascending); ``api_key`` for a server."""
        path = folder / FILE
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            location = Location(saved["location"].get("url"), saved["location"].get("path"), api_key)
            store = cls(int(saved["dim"]), location, str(saved["collection"]), int(saved["version"]),
                        np.asarray(ids, np.int64))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise IndexLoadError(f"{path}: unreadable ({err!r}); rebuild the index") from err
        if store.dim != dim:
            raise IndexLoadError(f"{path}: {store.dim} dimensions for chunks of {dim}; rebuild the index")
        if not store.client.collection_exists(store.collection):
            raise IndexLoadError(f"{path}: Qdrant has no collection {store.collection!r} at {location.to_json()}")
        store._check_dim()
        found = store.client.count(store.collection, count_filter=store._filter(), exact=True).count
        if found != len(ids):
            raise IndexLoadError(f"{path}: Qdrant holds {found} vectors at version {store.version} for {len(ids)} "
                                 "chunks; rebuild the index")
        return store

    def _check_dim(self) -> None:
        size = self.client.get_collection(self.collection).config.params.vectors.size
        if size != self.dim:
            raise IndexLoadError(f"Qdrant collection {self.collection!r} holds {size}-dimensional vectors, "
                                 f"not {self.dim}; name another collection")

    def _roll_back(self) -> None:
        """Drop what an abandoned writer left at this version or later (nothing there was ever published)."""
        models = qdrant().models
        later = models.Range(gte=self.version)
        left = models.Filter(must=[models.FieldCondition(key="born", range=later)])
        if self.client.count(self.collection, count_filter=left, exact=True).count:
            log.warning("Qdrant collection %s: dropping points of an unsaved version %d or later",
                        self.collection, self.version)
        self.client.delete(self.collection, models.FilterSelector(filter=left))
        revived = models.Filter(must=[models.FieldCondition(key="died", range=models.Range(gte=self.version,
                                                                                            lt=ALIVE))])
        self.client.set_payload(self.collection, {"died": ALIVE}, revived)

    def _known(self, ids: np.ndarray) -> None:
        unknown = np.setdiff1d(ids, self.held)
        if len(unknown):
            raise KeyError(f"unknown chunk ids {unknown[:5].tolist()}")

    def _points(self, ids: np.ndarray) -> list[models.Record]:
        """The points (with vectors) of chunks ``ids`` at this version."""
        points, offset = [], None
        while True:
            page, offset = self.client.scroll(self.collection, self._filter(chunks=ids), limit=max(len(ids), 1),
                                              offset=offset, with_payload=["chunk", "born"], with_vectors=True)
            points += page
            if offset is None:
                return points

    def _upsert(self, ids: np.ndarray, vectors: np.ndarray, metas: Sequence[PageMeta]) -> None:
        models = qdrant().models
        points = [models.PointStruct(id=int(i) << SHIFT | self.version % 2**SHIFT, vector=v.tolist(),
                                     payload=_payload(int(i), meta, self.version))
                  for i, v, meta in zip(ids, vectors, metas)]
        for start in range(0, len(points), BATCH):
            self.client.upsert(self.collection, points[start : start + BATCH], wait=True)

    def _filter(self, filters: Filters | None = None, chunks: np.ndarray | None = None) -> models.Filter:
        """The points of this version passing ``filters`` (and of ``chunks``, when given)."""
        models = qdrant().models
        must = [models.FieldCondition(key="born", range=models.Range(lte=self.version)),
                models.FieldCondition(key="died", range=models.Range(gt=self.version))]
        if chunks is not None:
            must.append(_any("chunk", chunks))
        if filters is not None and filters.papers:
            must.append(_any("paper", [p for p in filters.papers if p]))
        if filters is not None and (filters.date_from or filters.date_to):
            must.append(models.FieldCondition(key="day", range=models.Range(
                gte=_day(filters.date_from) if filters.date_from else None,
                lte=_day(filters.date_to) if filters.date_to else None)))
        if filters is not None and filters.page is not None:
            must.append(_equal("page", filters.page))
        return models.Filter(must=must)


def _payload(chunk: int, meta: PageMeta, version: int) -> dict:
    payload = {"chunk": chunk, "born": version, "died": ALIVE, "paper": meta.paper or "", "date": meta.date or ""}
    if meta.date:
        payload["day"] = _day(meta.date)
    if meta.page is not None:
        payload["page"] = meta.page
    return payload


def _day(iso: str) -> int:
    """An ISO date (or its prefix, ``2026-04``) as ``yyyymmdd``; a prefix is padded with zeros, so the range
    filter orders it as ``Payload.mask`` orders the ISO strings."""
    return int(iso.replace("-", "").ljust(8, "0")[:8])


def _any(key: str, values: Iterable) -> models.FieldCondition:
    models = qdrant().models
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return models.FieldCondition(key=key, match=models.MatchAny(any=values))


def _equal(key: str, value: int) -> models.FieldCondition:
    models = qdrant().models
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))
