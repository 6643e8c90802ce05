"""Reprint groups: the grouping rules on a whole set of pages (``find_reprints``, the reference: every article
against every earlier one), and the incremental relinking at ingest and removal against it."""

from dataclasses import replace

import pytest

from rag.config import Config
from rag.ingest import to_document
from rag.load import RawPage, sha256
from rag.pipeline import PaperTrail
from rag.reprints import disagree, figures, find_reprints
from rag.split import split_document
from rag.types import PageMeta

from tests.conftest import FIXTURES

WIRE = ("北京技术合同成交额五年增长四成\n\n新华社北京4月1日电（记者张泉）记者1日从北京市科委获悉，2021年至2025年，"
        "北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%。\n\n北京市科委有关负责人介绍，五年来全市累计认定"
        "高新技术企业2.8万家，技术交易服务机构达到1200余家，流向外省市的技术合同占比超过七成。\n\n下一步，北京将持续完善"
        "科技成果转化政策体系，推动更多创新成果在京落地转化。\n")
CORRECTED = WIRE.replace("9800多亿元", "9900多亿元")
OCR_COPY = WIRE.replace("，", ",").replace("40.8%", "４０.８％").replace("技术合同成交额从", "技术合同成交额 从")


def pages(*texts: str):
    """Documents and chunks of page texts, one page each."""
    docs = [to_document(RawPage(FIXTURES / f"page{i}.txt", text, PageMeta(page=i + 1), sha256(text.encode())))
            for i, text in enumerate(texts)]
    chunks = [c for d in docs for c in split_document(d, Config())]
    return docs, chunks


def groups(chunks) -> set[frozenset[str]]:
    """The pages of each reprint group."""
    found: dict[str, set[str]] = {}
    for c in chunks:
        if c.reprint_group:
            found.setdefault(c.reprint_group, set()).add(c.source)
    return {frozenset(s) for s in found.values()}


def test_a_copy_with_other_punctuation_widths_and_spaces_is_a_reprint():
    docs, chunks = pages(WIRE, OCR_COPY)
    assert find_reprints(docs, chunks, Config().reprint_similarity) == 1
    assert groups(chunks) == {frozenset({"page0.txt", "page1.txt"})}


def test_copies_that_disagree_on_a_figure_are_not_one_group():
    docs, chunks = pages(WIRE, CORRECTED)
    assert find_reprints(docs, chunks, Config().reprint_similarity) == 0
    assert all(c.reprint_group is None for c in chunks)


def test_a_short_copy_agreeing_with_both_does_not_join_the_original_and_the_correction():
    trimmed = WIRE[: WIRE.index("北京技术合同成交额从")] + WIRE[WIRE.index("北京市科委有关负责人"):]
    docs, chunks = pages(WIRE, trimmed, CORRECTED)
    find_reprints(docs, chunks, Config().reprint_similarity)
    found = groups(chunks)
    assert len(found) == 1 and not any({"page0.txt", "page2.txt"} <= g for g in found)


def test_figures_are_compared_only_where_both_copies_read_the_same_around_them():
    whole = figures(WIRE)
    assert not disagree(whole, figures(OCR_COPY))
    assert disagree(whole, figures(CORRECTED)) and disagree(figures(CORRECTED), whole)
    assert not disagree(whole, figures(WIRE[WIRE.index("北京市科委有关"):]))  # cut short: nothing to compare
    assert not disagree(whole, figures(WIRE.replace("增长至9800多亿元", "增长到近万亿元")))  # reworded, not refigured
    assert not disagree(whole, figures(WIRE[WIRE.index("00多亿元") :]))  # a chunk edge cut 9800 to 00
    assert disagree(whole, figures(WIRE.replace("1200余家", "1200万余家")))  # a unit changed


