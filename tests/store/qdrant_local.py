"""New Qdrant stores for the tests: local mode in the running test's folder (set by ``conftest.qdrant_home``),
one collection each. Local mode locks a folder for one client; ``rag.store.qdrant_points.client`` opens each folder
once per process."""

from __future__ import annotations

import itertools
from pathlib import Path

from rag.store.qdrant_points import Location
from rag.store.qdrant_lexical import QdrantLexicalStore
from rag.store.qdrant_store import QdrantStore

HOME: dict[str, Path] = {}
"""``path``: the running test's Qdrant folder."""
COLLECTIONS = itertools.count()


def qdrant(dim: int) -> QdrantStore:
    """A new, empty Qdrant store in a collection of its own."""
    name = f"suite-{next(COLLECTIONS)}"
    return QdrantStore.create(dim, Location(path=HOME["path"]), name, owner=name)


def qdrant_bm25() -> QdrantLexicalStore:
    """A new, empty Qdrant BM25 store in a collection of its own."""
    name = f"suite-bm25-{next(COLLECTIONS)}"
    return QdrantLexicalStore.create(Location(path=HOME["path"]), name, owner=name)
