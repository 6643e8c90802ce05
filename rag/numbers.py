"""Numbers in Chinese and English text: Arabic figures with their units (9,800亿, 12.5 million) and Chinese
numerals (二千八百, 十二点五), as the values they may stand for."""

from __future__ import annotations

import re
from decimal import Decimal

ARABIC = re.compile(r"(?<![\d.])(\d{1,3}(?:[,，]\d{3})+|\d+)(\.\d+)?\s*(万亿|亿|万|千|thousand|million|billion|trillion)?",
                    re.IGNORECASE)
CHINESE = re.compile(r"[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万亿点]+")
UNITS = {"万亿": Decimal(10) ** 12, "亿": Decimal(10) ** 8, "万": Decimal(10) ** 4, "千": Decimal(1000),
         "thousand": Decimal(1000), "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9,
         "trillion": Decimal(10) ** 12}
DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_number(text: str) -> Decimal | None:
    """二千八百 → 2800, 一亿二千万 → 120000000, 二〇二五 → 2025, 十二点五 → 12.5; ``None`` if not a number."""
    whole, _, frac = text.partition("点")
    if frac and not all(c in DIGITS for c in frac):
        return None
    total, section, digit = Decimal(0), Decimal(0), 0
    for ch in whole:
        if ch in DIGITS:
            digit = digit * 10 + DIGITS[ch]
        elif ch in SMALL_UNITS:
            section += (digit or 1) * SMALL_UNITS[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * UNITS["万"]
            section, digit = Decimal(0), 0
        else:
            total = (total + section + digit) * UNITS["亿"]
            section, digit = Decimal(0), 0
    value = total + section + digit
    return value + Decimal("0." + "".join(str(DIGITS[c]) for c in frac)) if frac else value


def number_spans(text: str) -> list[tuple[int, int, frozenset[Decimal]]]:
    """``(start, end, values)`` of each number in a text, in order; ``values`` are what it may stand for:
    "9,800亿" → {9800, 980000000000}, "二千八百" → {2800}."""
    found: list[tuple[int, int, frozenset[Decimal]]] = []
    for m in ARABIC.finditer(text):
        value = Decimal(m.group(1).replace(",", "").replace("，", "") + (m.group(2) or ""))
        scaled = value * UNITS[m.group(3).lower()] if m.group(3) else value
        found.append((m.start(), m.end(), frozenset({value.normalize(), scaled.normalize()})))
    for m in CHINESE.finditer(text):
        digits = m.group().rstrip("点")
        value = chinese_number(digits) if len(digits) > 1 else None
        if value is not None:
            found.append((m.start(), m.start() + len(digits), frozenset({value.normalize()})))
    return sorted(found, key=lambda span: span[0])


def mentions(text: str) -> list[frozenset[Decimal]]:
    """Each number in a text as its possible values (see ``number_spans``)."""
    return [values for _, _, values in number_spans(text)]


def numbers(text: str) -> set[Decimal]:
    """Every value any number in the text may stand for."""
    return set().union(*mentions(text))
