import numpy as np

from rag.retrieve import bigrams, containment, fuse, group_reprints
from rag.types import Chunk, Filters, Hit, PageMeta

TECH = "2021年至2025年，北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%，技术交易更加活跃。"


def test_fuse_ignores_lexical_for_zero_weight():
    dense, lexical = np.array([0.9, 0.8]), np.array([0.0, 10.0])
    assert np.array_equal(np.argsort(-fuse(dense, lexical, 0.0)), [0, 1])
    assert np.array_equal(np.argsort(-fuse(dense, lexical, 0.6)), [1, 0])


def test_containment_of_reprint_with_ocr_differences():
    a = bigrams("2021年至2025年,北京技术合同成交额从7000多亿元增长至9800多亿元,提升了40.8%。")
    b = bigrams("2021年至2025年，北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%。")
    assert containment(a, b) > 0.8
    assert containment(a, bigrams("拉萨市工会系统重点工作推进会议召开。")) < 0.2


def hits_of(*texts: str) -> list[Hit]:
    """One hit per text, each from its own page, best first."""
    return [Hit(Chunk(i, f"doc{i}", t, 0, len(t), "标题", f"page{i}.txt", PageMeta()), 1.0 - i / 10)
            for i, t in enumerate(texts)]


def test_a_reprint_is_folded_into_the_better_hit_but_a_changed_figure_is_not():
    folded = group_reprints(hits_of(TECH, TECH.replace("，", ",")), threshold=0.6)
    assert len(folded) == 1 and [c.source for c in folded[0].reprints] == ["page1.txt"]
    kept = group_reprints(hits_of(TECH, TECH.replace("9800多亿元", "9900多亿元")), threshold=0.6)
    assert [h.chunk.source for h in kept] == ["page0.txt", "page1.txt"] and not kept[0].reprints


def test_english_question_ranks_chinese_passage(sample_rag):
    hits = sample_rag.search("How many high-tech enterprises did Tibet have in 2019?")
    assert hits[0].chunk.source == "001_e966a7bb64436bc5.txt"
    assert hits[0].lexical > 0.0  # BM25 over the CC-CEDICT translations of its words


def test_reprinted_story_is_one_hit_citing_both_pages(sample_rag):
    hits = sample_rag.search("北京技术合同成交额从多少增长到多少？")
    with_figure = [h for h in hits if "9800多亿元" in h.chunk.text]
    assert len(with_figure) == 1
    pages = {with_figure[0].chunk.source} | {c.source for c in with_figure[0].reprints}
    assert pages == {"002_545d6686b7c5b8d1.txt", "004_3fa1046521e36f31.txt"}


def test_filters_by_paper_and_date(sample_rag):
    hits = sample_rag.search("科技创新", papers=["拉萨日报"])
    assert hits and {h.chunk.meta.paper for h in hits} == {"拉萨日报"}
    assert not sample_rag.search("科技创新", date_from="2030-01-01")
    dates = Filters(date_from="2026-04-01", date_to="2026-04-02")
    assert {h.chunk.meta.date for h in sample_rag.retriever.search("科技创新", 5, dates)} == {"2026-04-02"}
    assert {h.chunk.meta.page for h in sample_rag.retriever.search("科技创新", 5, Filters(page=1))} == {1}
