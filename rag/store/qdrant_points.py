"""Versioned points in one Qdrant collection (MVCC): the part the dense store (``rag.store.qdrant_store``) and
the BM25 store (``rag.store.qdrant_lexical``) in Qdrant share.

Each point is one version of a chunk: its id is ``chunk << 20 | born % 2**20``, its payload ``chunk`` (the chunk
id), ``born`` (the store version that wrote it), ``died`` (the version that removed it; ``ALIVE`` until then),
``paper`` (``""`` when unknown), ``date`` (ISO) and ``day`` (the date as an int ``yyyymmdd``, for range
filters), ``page`` (absent when unknown). A store is a view of its collection at one version ``V``: it sees the
points with ``born <= V < died``, and every query (search, count, vectors) carries that condition with the
question's ``Filters``, pushed down into Qdrant.

``copy()`` is the writer of version ``V + 1``: it writes its adds, deletes and metadata edits to Qdrant at once,
tagged ``V + 1`` (a new point for an added or re-described chunk, ``died = V + 1`` on the one it replaces), which
no view at ``V`` or below can see; ``commit`` writes the store's file (where the collection is, its name, the
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
import copy
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from rag.types import Filters, PageMeta
from rag.versions import IndexLoadError

if TYPE_CHECKING:
    from qdrant_client import QdrantClient, models

ALIVE = 2**62
"""``died`` of a point no version has removed."""
SHIFT = 20
"""Bits of a point id that hold its version (mod 2**20): two versions of a chunk never coexist that far apart."""
KEEP = 2
"""Versions behind the one committed whose readers keep their answers (``commit`` purges what only older saw)."""
BATCH = 256
"""Points per upsert request."""
OWNER = "papertrail_index"
"""Collection metadata: the folder of the index whose points the collection holds."""
INDEXED = {"chunk": "integer", "born": "integer", "died": "integer", "paper": "keyword", "day": "integer",
           "page": "integer", "doc_id": "keyword", "source": "keyword", "reprint_group": "keyword"}
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
        """The location as saved in the store's file (never the API key)."""
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


