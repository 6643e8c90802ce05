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


def test_scores_match_reference():
    bm25 = BM25.build(CORPUS)
    for query in (["北京"], ["北京", "技术"], ["技术", "交易", "未知"]):
        assert np.allclose(bm25.scores(query), reference_bm25(CORPUS, query), atol=1e-5)


def test_unknown_terms_score_zero():
    assert not BM25.build(CORPUS).scores(["火星"]).any()


def test_extend_equals_build_and_select_drops_rows():
    grown = BM25.build(CORPUS[:2]).extend(CORPUS[2:])
    assert np.allclose(grown.scores(["北京", "技术"]), BM25.build(CORPUS).scores(["北京", "技术"]))
    kept = BM25.build(CORPUS).select(np.array([0, 2]))
    assert np.allclose(kept.scores(["北京"]), reference_bm25([CORPUS[0], CORPUS[2]], ["北京"]))


def test_tokenize_drops_question_words_and_punctuation():
    tokens = tokenize("北京技术合同成交额增长了多少？")
    assert "北京" in tokens and "成交额" in tokens
    assert "多少" not in tokens and "？" not in tokens
    assert tokenize("How many high-tech enterprises?") == ["high", "tech", "enterprises"]


def test_concept_scores_take_the_best_term_of_each_concept():
    corpus = [tokenize("北京技术合同成交额增长"), tokenize("西藏高新技术企业"), tokenize("拉萨举办运动会")]
    bm25 = BM25.build(corpus)
    concepts = [frozenset({"北京", "京剧"}), frozenset({"企业", "公司"})]
    expected = np.maximum(bm25.scores(["北京"]), bm25.scores(["京剧"])) + np.maximum(bm25.scores(["企业"]),
                                                                                   bm25.scores(["公司"]))
    assert np.allclose(bm25.concept_scores(concepts), expected)
    assert bm25.concept_scores(concepts)[2] == 0
