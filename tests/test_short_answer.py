from rag.config import Config
from rag.features import analyse as analyse_with
from rag.lexical import BM25, tokenize
from rag.short_answer import (
    asked_context, asks_change, asks_two, span_candidates, span_features, spans, stated_changes, widened,
)


def phrases(kind: str, sentence: str) -> list[str]:
    return [sentence[s:e].strip() for s, e in spans(kind, sentence)]


def test_quantity_spans_keep_units_and_approximations():
    sentence = "2021年至2025年，北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%。"
    found = phrases("quantity", sentence)
    assert "9800多亿元" in found and "40.8%" in found and "7000多亿元" in found


def test_quantity_spans_take_the_longest_unit():
    assert phrases("quantity", "体长可达20公分。") == ["达20公分"]
    assert phrases("quantity", "新建500千伏变电站2座") == ["500千伏", "2座"]
    assert phrases("quantity", "体长可达110厘米，共5列。") == ["达110厘米", "共5列"]
    assert phrases("quantity", "面积7,000,000平方公里（2,700,000平方英里）") == ["7,000,000平方公里", "2,700,000平方英里"]


def test_time_spans():
    assert phrases("time", "1786年2月2日，亚洲协会在加尔各答举行。")[0] == "1786年2月2日"
    assert "19世纪晚期" in "".join(phrases("time", "天城文在19世纪晚期成为标准。")) or \
        "19世纪" in phrases("time", "天城文在19世纪晚期成为标准。")


def test_a_question_for_where_a_figure_went_gets_both_figures():
    sentence = "2021年至2025年，北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%。"
    lexical = BM25.build([tokenize(sentence)]).terms

    def analyse(question: str):
        return analyse_with(question, lexical, Config().models_dir)

    found = span_candidates(analyse("北京技术合同成交额从多少增加到了多少？"), sentence)
    at = {sentence[s:e]: i for i, (s, e) in enumerate(found)}
    whole = (sentence.index("7000"), sentence.index("，提升"))
    assert widened(sentence, found, at["7000多亿元"]) == whole and widened(sentence, found, at["9800多亿元"]) == whole
    assert widened(sentence, found, at["40.8%"]) == found[at["40.8%"]]  # not linked to either
    assert asks_two(analyse("北京技术合同成交额从多少增加到了多少？"))
    assert not asks_two(analyse("北京技术合同成交额增长了多少？"))
    assert widened("营收3亿元，利润1亿元。", spans("quantity", "营收3亿元，利润1亿元。"), 0) == (2, 5)


def test_the_words_next_to_what_a_question_asks_point_at_the_figure_they_precede_or_follow():
    sentence = "1月份社会融资规模增量为7.06万亿元，同比多增5833亿元。"
    lexical = BM25.build([tokenize(sentence)]).terms
    q = analyse_with("1月份社会融资规模增量是多少？", lexical, Config().models_dir)
    assert asked_context(q) == ("融资规模增量", "")
    found = span_candidates(q, sentence)
    lead_in = dict(zip((sentence[s:e] for s, e in found), span_features(q, sentence, found)[:, -2]))
    assert lead_in["7.06万亿元"] == 1.0 and lead_in["5833亿元"] < 0.5
    after = analyse_with("西藏2019年有多少家高新技术企业？", lexical, Config().models_dir)
    assert asked_context(after) == ("藏2019年", "高新技术企业")  # the unit 家 belongs to the answer
    assert asked_context(analyse_with("How many enterprises did Tibet have?", lexical, Config().models_dir)) == ("", "")


def test_a_question_for_how_much_a_figure_changed_gets_the_change_not_the_level():
    sentence = "2021年至2025年，北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%。"
    lexical = BM25.build([tokenize(sentence)]).terms
    found = spans("quantity", sentence)
    changes = stated_changes(sentence, found)
    assert [sentence[start:found[i][1]] for i, start in changes.items()] == ["提升了40.8%"]
    financing = "1月份社会融资规模增量为7.06万亿元，同比多增5833亿元。"
    found = spans("quantity", financing)
    assert [financing[start:found[i][1]] for i, start in stated_changes(financing, found).items()] == ["多增5833亿元"]
    for question, asked in (("北京技术合同成交额增长了多少？", True), ("进出口总额同比增长多少百分比？", True),
                            ("北京技术合同成交额增长到了多少？", False), ("成交额从多少增加到多少？", False),
                            ("北京技术合同成交额是多少？", False), ("How much did it grow?", False)):
        assert asks_change(analyse_with(question, lexical, Config().models_dir)) is asked, question


def test_points_of_a_rate_are_part_of_the_figure():
    assert phrases("quantity", "利率比上年同期低约80个基点，增速提高2.5个百分点。") == ["约80个基点", "2.5个百分点"]