class QdrantPoints:
    """Chunks by id as versioned points of a Qdrant collection, seen at ``version``.

    ``held`` is the ascending ids visible at ``version``, kept in memory as the index keeps its chunks. A subclass
    names its ``FILE`` and says what a point's vector is (``_check_schema``, ``_saved``, ``_restore``).
    """

    FILE: ClassVar[str]
    PAYLOAD: ClassVar[tuple[str, ...]] = ("chunk", "born")
    """The payload fields ``_points`` reads."""

    def __init__(self, location: Location, collection: str, version: int, held: np.ndarray) -> None:
        self.location = location
        self.collection = collection
        self.version = version
        self.held = held
        self.client = client(location)

    @staticmethod
    def open_collection(location: Location, collection: str, owner: str, shards: int | None = None,
                        replicas: int | None = None, **schema: Any) -> None:
        """Make ``collection`` with the vectors ``schema`` names if missing (with ``shards`` and ``replicas`` on a
        cluster, every write acknowledged by all copies, so whichever copy answers a reader has the version
        ``CURRENT`` names) and mark it as the index ``owner``'s (collection metadata ``OWNER``). A collection
        another index or program holds is refused, never emptied."""
        store_client = client(location)
        if not store_client.collection_exists(collection):
            store_client.create_collection(collection, shard_number=shards, replication_factor=replicas,
                                           write_consistency_factor=replicas, metadata={OWNER: owner}, **schema)
            if location.url:
                for name, kind in INDEXED.items():
                    store_client.create_payload_index(collection, name, field_schema=kind)
        held_by = (store_client.get_collection(collection).config.metadata or {}).get(OWNER)
        if held_by != owner and (held_by or store_client.count(collection, exact=True).count):
            raise IndexLoadError(f"Qdrant collection {collection!r} at {location.to_json()} holds "
                                 f"{'the index ' + held_by if held_by else 'points PaperTrail did not write'}; "
                                 "name another collection (--qdrant-collection)")
        if held_by is None:
            store_client.update_collection(collection, metadata={OWNER: owner})

    def __len__(self) -> int:
        return len(self.held)

    @property
    def where(self) -> str:
        """The collection and its location, as messages name them."""
        return f"Qdrant collection {self.collection!r} at {self.location.to_json()}"

    def ids(self) -> np.ndarray:
        return self.held

    def delete(self, ids: Iterable[int]) -> None:
        ids = np.intersect1d(np.fromiter(ids, np.int64), self.held)
        if not len(ids):
            return
        models = qdrant().models
        mine = models.Filter(must=[match_any("chunk", ids), _equal("born", self.version)])
        self.client.delete(self.collection, models.FilterSelector(filter=mine))  # never seen by another version
        self.client.set_payload(self.collection, {"died": self.version}, self._filter(chunks=ids))
        self.held = np.setdiff1d(self.held, ids)

    def set_meta(self, ids: Iterable[int], meta: PageMeta) -> None:
        """A new point for each chunk at this version (in place for one this writer added); the old one dies."""
        ids = np.fromiter(ids, np.int64)
        self._known(ids)
        points = self._points(ids, payload=True)
        older = [p.id for p in points if p.payload["born"] < self.version]
        if older:
            self.client.set_payload(self.collection, {"died": self.version}, older)
        self._upsert([p.payload["chunk"] for p in points], [p.vector for p in points],
                     [self._payload(p.payload["chunk"], meta, p.payload) for p in points])

    def describe(self, ids: Sequence[int], about: Sequence[dict]) -> None:
        """Set what describes each chunk on its point at this version (``rag.store.vectors.Describable``). In place:
        older versions' readers read their own files, not these fields."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        if not len(ids):
            return
        self._known(ids)
        models = qdrant().models
        updates = [models.SetPayloadOperation(set_payload=models.SetPayload(payload=dict(a),
                                                                            filter=self._filter(chunks=[i])))
                   for i, a in zip(ids.tolist(), about)]
        for start in range(0, len(updates), BATCH):
            self.client.batch_update_points(self.collection, updates[start : start + BATCH], wait=True)

    def count(self, filters: Filters | None = None) -> int:
        if filters is None or not filters.active:
            return len(self)
        return self.client.count(self.collection, count_filter=self._filter(filters), exact=True).count

    def copy(self) -> QdrantPoints:
        """The writer of the next version."""
        other = copy.copy(self)
        other.version += 1
        other._roll_back()
        return other

    def commit(self, folder: Path) -> None:
        """Purge points no reader within ``KEEP`` versions sees, and record this version in ``folder``."""
        models = qdrant().models
        gone = models.Filter(must=[models.FieldCondition(key="died", range=models.Range(lte=self.version - KEEP))])
        self.client.delete(self.collection, models.FilterSelector(filter=gone))
        saved = {"location": self.location.to_json(), "collection": self.collection, "version": self.version,
                 **self._saved(folder)}
        (folder / self.FILE).write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path, ids: np.ndarray, api_key: str | None = None) -> QdrantPoints:
        """The view ``folder``'s ``FILE`` records, for chunks ``ids`` (ascending); ``api_key`` for a server."""
        path = folder / cls.FILE
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            location = Location(saved["location"].get("url"), saved["location"].get("path"), api_key)
            store = cls._restore(saved, folder, location, np.asarray(ids, np.int64))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise IndexLoadError(f"{path}: unreadable ({err!r}); rebuild the index") from err
        if not store.client.collection_exists(store.collection):
            raise IndexLoadError(f"{path}: Qdrant has no collection {store.collection!r} at {location.to_json()}")
        store._check_schema()
        found = store.client.count(store.collection, count_filter=store._filter(), exact=True).count
        if found != len(ids):
            raise IndexLoadError(f"{path}: Qdrant holds {found} points at version {store.version} for {len(ids)} "
                                 "chunks; rebuild the index")
        return store

    @classmethod
    def _restore(cls, saved: dict, folder: Path, location: Location, ids: np.ndarray) -> QdrantPoints:
        """The store ``saved`` (the file ``commit`` wrote in ``folder``) describes, for chunks ``ids``."""
        raise NotImplementedError

    def _saved(self, folder: Path) -> dict:
        """What ``commit`` records besides where and which version (and writes beside it in ``folder``)."""
        raise NotImplementedError

    def _check_schema(self) -> None:
        """An ``IndexLoadError`` unless the collection holds the vectors this store writes."""
        raise NotImplementedError

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

    def _points(self, ids: np.ndarray, vectors: bool = True, payload: bool = False) -> list[models.Record]:
        """The points of chunks ``ids`` at this version, with their vectors, and their ``PAYLOAD`` fields (all of
        it with ``payload``)."""
        points, offset = [], None
        while True:
            page, offset = self.client.scroll(self.collection, self._filter(chunks=ids), limit=max(len(ids), 1),
                                              offset=offset, with_payload=payload or list(self.PAYLOAD),
                                              with_vectors=vectors)
            points += page
            if offset is None:
                return points

    def _upsert(self, ids: Sequence[int], vectors: Sequence[Any], payloads: Sequence[dict]) -> None:
        """Write one point per chunk of ``ids`` at this version, with its vector (as Qdrant takes it) and payload."""
        models = qdrant().models
        points = [models.PointStruct(id=int(i) << SHIFT | self.version % 2**SHIFT, vector=v, payload=p)
                  for i, v, p in zip(ids, vectors, payloads)]
        for start in range(0, len(points), BATCH):
            self.client.upsert(self.collection, points[start : start + BATCH], wait=True)

    def _payload(self, chunk: int, meta: PageMeta, kept: dict | None = None) -> dict:
        """A new point's payload at this version: the chunk, its version and page metadata, and the fields of
        ``kept`` (an older point's) a store adds."""
        payload = {k: v for k, v in (kept or {}).items() if k not in ("chunk", "born", "died", "paper", "date", "day",
                                                                       "page")}
        payload |= {"chunk": chunk, "born": self.version, "died": ALIVE, "paper": meta.paper or "",
                    "date": meta.date or ""}
        if meta.date:
            payload["day"] = _day(meta.date)
        if meta.page is not None:
            payload["page"] = meta.page
        return payload

    def _filter(self, filters: Filters | None = None, chunks: Iterable[int] | None = None) -> models.Filter:
        """The points of this version passing ``filters`` (and of ``chunks``, when given)."""
        models = qdrant().models
        must = [models.FieldCondition(key="born", range=models.Range(lte=self.version)),
                models.FieldCondition(key="died", range=models.Range(gt=self.version))]
        if chunks is not None:
            must.append(match_any("chunk", chunks))
        if filters is not None and filters.papers:
            must.append(match_any("paper", [p for p in filters.papers if p]))
        if filters is not None and (filters.date_from or filters.date_to):
            must.append(models.FieldCondition(key="day", range=models.Range(
                gte=_day(filters.date_from) if filters.date_from else None,
                lte=_day(filters.date_to) if filters.date_to else None)))
        if filters is not None and filters.page is not None:
            must.append(_equal("page", filters.page))
        return models.Filter(must=must)


def _day(iso: str) -> int:
    """An ISO date (or its prefix, ``2026-04``) as ``yyyymmdd``; a prefix is padded with zeros, so the range
    filter orders it as ``Payload.mask`` orders the ISO strings."""
    return int(iso.replace("-", "").ljust(8, "0")[:8])


def match_any(key: str, values: Iterable) -> models.FieldCondition:
    """The condition that the payload field ``key`` is one of ``values``."""
    models = qdrant().models
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return models.FieldCondition(key=key, match=models.MatchAny(any=values))


def _equal(key: str, value: int) -> models.FieldCondition:
    models = qdrant().models
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))
