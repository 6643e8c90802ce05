import json

import pytest

from rag.store import Index
from rag.ingest import UnknownPage
from rag.metadata import file_metadata, sidecar_path, write_sidecar
from rag.pipeline import PaperTrail
from rag.types import Answer, PageMeta
from rag.versions import read_pointer
from tests.conftest import copy_of_sample

KEYS = {"question", "answer", "abstained", "citations"}
CITATION_KEYS = {"n", "paper", "date", "page", "title", "source", "text", "score"}
INVESTMENT = "青藏铁路电气化外电配套工程总投资多少亿元？"


def test_chinese_question_answered_with_cited_sentence(sample_rag):
    answer = sample_rag.ask(INVESTMENT)
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


def test_edit_sets_one_pages_metadata_for_answers_filters_and_the_saved_index(sample_rag, tmp_path):
    rag = copy_of_sample(sample_rag, tmp_path / "index")
    before = rag.snapshot()
    target = next(p for p in rag.pages() if p.file == "000_e94829f5f5b76ea6.txt")
    others = [p for p in rag.pages() if p.id != target.id]
    page = rag.edit(target.id, PageMeta(paper=" 高原日报 ", date="2026-05-06", page=4))
    assert (page.id, page.paper, page.date, page.page, page.title) == (
        target.id, "高原日报", "2026-05-06", 4, target.title)
    assert [p for p in rag.pages() if p.id != target.id] == others
    answer = rag.ask(INVESTMENT, papers=["高原日报"], date_from="2026-05-01")
    assert "149.02" in answer.answer
    assert answer.citations[0].label().startswith("高原日报 · 2026-05-06 · 第4版 · ")
    assert "149.02" in rag.ask(INVESTMENT, page=4).answer  # the edited metadata reaches the stores' filters
    refused = rag.ask(INVESTMENT, papers=["高原日报"], page=5)
    assert refused.abstained and "第5版" in refused.answer
    assert all(c.source != target.file for c in rag.ask(INVESTMENT, papers=["拉萨日报"]).citations)
    assert before.index.documents[target.id].meta.paper == "拉萨日报"  # a request in flight keeps its version
    saved = Index.load(rag.config.index_dir)
    assert saved.version == rag.index.version != before.index.version
    assert saved.documents[target.id].meta == PageMeta("高原日报", "2026-05-06", 4)
    assert {c.meta.paper for c in saved.chunks if c.doc_id == target.id} == {"高原日报"}
    assert rag.edit(target.id, PageMeta()).paper is None  # every field may be cleared


def test_edit_refuses_bad_fields_and_pages_gone_and_saves_nothing(sample_rag, tmp_path):
    rag = copy_of_sample(sample_rag, tmp_path / "index")
    folder, version = rag.config.index_dir, rag.index.version
    page = rag.pages()[1]
    for bad in (PageMeta(date="2026-02-30"), PageMeta(date="20260402"), PageMeta(page=0), PageMeta(page="3"),
                PageMeta(paper=3)):
        with pytest.raises(ValueError):
            rag.edit(page.id, bad)
    with pytest.raises(UnknownPage, match="'nope'"):
        rag.edit("nope", PageMeta(paper="某报"))
    assert read_pointer(folder) == version and rag.pages()[1] == page
    other = PaperTrail(Index.load(folder), rag.config, rag.embedder)  # another process removes the page meanwhile
    assert other.remove(page.id)
    with pytest.raises(UnknownPage, match=page.id):
        rag.edit(page.id, PageMeta(paper="某报"))
    assert page.id not in {p.id for p in rag.pages()} and len(rag.pages()) == len(other.pages())


def test_edit_of_an_uploaded_page_replaces_its_sidecar(sample_rag, tmp_path):
    rag = copy_of_sample(sample_rag, tmp_path / "index")
    uploads = rag.config.uploads_dir
    uploads.mkdir()
    stored = uploads / "page.txt"
    stored.write_text("青禾日报讯 青禾市今年共种植紫色向日葵四万三千株，创历史新高。", encoding="utf-8")
    write_sidecar(stored, PageMeta(paper="旧报"))
    rag.ingest([stored])
    page = next(p for p in rag.pages() if p.file == "page.txt")
    assert page.uploaded and page.paper == "旧报"
    rag.edit(page.id, PageMeta(paper="青禾日报", date="2026-05-01", page=2))
    assert json.loads(sidecar_path(stored).read_text(encoding="utf-8")) == {
        "paper": "青禾日报", "date": "2026-05-01", "page": 2}
    assert file_metadata(stored, rag.config)[0] == PageMeta("青禾日报", "2026-05-01", 2)
    assert sorted(p.name for p in uploads.iterdir()) == ["page.txt", "page.txt.meta.json"]  # no temporary left
