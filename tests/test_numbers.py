from decimal import Decimal

import pytest

from rag.numbers import chinese_number, number_spans, numbers


@pytest.mark.parametrize("text, value", [("二千八百", 2800), ("一亿二千万", 120_000_000), ("二〇二五", 2025),
                                         ("三百零五", 305), ("十二点五", Decimal("12.5")), ("三万亿", 3 * 10**12)])
def test_chinese_numerals(text, value):
    assert chinese_number(text) == value


def test_numbers_are_normalised():
    assert Decimal(9800) in numbers("9,800") and Decimal(2800) in numbers("二千八百人")
    assert numbers("980 billion") & numbers("9800亿元")
    assert not numbers("980 million") & numbers("9800亿元")
    assert numbers("有一点，十分重要，第一") == set()


def test_number_spans_are_in_text_order_with_their_places():
    text = "二千八百人参加，增长12.5%，比去年多三百零五人"
    assert [(text[s:e], set(v)) for s, e, v in number_spans(text)] == [
        ("二千八百", {2800}), ("12.5", {Decimal("12.5")}), ("三百零五", {305})]
