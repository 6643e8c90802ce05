import pytest

from rag.config import Config
from rag.ingest import to_document
from rag.jumps import link_jumps, page_number
from rag.load import RawPage, sha256
from rag.split import split_document
from rag.types import PageMeta

from tests.conftest import FIXTURES

HEAD = "梵净山茶园喜迎春茶开采\n\n"
OPENING = HEAD + "本报讯 近日，梵净山脚下的万亩生态茶园迎来春茶开采，今年首批春茶的收购价格为每斤一百八十元。（下转{}）\n"
MIDDLE = HEAD + "（上接{}）合作社还引进了两条全自动绿茶生产线，每天可加工鲜叶二十吨，产品远销上海、广州等地。（下转{}）\n"
END = HEAD + "（上接{}）合作社负责人表示，明年将在梵净山东麓再建一座有机茶加工厂，总投资六千万元。\n"
OTHER = "长江大桥正式通车\n\n本报讯 长江大桥今天上午正式通车，大桥全长二千四百米，总投资三十五亿元。\n"


def pages(texts: dict[int, str], paper: str = "铜仁日报"):
    """Documents and chunks of one issue's pages, ``{page number: text}``."""
    docs = [to_document(RawPage(FIXTURES / f"p{n}.txt", text, PageMeta(paper, "2026-04-02", n), sha256(text.encode())))
            for n, text in texts.items()]
    return docs, [c for d in docs for c in split_document(d, Config())]


def chains(chunks) -> dict[str, set[int]]:
    """The pages of each jump chain."""
    found: dict[str, set[int]] = {}
    for c in chunks:
        if c.jump:
            found.setdefault(c.jump, set()).add(c.meta.page)
    return found


@pytest.mark.parametrize("text, number", [("3", 3), ("三", 3), ("十", 10), ("十二", 12), ("二十", 20),
                                          ("二十四", 24), ("３", 3), ("", None), ("A3", None), ("第三", None)])
def test_page_numbers_in_chinese_or_arabic_numerals(text, number):
    assert page_number(text) == number


def test_two_halves_are_linked():
    docs, chunks = pages({1: OPENING.format("第三版"), 3: END.format("1版"), 2: OTHER})
    assert link_jumps(docs, chunks) == 1
    assert list(chains(chunks).values()) == [{1, 3}]


@pytest.mark.parametrize("marks", [("第三版", "第一版", "第五版", "第三版"), ("3版", "1版", "5版", "3版")])
def test_an_article_continued_over_three_pages_is_one_chain(marks):
    to_middle, from_first, to_last, from_middle = marks
    docs, chunks = pages({5: END.format(from_middle), 1: OPENING.format(to_middle), 2: OTHER,
                          3: MIDDLE.format(from_first, to_last)})
    assert link_jumps(docs, chunks) == 2
    assert list(chains(chunks).values()) == [{1, 3, 5}]


def test_a_chain_of_four_pages_with_page_numbers_past_ten():
    docs, chunks = pages({2: OPENING.format("第十二版"), 12: MIDDLE.format("第二版", "第二十版"),
                          20: MIDDLE.format("第十二版", "第二十四版"), 24: END.format("第二十版")})
    assert link_jumps(docs, chunks) == 3
    assert list(chains(chunks).values()) == [{2, 12, 20, 24}]


def test_pages_of_another_paper_are_not_chained():
    first, first_chunks = pages({1: OPENING.format("第三版"), 3: MIDDLE.format("第一版", "第五版")})
    other, other_chunks = pages({5: END.format("第三版")}, paper="遵义日报")
    assert link_jumps(first + other, first_chunks + other_chunks) == 1
    assert list(chains(first_chunks + other_chunks).values()) == [{1, 3}]
