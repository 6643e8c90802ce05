"""The lexical store: BM25 rows keyed by chunk id, searched with filters as data (a mask over the rows).

It answers like a ``VectorStore`` (``rag.store.vectors``), with a ``LexicalQuery`` for the query vector; the
tokenisation (jieba) stays on our side, so a backend holding sparse vectors scores Chinese the same way.
On disk (no pickle): ``lexical_vocab.json`` (the terms) and ``lexical.npz`` (the CSR term counts, and the chunk
id of each row; an index saved before ids were stable has none, its rows being the chunks in order).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from rag.lexical import BM25, TermWeights
from rag.store.payload import Payload
from rag.store.vectors import Scored
from rag.types import Filters, PageMeta
from rag.versions import IndexLoadError

FILES = ("lexical.npz", "lexical_vocab.json")


@dataclass(frozen=True)
class LexicalQuery:
    """A BM25 query: ``tokens`` scored summed (``BM25.matches``), or, when ``concepts`` is given, each concept a set
    of alternative terms (an English word's translations) of which a chunk scores the best (``BM25.concept_matches``)."""

    tokens: tuple[str, ...] = ()
    concepts: tuple[frozenset[str], ...] | None = None


class LexicalStore:
    """BM25 counts by chunk id with their payload; ``bm25`` holds the term statistics (idf, vocabulary)."""

    def __init__(self, bm25: BM25 | None = None, payload: Payload | None = None) -> None:
        self.bm25 = bm25 or BM25.empty()
        self.payload = payload or Payload()
        if self.bm25.counts.shape[0] != len(self.payload):
            raise ValueError("one payload row per BM25 row")
        self._last: tuple[LexicalQuery, tuple[np.ndarray, np.ndarray]] | None = None

    def __len__(self) -> int:
        return len(self.payload)

    @property
    def terms(self) -> TermWeights:
        """The idf of every term, over the chunks held."""
        return self.bm25.terms

    def ids(self) -> np.ndarray:
        return self.payload.ids

    def add(self, ids: Sequence[int], tokens: Sequence[list[str]], metas: Sequence[PageMeta]) -> None:
        """Add chunks (ids larger than any held) as their token lists."""
        if len(ids) != len(tokens):
            raise ValueError("one token list per id")
        payload = self.payload.extend(Payload.of(ids, metas))
        self.bm25, self.payload, self._last = self.bm25.extend(list(tokens)), payload, None

    def delete(self, ids: Iterable[int]) -> None:
        ids = np.fromiter(ids, np.int64)
        keep = ~np.isin(self.payload.ids, ids)
        if not keep.all():
            self.bm25, self.payload, self._last = self.bm25.select(np.flatnonzero(keep)), self.payload.without(ids), None

    def set_meta(self, ids: Iterable[int], meta: PageMeta) -> None:
        self.payload = self.payload.with_meta(ids, meta)

    def count(self, filters: Filters | None = None) -> int:
        return len(self) if filters is None or not filters.active else int(self.payload.mask(filters).sum())

    def search(self, query: LexicalQuery, k: int, filters: Filters | None = None) -> Scored:
        """The ``k`` best-scoring chunks passing ``filters``, best first, ties in row order; when fewer than ``k``
        hold a query term, the first other passing rows fill in with score 0. Only the matching rows are
        ranked (a partial sort), never every chunk."""
        rows, scores = self.matches(query)
        passing = self.payload.mask(filters) if filters is not None and filters.active else None
        if passing is not None:
            keep = passing[rows]
            rows, scores = rows[keep], scores[keep]
        k = max(min(k, len(self) if passing is None else int(passing.sum())), 0)
        if len(rows) > k > 0:
            cut = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = scores >= cut
            rows, scores = rows[keep], scores[keep]
        order = np.lexsort((rows, -scores))[:k]
        out = [(int(self.payload.ids[r]), float(scores[i])) for i, r in zip(order, rows[order])]
        if len(out) < k:
            free = np.ones(len(self), bool) if passing is None else passing.copy()
            free[rows] = False
            out += [(int(self.payload.ids[r]), 0.0) for r in np.flatnonzero(free)[: k - len(out)]]
        return out

    def score(self, query: LexicalQuery, ids: Sequence[int]) -> np.ndarray:
        rows, scores = self.matches(query)
        wanted = self.payload.rows(np.asarray(ids, np.int64))
        out = np.zeros(len(wanted), np.float32)
        if len(rows):
            at = np.searchsorted(rows, wanted).clip(max=len(rows) - 1)
            held = rows[at] == wanted
            out[held] = scores[at[held]]
        return out

    def matches(self, query: LexicalQuery) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding a query term (ascending) and their BM25 scores (the last query's kept: ``search`` and
        ``score`` of one question share it)."""
        last = self._last
        if last is not None and last[0] == query:
            return last[1]
        if query.concepts is None:
            found = self.bm25.matches(list(query.tokens))
        else:
            found = self.bm25.concept_matches(list(query.concepts))
        self._last = query, found
        return found

    def copy(self) -> LexicalStore:
        return LexicalStore(self.bm25, self.payload)

    def commit(self, folder: Path) -> None:
        (folder / FILES[1]).write_text(json.dumps(list(self.bm25.vocab), ensure_ascii=False), encoding="utf-8")
        c = self.bm25.counts
        np.savez(folder / FILES[0], data=c.data, indices=c.indices, indptr=c.indptr, shape=np.array(c.shape),
                 ids=self.payload.ids)

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray, metas: Sequence[PageMeta]) -> LexicalStore:
        """The store saved in ``folder`` for chunks ``ids`` (ascending) with payload ``metas``."""
        try:
            terms = json.loads((folder / FILES[1]).read_text(encoding="utf-8"))
            with np.load(folder / FILES[0], allow_pickle=False) as z:
                counts = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                saved = z["ids"] if "ids" in z.files else ids
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
            raise IndexLoadError(f"{folder / FILES[0]}: unreadable ({err})") from err
        if counts.shape[0] != len(ids) or not np.array_equal(saved, ids):
            raise IndexLoadError(f"{folder / FILES[0]}: {counts.shape[0]} BM25 rows do not match the {len(ids)} "
                                 "chunks; rebuild the index")
        return cls(BM25({t: i for i, t in enumerate(terms)}, counts), Payload.of(ids, metas))
