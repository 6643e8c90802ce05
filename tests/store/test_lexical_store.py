"""The lexical store's top-k over sparse matches against a brute-force ranking of every row."""

import numpy as np

from rag.lexical import BM25
from rag.store import LexicalQuery, LexicalStore
from rag.types import Filters, PageMeta

from tests.test_lexical import dense

VOCAB = [f"t{i}" for i in range(12)]


def corpus(n: int, seed: int = 7) -> list[list[str]]:
    """Short documents over a tiny vocabulary: many ties, some documents without any query term."""
    rng = np.random.default_rng(seed)
    return [list(rng.choice(VOCAB, size=rng.integers(0, 5))) for _ in range(n)]


def brute(store: LexicalStore, scores: np.ndarray, k: int, passing: np.ndarray) -> list[tuple[int, float]]:
    """Every passing row ranked by score, ties (zeros included) in row order."""
    rows = [r for r in np.lexsort((np.arange(len(scores)), -scores)) if passing[r]][:k]
    return [(int(store.ids()[r]), float(scores[r])) for r in rows]


def test_search_equals_ranking_every_row():
    docs = corpus(400)
    ids = list(range(10, 810, 2))
    metas = [PageMeta("甲报" if i % 3 else "乙报", f"2026-04-{1 + i % 9:02d}", 1 + i % 4) for i in range(len(docs))]
    store = LexicalStore()
    store.add(ids, docs, metas)
    bm25 = BM25.build(docs)
    everyone = np.ones(len(docs), bool)
    some = Filters(papers=("乙报",))
    passing = np.array([m.paper == "乙报" for m in metas])
    for query in (["t1"], ["t2", "t3"], ["t4", "t11", "unknown"], ["unknown"]):
        scores = dense(bm25, bm25.matches(query))
        for k in (1, 5, 50, 399, 1000):
            got = store.search(LexicalQuery(tuple(query)), k)
            assert [i for i, _ in got] == [i for i, _ in brute(store, scores, k, everyone)]
            assert np.allclose([s for _, s in got], [s for _, s in brute(store, scores, k, everyone)], atol=1e-5)
            filtered = store.search(LexicalQuery(tuple(query)), k, some)
            assert [i for i, _ in filtered] == [i for i, _ in brute(store, scores, k, passing)]
        chosen = ids[::7]
        assert np.allclose(store.score(LexicalQuery(tuple(query)), chosen), scores[::7], atol=1e-5)


def test_concept_search_equals_ranking_every_row():
    docs = corpus(200, seed=3)
    store = LexicalStore()
    store.add(list(range(200)), docs, [PageMeta(None, None, None)] * 200)
    concepts = (frozenset({"t1", "t2"}), frozenset({"t5"}))
    bm25 = BM25.build(docs)
    scores = dense(bm25, bm25.concept_matches(list(concepts)))
    got = store.search(LexicalQuery(concepts=concepts), 20)
    assert [i for i, _ in got] == [i for i, _ in brute(store, scores, 20, np.ones(200, bool))]
