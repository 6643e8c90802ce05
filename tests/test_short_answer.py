from rag.short_answer import spans


def phrases(kind: str, sentence: str) -> list[str]:
    return [sentence[s:e].strip() for s, e in spans(kind, sentence)]


def test_quantity_spans_keep_units_and_approximations():
    sentence = "2021年至2025年，北京技术合同成交额从7000多亿元增长至9800多亿元，提升了40.8%。"
    found = phrases("quantity", sentence)
    assert "9800多亿元" in found and "40.8%" in found and "7000多亿元" in found


def test_time_spans():
    assert phrases("time", "1786年2月2日，亚洲协会在加尔各答举行。")[0] == "1786年2月2日"
    assert "19世纪晚期" in "".join(phrases("time", "天城文在19世纪晚期成为标准。")) or \
        "19世纪" in phrases("time", "天城文在19世纪晚期成为标准。")
