import math

import numpy as np

from rag.lexical import BM25, tokenize

CORPUS = [["北京", "技术", "合同", "成交额", "增长"], ["上海", "技术", "交易"], ["北京", "北京", "天气"], []]


def reference_bm25(corpus, query, k1=1.2, b=0.75):
    """Textbook Okapi BM25 with the Lucene idf, term by term."""
    n, avg = len(corpus), sum(map(len, corpus)) / len(corpus)
    scores = []
    for doc in corpus:
        s = 0.0
        for term in set(query):
            df = sum(term in d for d in corpus)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = doc.count(term)
            s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avg))
        scores.append(s)
    return np.array(scores)


def dense(bm25, found):
    """The sparse matches spread over every row (0 where no term is held)."""
    rows, scores = found
    assert np.all(np.diff(rows) > 0) and np.all(scores > 0)
    out = np.zeros(bm25.counts.shape[0])
    out[rows] = scores
    return out


def test_matches_equal_the_reference_and_leave_out_rows_without_a_term():
    bm25 = BM25.build(CORPUS)
    for query in (["北京"], ["北京", "技术"], ["技术", "交易", "未知"]):
        assert np.allclose(dense(bm25, bm25.matches(query)), reference_bm25(CORPUS, query), atol=1e-5)
    assert list(bm25.matches(["北京"])[0]) == [0, 2]


def test_unknown_terms_match_nothing():
    assert len(BM25.build(CORPUS).matches(["火星"])[0]) == 0


def test_extend_equals_build_and_select_drops_rows():
    grown = BM25.build(CORPUS[:2]).extend(CORPUS[2:])
    full = BM25.build(CORPUS)
    assert np.allclose(dense(grown, grown.matches(["北京", "技术"])), dense(full, full.matches(["北京", "技术"])))
    kept = full.select(np.array([0, 2]))
    assert np.allclose(dense(kept, kept.matches(["北京"])), reference_bm25([CORPUS[0], CORPUS[2]], ["北京"]))


def test_tokenize_drops_question_words_and_punctuation():
    tokens = tokenize("北京技术合同成交额增长了多少？")
    assert "北京" in tokens and "成交额" in tokens
    assert "多少" not in tokens and "？" not in tokens
    assert tokenize("How many high-tech enterprises?") == ["high", "tech", "enterprises"]


def test_concept_matches_take_the_best_term_of_each_concept():
    corpus = [tokenize("北京技术合同成交额增长"), tokenize("西藏高新技术企业"), tokenize("拉萨举办运动会")]
    bm25 = BM25.build(corpus)
    concepts = [frozenset({"北京", "京剧"}), frozenset({"企业", "公司"})]
    one = {t: reference_bm25(corpus, [t]) for t in ("北京", "京剧", "企业", "公司")}
    expected = np.maximum(one["北京"], one["京剧"]) + np.maximum(one["企业"], one["公司"])
    assert np.allclose(dense(bm25, bm25.concept_matches(concepts)), expected, atol=1e-5)
    assert 2 not in bm25.concept_matches(concepts)[0]


def test_terms_whose_rows_were_all_removed_match_nothing():
    kept = BM25.build(CORPUS).select(np.array([1, 3]))  # "北京" stays in the vocabulary with no rows
    assert len(kept.matches(["北京"])[0]) == 0
    assert len(kept.concept_matches([frozenset({"北京"}), frozenset({"天气", "北京"})])[0]) == 0
    rows, _ = kept.concept_matches([frozenset({"北京", "技术"})])
    assert list(rows) == [0]
