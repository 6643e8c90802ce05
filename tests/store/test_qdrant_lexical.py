"""The BM25 store in Qdrant scores as the in-process BM25 (the reference) over the same chunks."""

from __future__ import annotations

import numpy as np
import pytest

from rag.lexical import tokenize
from rag.store import LexicalQuery, LexicalStore, QdrantLexicalStore
from rag.types import Filters, PageMeta

from tests.store.qdrant_local import qdrant_bm25

TEXTS = ["1月份我国人民币贷款增加5.13万亿元，同比多增2100亿元。", "3月份住户贷款增加4438亿元，企(事)业单位贷款增加3.2万亿元。",
         "拉萨市举办运动会，游客人数增加。", "北京技术合同成交额提升了40.8%。", "人民币贷款余额同比增长9.8%，贷款 贷款 贷款。",
         "今年首批春茶的收购价格为每斤一百八十元。"]
QUERIES = [LexicalQuery(tuple(tokenize("1月份人民币贷款增加了多少？"))), LexicalQuery(tuple(tokenize("春茶收购价格"))),
           LexicalQuery(concepts=(frozenset({"贷款", "借款"}), frozenset({"人民币"}), frozenset({"增加", "增长"}))),
           LexicalQuery(tuple(tokenize("火星天气")))]


@pytest.fixture
def pair() -> tuple[LexicalStore, QdrantLexicalStore]:
    ids, tokens = list(range(2, 2 + len(TEXTS))), [tokenize(t) for t in TEXTS]
    metas = [PageMeta("人民日报", f"2026-0{1 + i % 2}-01", 1 + i % 3) for i in range(len(TEXTS))]
    reference, store = LexicalStore(), qdrant_bm25()
    for s in (reference, store):
        s.add(ids, tokens, metas)
    return reference, store


@pytest.mark.parametrize("query", QUERIES)
def test_scores_and_rankings_are_the_in_process_bm25s(pair, query):
    reference, store = pair
    ids = list(reference.ids())
    assert np.allclose(store.score(query, ids), reference.score(query, ids), atol=1e-5)
    for filters in (None, Filters(page=1), Filters(date_from="2026-02-01")):
        mine, theirs = store.search(query, 3, filters), reference.search(query, 3, filters)
        assert [i for i, _ in mine] == [i for i, _ in theirs]
        assert np.allclose([s for _, s in mine], [s for _, s in theirs], atol=1e-5)


def test_the_term_weights_follow_the_chunks_held(pair):
    reference, store = pair
    assert store.terms.vocab.keys() == reference.terms.vocab.keys()
    for s in (reference, store):
        s.delete([3, 6])
    for token in ("贷款", "人民币", "春茶", "运动会"):
        assert store.terms.weight(token) == pytest.approx(reference.terms.weight(token))
    assert store.terms.weight("从未见过") == pytest.approx(store.terms.top)
    assert [i for i, _ in store.search(QUERIES[0], 2)] == [i for i, _ in reference.search(QUERIES[0], 2)]


def test_a_reloaded_store_keeps_its_vocabulary_and_counts(pair, tmp_path):
    _, store = pair
    store.commit(tmp_path)
    again = QdrantLexicalStore.load(tmp_path, store.ids())
    assert again.vocab == store.vocab and np.array_equal(again.df, store.df) and again.average == store.average
    for query in QUERIES:
        assert again.search(query, 4) == store.search(query, 4)
