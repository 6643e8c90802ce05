import pytest

from rag.answer import Evidence
from rag.config import Config
from rag.types import Chunk, Hit, PageMeta
from rag.verify import Verifier, sentences

XINGHE = "星河市2025年新能源汽车产量达到12.5万辆，同比增长31%。该市已建成充电桩8600个，覆盖全部乡镇。"
TEA = "4月1日，月湖县首届茶文化节开幕，吸引游客2.3万人次，茶叶销售额达860万元。"
GDP = "全市地区生产总值达到9800亿元，比上年增长5.2%。"


def hit(n: int, text: str, title: str) -> Hit:
    meta = PageMeta(paper="星河日报", date="2026-04-02", page=n)
    return Hit(Chunk(n, f"doc{n}", text, 0, len(text), title, f"page{n}.txt", meta), score=0.9)


@pytest.fixture(scope="module")
def hits() -> list[Hit]:
    return [hit(1, XINGHE, "星河市新能源产业加速发展"), hit(2, TEA, "月湖县举办首届茶文化节"), hit(3, GDP, "星河市经济运行")]


@pytest.fixture()
def verifier(hits, embedder) -> Verifier:
    evidence = [Evidence(hits[0], "该市已建成充电桩8600个，覆盖全部乡镇。", 24, 43, 0.9)]
    return Verifier(hits, evidence, embedder, Config())


def test_sentences_carry_their_markers():
    split = sentences("产量12.5万辆[1]。增长31%。【2】 It grew [1, 3]. Done")
    assert split == [("产量12.5万辆。", [1]), ("增长31%。", [2]), ("It grew.", [1, 3]), ("Done", [])]


def test_markers_are_renumbered_by_first_use(verifier, hits):
    checked = verifier.check("游客2.3万人次[2]。产量12.5万辆[1]。游客多[2]。")
    assert checked.text == "游客2.3万人次。[1]产量12.5万辆。[2]游客多。[1]"
    assert [(c.n, c.title) for c in checked.citations] == [(1, hits[1].chunk.title), (2, hits[0].chunk.title)]
    assert checked.unsupported == []


def test_marker_naming_no_source_is_removed(verifier):
    checked = verifier.check("星河市2025年新能源汽车产量达到12.5万辆[7]。")
    assert "[7]" not in checked.text and checked.text.endswith("[1]")
    assert checked.citations[0].title == "星河市新能源产业加速发展"


def test_invented_number_is_replaced_by_evidence(verifier):
    checked = verifier.check("星河市新能源汽车产量达到99万辆[1]。游客2.3万人次[2]。")
    assert checked.unsupported == ["星河市新能源汽车产量达到99万辆。"]
    assert "99万" not in checked.text and "充电桩8600个" in checked.text and "2.3万人次" in checked.text


def test_number_must_be_in_a_cited_source(verifier):
    checked = verifier.check("游客有8600人次[2]。")
    assert checked.unsupported == ["游客有8600人次。"]


def test_units_and_separators_match(verifier):
    checked = verifier.check("GDP reached 980 billion yuan (9,800亿元), up 5.2% [3].")
    assert checked.unsupported == [] and checked.citations[0].title == "星河市经济运行"


def test_unmarked_sentence_is_cited_by_similarity(verifier):
    checked = verifier.check("月湖县首届茶文化节吸引游客2.3万人次。")
    assert [c.title for c in checked.citations] == ["月湖县举办首届茶文化节"] and checked.text.endswith("[1]")


def test_unmarked_unrelated_sentence_is_flagged(verifier):
    checked = verifier.check("巴黎今天天气晴朗，气温宜人。")
    assert checked.unsupported == ["巴黎今天天气晴朗，气温宜人。"]
    assert "巴黎" not in checked.text
