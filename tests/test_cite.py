from rag.answer import Evidence
from rag.cite import abstention, cited_answer
from rag.types import Chunk, Filters, Hit, PageMeta


def hit(doc: str, text: str, page: int | None) -> Hit:
    meta = PageMeta("铜仁日报", "2026-04-02", page)
    reprint = Chunk(9, "other", text, 0, len(text), "标题", "004.txt", PageMeta())
    return Hit(Chunk(0, doc, text, 10, 10 + len(text), "标题", f"{doc}.txt", meta), 0.9, reprints=[reprint])


def test_markers_number_sources_in_order_of_use():
    a, b = hit("a", "甲句。", 3), hit("b", "乙句。", None)
    evidence = [Evidence(a, "甲句。", 10, 13, 1.0), Evidence(b, "乙句。", 10, 13, 0.9)]
    answer = cited_answer("问题？", evidence)
    assert answer.answer == "甲句。[1] 乙句。[2]"
    assert [(c.n, c.source, c.sentence) for c in answer.citations] == [(1, "a.txt", "甲句。"), (2, "b.txt", "乙句。")]
    assert answer.citations[0].label() == "铜仁日报 · 2026-04-02 · 第3版 · 标题"
    assert answer.citations[1].label() == "铜仁日报 · 2026-04-02 · 标题 · b.txt"
    assert answer.citations[0].also[0]["source"] == "004.txt"


def test_two_sentences_from_one_source_share_its_number():
    a = hit("a", "甲句。乙句。", 1)
    answer = cited_answer("问题？", [Evidence(a, "甲句。", 10, 13, 1), Evidence(a, "乙句。", 13, 16, 1)])
    assert answer.answer == "甲句。[1] 乙句。[1]" and len(answer.citations) == 1


def test_abstention_speaks_the_question_language_and_cites_nothing():
    zh, en = abstention("深圳港吞吐量？", True), abstention("Who won?", False)
    assert zh.abstained and en.abstained and not zh.citations
    assert "没有" in zh.answer and "do not contain" in en.answer


def test_short_answer_opens_the_answer_and_a_filtered_refusal_says_so():
    a = hit("a", "企业达69家。", 1)
    answer = cited_answer("多少家？", [Evidence(a, "企业达69家。", 10, 17, 1)], "69家")
    assert answer.answer == "69家 — 企业达69家。[1]" and answer.short_answer == "69家"
    refusal = abstention("Who won?", False, Filters(["拉萨日报"], "2026-04-01", None))
    assert refusal.answer.endswith("(searched only papers: 拉萨日报; dates: 2026-04-01 – …).")
