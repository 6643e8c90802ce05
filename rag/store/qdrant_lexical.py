"""The BM25 store in Qdrant: each chunk's jieba terms as a sparse vector of a Qdrant collection, so an archive's
postings live in the cluster rather than in the process.

A chunk's vector holds, for each of its terms, the term's BM25 weight without its idf (``rag.lexical.saturated``,
the chunk's length normalised by the average length of the first chunks added, kept from then on: a weight
written once is never rewritten). A query is the idf of its terms, so Qdrant's dot product is the chunk's BM25
score. The tokenisation (jieba), the vocabulary and each term's document frequency stay on our side
(``qdrant_bm25_terms.json`` beside ``qdrant_bm25.json`` in each version folder): Chinese is cut as the in-process
store cuts it, and the answer stage weighs question terms by the same idf. Points are versioned as the dense
Qdrant store's are (``rag.store.qdrant_points``); ``LexicalStore`` (``rag.store.lexical``) is the in-process twin.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.lexical import TermWeights, idf, saturated
from rag.store.lexical import LexicalQuery
from rag.store.payload import check_growing
from rag.store.qdrant_points import SHIFT, Location, QdrantPoints, match_any, qdrant
from rag.store.vectors import Scored
from rag.types import Filters, PageMeta
from rag.versions import IndexLoadError

FILE = "qdrant_bm25.json"
TERMS = "qdrant_bm25_terms.json"
VECTOR = "bm25"
"""The name of the collection's sparse vector."""


