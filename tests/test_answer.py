from rag.answer import QUANTITY, question_numbers, sentences, swapped_place, windows
from rag.types import Chunk, Hit, PageMeta


def hit_of(text: str, start: int = 100) -> Hit:
    chunk = Chunk(0, "d", text, start, start + len(text), "标题", "x.txt", PageMeta())
    return Hit(chunk, 1.0)


def test_sentences_carry_page_offsets():
    hit = hit_of("会泽县打造了246个车间。岗位月均工资3500元，群众满意。\n下一段落！")
    spans = sentences(hit)
    texts = [hit.chunk.text[s - 100 : e - 100] for s, e in spans]
    assert texts == ["会泽县打造了246个车间。", "岗位月均工资3500元，群众满意。", "下一段落！"]


def test_windows_pair_neighbours_within_a_paragraph_only():
    hit = hit_of("甲句子很长。乙句子很长。\n丙句子很长。")
    texts = [w[2] for w in windows(hit)]
    assert "甲句子很长。乙句子很长。" in texts
    assert not any("乙句子很长。\n丙" in t for t in texts)


def test_question_numbers_and_quantity_questions():
    assert question_numbers("2019年西藏高新技术企业有多少家？") == ["2019"]
    assert question_numbers("Who won the 2026 Beijing half marathon?") == ["2026"]
    assert QUANTITY.search("芒康县电商服务站覆盖率达到多少？")
    assert QUANTITY.search("How many high-tech enterprises did Tibet have?")
    assert not QUANTITY.search("中关村国际技术交易中心什么时候揭牌运营？")


def test_swapped_place_catches_a_different_city():
    sentence = "2021年至2025年，北京技术合同成交额从7000多亿元增长至9800多亿元。"
    assert swapped_place("上海技术合同成交额是多少？", sentence)
    assert not swapped_place("北京技术合同成交额是多少？", sentence)
    assert not swapped_place("2019年西藏高新技术企业有多少家？", "2019年，我区高新技术企业达69家。")
