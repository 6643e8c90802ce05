import json

import pytest

from rag.types import Answer

KEYS = {"question", "answer", "abstained", "citations"}
CITATION_KEYS = {"n", "paper", "date", "page", "title", "source", "text", "score"}


def test_chinese_question_answered_with_cited_sentence(sample_rag):
    answer = sample_rag.ask("青藏铁路电气化外电配套工程总投资多少亿元？")
    assert not answer.abstained
    assert "149.02" in answer.answer and "[1]" in answer.answer
    first = answer.citations[0]
    assert first.source == "000_e94829f5f5b76ea6.txt"
    assert (first.paper, first.date, first.page) == ("拉萨日报", "2026-04-03", 1)
    assert first.sentence and first.sentence in first.text
    assert "149.02" in first.sentence
    doc = sample_rag.index.documents[next(d for d, x in sample_rag.index.documents.items() if x.source == first.source)]
    assert doc.text[first.start : first.end] == first.sentence
    assert first.label().startswith("拉萨日报 · 2026-04-03 · 第1版 · ")


def test_english_question_gets_chinese_figure(sample_rag):
    answer = sample_rag.ask("How many high-tech enterprises did Tibet have in 2019?")
    assert not answer.abstained and "69" in answer.answer
    assert any(c.source == "001_e966a7bb64436bc5.txt" for c in answer.citations)


@pytest.mark.parametrize("question", ["深圳港2025年集装箱吞吐量是多少？", "Who won the 2026 Beijing half marathon for humanoid robots?"])
def test_unanswerable_questions_abstain_without_citations(sample_rag, question):
    answer = sample_rag.ask(question)
    assert answer.abstained and answer.citations == []


def test_answer_json_shape(sample_rag):
    data = json.loads(json.dumps(sample_rag.ask("芒康县电商服务站覆盖率达到多少？").to_dict(), ensure_ascii=False))
    assert KEYS <= data.keys() and data["citations"]
    assert CITATION_KEYS <= data["citations"][0].keys()
    assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    assert "41%" in data["answer"]


def test_stream_ends_with_the_answer(sample_rag):
    parts = list(sample_rag.ask_stream("达龙村骨瓷首批产品的销售收入是多少？"))
    assert isinstance(parts[-1], Answer)
    assert "".join(parts[:-1]).strip() == parts[-1].answer.strip()


def test_empty_question_is_refused(sample_rag):
    with pytest.raises(ValueError):
        sample_rag.ask("   ")


def test_pages_lists_every_page_with_a_removable_id(sample_rag):
    pages = sample_rag.pages()
    assert [p.file for p in pages] == sorted(d.source for d in sample_rag.index.documents.values())
    first = pages[0]
    assert (first.file, first.paper, first.date, first.page) == ("000_e94829f5f5b76ea6.txt", "拉萨日报", "2026-04-03", 1)
    assert first.title and first.chunks > 0 and not first.uploaded
    assert all(sample_rag.index.find(p.id) == [sample_rag.index.documents[p.id]] for p in pages)
    assert len({p.id for p in pages}) == len(pages) and all(p.id.isalnum() for p in pages)
