import pytest

from rag.bilingual import content_words, translations
from rag.config import Config
from rag.features import analyse, coverage, found_all, holds, mentioned, question_kind
from rag.lexical import BM25, tokenize

MODELS = Config().models_dir


def test_question_kinds_in_both_languages():
    assert question_kind("2019年西藏高新技术企业有多少家？") == "quantity"
    assert question_kind("How many points did the Panthers surrender?") == "quantity"
    assert question_kind("中关村国际技术交易中心什么时候揭牌运营？") == "time"
    assert question_kind("In what year did the war end?") == "time"
    assert question_kind("谁认为希腊语与梵语同源？") == "person"
    assert question_kind("Where was the meeting held?") == "place"
    assert question_kind("这项研究的意义是什么？") is None


def test_english_words_map_to_chinese_through_cc_cedict():
    assert "北京" in translations("beijing", MODELS)
    assert "西藏" in translations("tibet", MODELS)
    assert "企业" in translations("enterprises", MODELS)
    assert content_words("How many high-tech enterprises?") == ["high-tech", "high", "tech", "enterprises"]
    assert "国内生产总值" in translations("gdp", MODELS) and "人民币" in translations("rmb", MODELS)  # acronyms
    assert {"1月", "1月份", "一月"} <= translations("january", MODELS) and "12月" in translations("december", MODELS)
    assert not translations("prc", MODELS) & {"国务院", "最高人民法院"}  # a note "(PRC)" names no entry


def test_an_english_month_finds_the_digits_a_page_prints():
    lexical = BM25.build([tokenize("1月份我国人民币贷款增加5.13万亿元。"), tokenize("3月份住户贷款增加4438亿元。")])
    q = analyse("How much did RMB loans increase in January?", lexical.terms, MODELS)
    assert coverage(q.terms, "1月份我国人民币贷款增加5.13万亿元。") > coverage(q.terms, "3月份住户贷款增加4438亿元。")


def test_english_question_covers_a_chinese_sentence_through_translations():
    lexical = BM25.build([tokenize("2019年，我区高新技术企业达69家。"), tokenize("拉萨市举办运动会。")])
    q = analyse("How many enterprises did Tibet have in 2019?", lexical.terms, MODELS)
    assert q.kind == "quantity" and q.numbers == ["2019"]
    assert coverage(q.terms, "2019年，西藏高新技术企业达69家。") > coverage(q.terms, "拉萨市举办运动会。")


def test_a_single_digit_counts_as_asked_only_with_its_unit():
    lexical = BM25.build([tokenize("1月份社会融资规模增量为7.06万亿元。")])
    assert analyse("2月份社会融资规模增量是多少？", lexical.terms, MODELS).numbers == ["2月"]
    assert analyse("第5届画展有8个展区吗？", lexical.terms, MODELS).numbers == ["5届"]


def test_sentences_hold_the_kind_asked_for():
    assert holds("quantity", "企业达69家。") and not holds("quantity", "企业发展很快。")
    assert holds("time", "1786年2月2日，协会成立。")
    assert holds("place", "代表团抵达北京。")


@pytest.mark.parametrize(("number", "text", "stated"), [
    ("2月", "2月份社会融资规模增量为1.2万亿元", True),
    ("2月", "12月份社会融资规模增量为1.2万亿元", False),  # not inside a longer number
    ("2月", "人民银行2月14日发布的数据显示，1月份…", False),  # the month of a day dates an event
    ("2月14日", "人民银行2 月 14 日发布的数据", True),
    ("2025", "2025年，全区生产总值", True),
    ("2025", "编号20251的项目", False),
    ("5届", "第15届画展", False),
    ("10", "增长10.5%", False),
])
def test_an_asked_number_is_stated_only_whole(number, text, stated):
    assert mentioned(number, text) is stated


def test_a_bracketed_insertion_does_not_hide_a_question_term():
    lexical = BM25.build([tokenize("1月份企(事)业单位贷款增加4.78万亿元。")])
    q = analyse("1月份企业贷款增加了多少？", lexical.terms, MODELS)
    assert all(found_all(q.terms, "1月份企(事)业单位贷款增加4.78万亿元。"))