class QdrantLexicalStore(QdrantPoints):
    """BM25 by chunk id in a Qdrant collection, seen at ``version``: ``vocab`` numbers the terms (a sparse vector's
    indices), ``df`` counts the chunks holding each, ``length`` the terms of all chunks held, and ``average`` is the
    chunk length the weights are normalised by (``None`` until the first chunks are added)."""

    FILE = FILE
    PAYLOAD = ("chunk", "born", "length")

    def __init__(self, location: Location, collection: str, version: int, held: np.ndarray,
                 vocab: dict[str, int] | None = None, df: np.ndarray | None = None, length: int = 0,
                 average: float | None = None) -> None:
        super().__init__(location, collection, version, held)
        self.vocab = vocab if vocab is not None else {}
        self.df = df if df is not None else np.zeros(len(self.vocab), np.int64)
        self.length = length
        self.average = average
        self._terms: TermWeights | None = None

    @classmethod
    def create(cls, location: Location, collection: str, owner: str, shards: int | None = None,
               replicas: int | None = None) -> QdrantLexicalStore:
        """The empty first version of the index ``owner`` (its folder) in ``collection``, made if missing
        (``QdrantPoints.open_collection``); points a save of that index never published are dropped."""
        models = qdrant().models
        cls.open_collection(location, collection, owner, shards, replicas, vectors_config={},
                            sparse_vectors_config={VECTOR: models.SparseVectorParams()})
        store = cls(location, collection, 1, np.zeros(0, np.int64))
        store._check_schema()
        store._roll_back()
        return store

    @property
    def terms(self) -> TermWeights:
        """The idf of every term, over the chunks held."""
        if self._terms is None:
            self._terms = TermWeights(self.vocab, idf(len(self), self.df))
        return self._terms

    def add(self, ids: Sequence[int], tokens: Sequence[list[str]], metas: Sequence[PageMeta]) -> None:
        """Add chunks (ids larger than any held) as their token lists."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        if len(ids) != len(tokens) or len(ids) != len(metas):
            raise ValueError("one token list and one PageMeta per id")
        check_growing(self.held, ids)
        if not len(ids):
            return
        lengths = [len(t) for t in tokens]
        if self.average is None:
            self.average = max(float(np.mean(lengths)), 1.0)
        models = qdrant().models
        vectors, payloads, seen = [], [], []
        for chunk, bag, length, meta in zip(ids.tolist(), map(Counter, tokens), lengths, metas):
            terms = [self.vocab.setdefault(t, len(self.vocab)) for t in bag]
            weights = saturated(np.fromiter(bag.values(), np.float32), length, self.average)
            vectors.append({VECTOR: models.SparseVector(indices=terms, values=weights.tolist())})
            payloads.append(self._payload(chunk, meta) | {"length": length})
            seen += terms
        self._upsert(ids.tolist(), vectors, payloads)
        self.df = np.concatenate([self.df, np.zeros(len(self.vocab) - len(self.df), np.int64)])
        np.add.at(self.df, np.asarray(seen, np.int64), 1)
        self.held = np.sort(np.concatenate([self.held, ids]))
        self.length += sum(lengths)
        self._terms = None

    def delete(self, ids: Iterable[int]) -> None:
        ids = np.intersect1d(np.fromiter(ids, np.int64), self.held)
        for point in self._points(ids) if len(ids) else []:
            np.subtract.at(self.df, np.asarray(point.vector[VECTOR].indices, np.int64), 1)
            self.length -= int(point.payload["length"])
        self._terms = None
        super().delete(ids)

    def search(self, query: LexicalQuery, k: int, filters: Filters | None = None) -> Scored:
        """The ``k`` best-scoring chunks passing ``filters``, best first, ties by id; when fewer than ``k`` hold a
        query term, the first other passing chunks fill in with score 0 (as ``LexicalStore.search``). A query of
        alternatives (``concepts``) is searched summed, over twice ``k``, then scored exactly (best per concept)."""
        k = min(k, self.count(filters))
        if k <= 0:
            return []
        terms = self._terms_of(query)
        found: Scored = []
        if terms:
            weights = self.terms.idf[terms]
            points = self.client.query_points(
                self.collection, query=qdrant().models.SparseVector(indices=terms, values=weights.tolist()),
                using=VECTOR, limit=k if query.concepts is None else 2 * k, query_filter=self._filter(filters),
                with_payload=False).points
            found = [(int(p.id) >> SHIFT, float(p.score)) for p in points if p.score > 0]
            if query.concepts is not None and found:
                ids = [i for i, _ in found]
                found = list(zip(ids, self.score(query, ids).tolist()))
            found = sorted(found, key=lambda hit: (-hit[1], hit[0]))[:k]
        return found + [(i, 0.0) for i in self._others(filters, [i for i, _ in found], k - len(found))]

    def score(self, query: LexicalQuery, ids: Sequence[int]) -> np.ndarray:
        """BM25 scores of chunks ``ids`` (``KeyError`` for one not held), from their stored vectors."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        self._known(ids)
        idf_of, vocab = self.terms.idf, self.vocab
        stored = {p.payload["chunk"]: dict(zip(p.vector[VECTOR].indices, p.vector[VECTOR].values))
                  for p in self._points(ids)}
        concepts = [[vocab[t] for t in c if t in vocab] for c in query.concepts] if query.concepts is not None \
            else [[vocab[t]] for t in dict.fromkeys(query.tokens) if t in vocab]
        out = np.zeros(len(ids), np.float32)
        for n, chunk in enumerate(ids.tolist()):
            weights = stored[chunk]
            out[n] = sum(max((idf_of[t] * weights.get(t, 0.0) for t in concept), default=0.0)
                         for concept in concepts)
        return out

    def copy(self) -> QdrantLexicalStore:
        """The writer of the next version, with its own vocabulary and counts."""
        other = super().copy()
        other.vocab, other.df, other._terms = dict(self.vocab), self.df.copy(), None
        return other

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray, api_key: str | None = None) -> QdrantLexicalStore:
        """The view ``folder``'s ``qdrant_bm25.json`` records, for chunks ``ids`` (ascending)."""
        return cls.read(folder, ids, api_key)

    def _terms_of(self, query: LexicalQuery) -> list[int]:
        """The known terms of ``query`` (every alternative of its concepts), each once."""
        words = query.tokens if query.concepts is None else [t for c in query.concepts for t in sorted(c)]
        return [self.vocab[t] for t in dict.fromkeys(words) if t in self.vocab]

    def _others(self, filters: Filters | None, found: list[int], n: int) -> list[int]:
        """The first ``n`` chunks passing ``filters`` other than ``found``, by id."""
        if n <= 0:
            return []
        passing = self._filter(filters)
        if found:
            passing.must_not = [match_any("chunk", found)]
        points, _ = self.client.scroll(self.collection, passing, limit=n, with_payload=["chunk"], with_vectors=False)
        return sorted(int(p.payload["chunk"]) for p in points)

    @classmethod
    def _restore(cls, saved: dict, folder: Path, location: Location, ids: np.ndarray) -> QdrantLexicalStore:
        terms = json.loads((folder / TERMS).read_text(encoding="utf-8"))
        vocab = {t: i for i, t in enumerate(terms["terms"])}
        df = np.asarray(terms["df"], np.int64)
        if len(df) != len(vocab):
            raise ValueError(f"{len(vocab)} terms, {len(df)} document frequencies")
        average = saved["average"]
        return cls(location, str(saved["collection"]), int(saved["version"]), ids, vocab, df, int(saved["length"]),
                   None if average is None else float(average))

    def _saved(self, folder: Path) -> dict:
        terms = {"terms": list(self.vocab), "df": self.df.tolist()}
        (folder / TERMS).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        return {"length": self.length, "average": self.average}

    def _check_schema(self) -> None:
        if VECTOR not in (self.client.get_collection(self.collection).config.params.sparse_vectors or {}):
            raise IndexLoadError(f"Qdrant collection {self.collection!r} holds no {VECTOR!r} sparse vectors; "
                                 "name another collection")
