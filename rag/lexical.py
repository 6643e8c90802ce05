"""BM25 over jieba tokens: term counts kept sparse, weights derived from them (``rag.store.lexical`` keys the
rows by chunk id and saves them)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property

import jieba
import numpy as np
from scipy import sparse

jieba.setLogLevel(60)

STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 等 也 都 就 而 并 或 之 其 这 那 有 为 对 从 到 把 被 将 于 以 中 上 下 个 年 月 日 "
    "多少 什么 哪些 哪个 哪里 怎么 怎样 如何 为什么 几 吗 呢 啊 谁 何时 是否 "
    "a an the of to in on for and or is are was were be been by with at from as what which who whom how "
    "when where why did does do many much".split()
)
TOKEN = re.compile(r"[\w\u3400-\u9fff]+")


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens, lower-cased, without punctuation or stopwords."""
    return [
        token
        for token in (t.strip() for t in jieba.cut_for_search(text.lower()))
        if token and TOKEN.fullmatch(token) and token not in STOPWORDS
    ]


K1 = 1.2
"""BM25's term-frequency saturation."""
B = 0.75
"""BM25's length normalisation."""


def idf(n: int, df: np.ndarray) -> np.ndarray:
    """BM25's (Lucene's) inverse document frequency of terms held by ``df`` of ``n`` chunks."""
    df = np.asarray(df, np.float32)
    return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)


def saturated(tf: np.ndarray, length: np.ndarray, average: float) -> np.ndarray:
    """The BM25 weight of a term without its idf: its count ``tf`` in a chunk of ``length`` terms, saturated, the
    chunk's length normalised by the ``average``."""
    tf = np.asarray(tf, np.float32)
    return (tf * (K1 + 1) / (tf + K1 * (1 - B + B * np.asarray(length, np.float32) / average))).astype(np.float32)


class TermWeights:
    """The idf of each term of a vocabulary, which the answer stage weighs question terms by."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray) -> None:
        self.vocab = vocab
        self.idf = idf

    def weight(self, token: str) -> float:
        """The idf of ``token``; the largest (``top``) for a term the index has never seen."""
        return float(self.idf[self.vocab[token]]) if token in self.vocab else self.top

    @cached_property
    def top(self) -> float:
        """The largest idf (1 for an empty index)."""
        return float(self.idf.max()) if len(self.idf) else 1.0

    @cached_property
    def median(self) -> float:
        """The median idf (1 for an empty index)."""
        return float(np.median(self.idf)) if len(self.idf) else 1.0


class BM25:
    """Okapi BM25; ``counts`` is a chunks × terms matrix of term frequencies."""

    def __init__(self, vocab: dict[str, int], counts: sparse.csr_matrix) -> None:
        self.vocab = vocab
        self.counts = counts
        n = counts.shape[0]
        lengths = np.asarray(counts.sum(axis=1)).ravel().astype(np.float32)
        avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        self.idf = idf(n, np.bincount(counts.indices, minlength=counts.shape[1]))
        coo = counts.tocoo()
        data = self.idf[coo.col] * saturated(coo.data, lengths[coo.row], avg)
        self.weights = sparse.csc_matrix((data.astype(np.float32), (coo.row, coo.col)), shape=counts.shape)
        self.terms = TermWeights(vocab, self.idf)

    @classmethod
    def build(cls, corpus: list[list[str]]) -> BM25:
        return cls.empty().extend(corpus)

    @classmethod
    def empty(cls) -> BM25:
        return cls({}, sparse.csr_matrix((0, 0), dtype=np.float32))

    def extend(self, corpus: list[list[str]]) -> BM25:
        """A new BM25 with rows for ``corpus`` appended."""
        vocab = dict(self.vocab)
        rows, cols, values = [], [], []
        for row, tokens in enumerate(corpus):
            counts: dict[int, int] = {}
            for token in tokens:
                term = vocab.setdefault(token, len(vocab))
                counts[term] = counts.get(term, 0) + 1
            rows.extend([row] * len(counts))
            cols.extend(counts)
            values.extend(counts.values())
        old = self.counts.copy()
        old.resize((old.shape[0], len(vocab)))
        new = sparse.csr_matrix((np.array(values, dtype=np.float32), (rows, cols)), shape=(len(corpus), len(vocab)))
        return BM25(vocab, sparse.vstack([old, new], format="csr"))

    def select(self, rows: np.ndarray) -> BM25:
        """A new BM25 keeping only the given rows (for removals)."""
        return BM25(self.vocab, self.counts[rows])

    def matches(self, query_tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding a query term (ascending) and their BM25 scores: only the query terms' postings are
        read, so the cost follows their document frequencies, not the number of chunks."""
        return _summed(self._postings(self.vocab[t] for t in dict.fromkeys(query_tokens) if t in self.vocab))

    def concept_matches(self, concepts: list[frozenset[str]]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 where each query concept is a set of alternative terms (a word's translations): a row scores the
        best of a concept's terms, summed over the concepts; rows holding none score nothing and are left out."""
        per_concept = [_best(self._postings(self.vocab[t] for t in terms if t in self.vocab)) for terms in concepts]
        return _summed(per_concept)

    def _postings(self, terms: Iterable[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(rows, weights) of each term's column."""
        w = self.weights
        return [(w.indices[w.indptr[t] : w.indptr[t + 1]], w.data[w.indptr[t] : w.indptr[t + 1]]) for t in terms]


def _joined(postings: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """All the postings lists' rows and weights in one pair of arrays (empty for none, or only empty lists)."""
    rows = np.concatenate([r for r, _ in postings] or [np.zeros(0)]).astype(np.int64)
    values = np.concatenate([v for _, v in postings] or [np.zeros(0)]).astype(np.float32)
    return rows, values


def _summed(postings: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows (ascending) and the sum of their weights over the postings lists."""
    rows, values = _joined(postings)
    unique, inverse = np.unique(rows, return_inverse=True)
    return unique, np.bincount(inverse, weights=values, minlength=len(unique)).astype(np.float32)


def _best(postings: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows (ascending) and the largest of their weights over the postings lists."""
    rows, values = _joined(postings)
    if not len(rows):  # no term, or only terms whose rows were all removed
        return rows, values
    order = np.lexsort((-values, rows))
    rows, values = rows[order], values[order]
    first = np.r_[True, rows[1:] != rows[:-1]]
    return rows[first], values[first]