def test_the_sample_reprints_that_disagree_on_a_figure_are_kept_apart():
    sample = Config().sample_dir
    texts = [(sample / name).read_text(encoding="utf-8") for name in ("002_545d6686b7c5b8d1.txt",
                                                                     "004_3fa1046521e36f31.txt")]
    assert "报告,6场论坛" in texts[0] and "报告，60场论坛" in texts[1]
    docs, chunks = pages(*texts)
    find_reprints(docs, chunks, Config().reprint_similarity)
    grouped = {c.title for c in chunks if c.reprint_group}
    assert "科技创新实现新突破" in grouped and "向新而行 双向奔赴 聚力向远" not in grouped


TRIMMED = WIRE[: WIRE.index("北京技术合同成交额从")] + WIRE[WIRE.index("北京市科委有关负责人"):]
OTHER = ("拉萨市举办春季运动会\n\n本报讯 4月1日，拉萨市第十届春季运动会在市体育中心开幕，来自全市各区县的1800余名运动员"
         "参加田径、篮球、藏式摔跤等12个项目的比赛。\n\n据介绍，本届运动会为期五天，设置群众组和青少年组。\n")


def labelled(index) -> dict[int, str | None]:
    """Each chunk's reprint group, by chunk id."""
    return {c.chunk_id: c.reprint_group for c in index.chunks}


def reference_of(index) -> dict[int, str | None]:
    """What the reference gives over the whole index."""
    chunks = [replace(c) for c in index.chunks]
    find_reprints(list(index.documents.values()), chunks, Config().reprint_similarity)
    return {c.chunk_id: c.reprint_group for c in chunks}


@pytest.fixture
def one_by_one(tmp_path, embedder):
    """A new index and a function ingesting one page (name, text) into it at a time."""
    rag = PaperTrail.create(Config(index_dir=tmp_path / "index", show_progress=False), embedder)
    folder = tmp_path / "pages"
    folder.mkdir()

    def add(name: str, text: str) -> None:
        (folder / name).write_text(text, encoding="utf-8")
        assert rag.ingest([folder / name]).indexed == [name]

    return rag, add


def test_pages_added_one_at_a_time_are_grouped_as_the_whole_set_at_once(one_by_one):
    rag, add = one_by_one
    sample = Config().sample_dir
    pages = [("a.txt", OTHER), ("b.txt", WIRE), ("c.txt", CORRECTED), ("d.txt", TRIMMED), ("e.txt", OCR_COPY),
             ("f.txt", (sample / "002_545d6686b7c5b8d1.txt").read_text(encoding="utf-8")),
             ("g.txt", (sample / "004_3fa1046521e36f31.txt").read_text(encoding="utf-8"))]
    for name, text in pages:
        add(name, text)
        assert labelled(rag.index) == reference_of(rag.index), name
    assert {"b.txt", "e.txt"} <= next(g for g in groups(rag.index.chunks) if "b.txt" in g)
    assert not any({"b.txt", "c.txt"} <= g for g in groups(rag.index.chunks))  # the correction stays apart
    assert any({"f.txt", "g.txt"} <= g for g in groups(rag.index.chunks))


def test_removing_a_page_regroups_what_is_left_of_its_groups(one_by_one):
    rag, add = one_by_one
    for name, text in [("b.txt", WIRE), ("e.txt", OCR_COPY), ("d.txt", TRIMMED), ("a.txt", OTHER)]:
        add(name, text)
    assert {frozenset({"b.txt", "e.txt", "d.txt"})} == groups(rag.index.chunks)
    rag.remove("b.txt")  # the group's first copy: the group is named after another now
    assert labelled(rag.index) == reference_of(rag.index)
    assert groups(rag.index.chunks) == {frozenset({"e.txt", "d.txt"})}
    assert all(c.reprint_group.startswith(next(d.doc_id for d in rag.index.documents.values() if d.source == "e.txt"))
               for c in rag.index.chunks if c.reprint_group)
    rag.remove("e.txt")
    assert not any(c.reprint_group for c in rag.index.chunks) and labelled(rag.index) == reference_of(rag.index)
