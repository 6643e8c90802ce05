"""Small measures of text shared by the pipeline steps."""

from __future__ import annotations

import re

CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """``text`` with lone surrogates (bytes that were not UTF-8, passed on as escapes, or a broken JSON
    ``\\ud800``) replaced by U+FFFD, so that it can be encoded, tokenised and logged."""
    return LONE_SURROGATE.sub("\ufffd", text)


def cjk_share(text: str) -> float:
    """Fraction of a text's non-space characters that are Chinese."""
    chars = [c for c in text if not c.isspace()]
    return sum(bool(CJK_CHAR.match(c)) for c in chars) / len(chars) if chars else 0.0


RELATIVE_YEARS = {"前年": -2, "去年": -1, "上一年": -1, "上年": -1, "过去一年": -1, "今年": 0, "本年": 0, "明年": 1}
"""Words a news story uses for a year, by offset from the year it was printed in (not 当年, "that year", which
names whatever year the story was just speaking of)."""
RELATIVE_YEAR = re.compile("|".join(sorted(RELATIVE_YEARS, key=len, reverse=True)))


def dated(text: str, date: str | None) -> str:
    """``text`` followed by the years its relative words name, for a story printed on ``date`` (``YYYY-MM-DD``):
    ``去年…`` printed in 2026 also states 2025年. ``text`` alone when it has none or the date is unknown."""
    year = int(date[:4]) if date and date[:4].isdigit() else None
    if year is None:
        return text
    years = sorted({year + RELATIVE_YEARS[m.group()] for m in RELATIVE_YEAR.finditer(text)})
    return f"{text}（{'，'.join(f'{y}年' for y in years)}）" if years else text
