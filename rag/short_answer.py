"""The short answer inside the evidence sentence: the figure, date or name the question asks for.

Spans of the asked kind are found by pattern (numbers with their units, dates) or by name tags; the fitted
picker (``rag.answer_model``) scores each and the best is given only at or above its fitted threshold.
"""

from __future__ import annotations

import math
import re
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

import numpy as np

from rag.answer_model import is_chinese
from rag.features import KIND_RE, LATIN, Question, found
from rag.names import Names, names_in

if TYPE_CHECKING:
    from rag.answer_model import AnswerModel

NUM = r"(?:\d+(?:[.,，]\d+)*|[零〇一二两三四五六七八九十百千]+)"
UNITS = (
    "个百分点 百分点 个基点 基点 亿元 万元 美元 英镑 欧元 日元 港元 平方公里 平方千米 平方英里 平方米 平方英尺 立方米 立方英尺 "
    "公里 千米 厘米 公分 毫米 微米 纳米 英尺 英寸 英里 海里 公顷 千克 公斤 毫克 千瓦 兆瓦 毫升 小时 分钟 个月 percent "
    "瓦时 % ％ ‰ 倍 秒 天 年 周 度 码 磅 克 升 伏 瓦"
).split()
"""Units of measure after a figure, the longer first (20公分, not 20公 or 20)."""
QUANTITY_SPAN = re.compile(
    rf"(?:约|近|超过|逾|达到?|共计?|仅|多达|高达)?{NUM}\s*(?:多|余|几)?\s*(?:万亿|亿|万|千|百)?\s*(?:多|余)?\s*"
    rf"(?:{'|'.join(map(re.escape, UNITS))}|[个家项次人名位元件台种座条岁分米吨亩户辆架艘所只场届期轮批页张部本首列])?")
TIME_SPAN = re.compile(
    r"(?:公元前?)?(?:\d{1,4}|[〇零一二三四五六七八九]{2,4})\s*年(?:代)?(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?|"
    r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*月|(?:\d{1,2}|[一二三四五六七八九十]+)\s*世纪(?:\s*\d{2}\s*年代)?(?:[初中末]期?)?|"
    r"[春夏秋冬][季天]")
RANGE_LINK = re.compile(
    r"\s*(?:(?:增长|增加|提高|提升|上升|下降|减少|扩大|缩小|跃升|攀升|回落|降低)?\s*(?:到|至)|[升降增减]至|-|~|～|—|–|to)\s*",
    re.IGNORECASE)
"""What joins the two figures of a change or a range: 从7000多亿元增长至9800多亿元, 3-5年."""
CHANGE = r"(?:增长|增加|新增|净增|提高|提升|上升|上涨|攀升|跃升|下降|减少|降低|下跌|回落|扩大|缩小|多增|少增|增|减|涨|跌|降)"
ASKS_CHANGE = re.compile(rf"{CHANGE}了?(?:约|近)?(?:多少|几)(?!\s*(?:到|至))")
"""A question asking by how much a figure changed (增长了多少), not the level it reached (增长到多少)."""
STATED_CHANGE = re.compile(rf"{CHANGE}(?:了|约|近|达|超过|逾)*\s*$")
"""A figure stated as a change: what comes before it ends with a verb of change (提升了 40.8%)."""
SHORT_FEATURES = ("kind_span", "in_question", "near_terms", "position", "log_length", "crowd", "digits", "latin",
                  "reader_overlap", "lead_in", "lead_out")
CONTEXT = 6
"""Characters of the question next to what it asks (…规模增量 in 1月份社会融资规模增量是多少) and of the sentence
next to a span (…规模增量为 before 7.06万亿元) that ``lead_in`` and ``lead_out`` compare."""
LINKS = "是为有达到了约共的\\s，,：:"
LEADING_LINKS = re.compile(f"[{LINKS}]+$")
"""Linking words at the end of what comes before."""
TRAILING_LINKS = re.compile(f"^[{LINKS}]+")
ASKED_UNIT = re.compile(r"^(?:亿元|万元|万亿|[个家项次人名位元件台种座条岁倍亿万千百年天]+)")
"""The unit after 多少 in a question (多少家, 多少亿元), part of the answer's span, not of what comes after it."""


def spans(kind: str, sentence: str, names: Names | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of the phrases of ``kind`` in a sentence (``names``: the sentence's, when stored)."""
    if kind == "quantity":
        return [m.span() for m in QUANTITY_SPAN.finditer(sentence) if re.search(r"\d|[一二两三四五六七八九十百千]", m.group())]
    if kind == "time":
        return [m.span() for m in TIME_SPAN.finditer(sentence)]
    found_names = set(names_in(sentence, names)[kind])
    if kind == "person":
        found_names |= {m.group() for m in LATIN.finditer(sentence) if len(m.group()) > 1}
    out = []
    for name in sorted(found_names, key=lambda n: (-len(n), n)):
        start = sentence.find(name)
        if start >= 0 and not any(s <= start < e for s, e in out):
            out.append((start, start + len(name)))
    return sorted(out)


def term_positions(q: Question, sentence: str) -> list[int]:
    """Where the question's terms occur in the sentence (centres)."""
    out = []
    for term in q.terms:
        for form in term.forms:
            at = sentence.find(form)
            if at >= 0:
                out.append(at + len(form) // 2)
    return out


def overlap(a: tuple[int, int], b: tuple[int, int] | None) -> float:
    """Characters two spans share over the characters of either (0 when ``b`` is ``None``)."""
    if b is None:
        return 0.0
    shared = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return shared / max(max(a[1], b[1]) - min(a[0], b[0]), 1)


def asked_context(q: Question) -> tuple[str, str]:
    """The words of a Chinese question just before and just after what it asks, less linking words (是, 为, 有 …):
    ``("融资规模增量", "")`` for 1月份社会融资规模增量是多少."""
    asked = KIND_RE[q.kind].search(q.text) if q.kind and is_chinese(q.chinese) else None
    if asked is None:
        return "", ""
    after = ASKED_UNIT.sub("", re.sub(r"[？?。！!]+$", "", q.text[asked.end():]))
    return LEADING_LINKS.sub("", q.text[: asked.start()])[-CONTEXT:], TRAILING_LINKS.sub("", after)[:CONTEXT]


def shared_run(asked: str, near: str) -> float:
    """The longest run of characters the question's words and the sentence's words next to a span share, over the
    question's (0 when the question has none there)."""
    if not asked:
        return 0.0
    return SequenceMatcher(None, asked, near, autojunk=False).find_longest_match(
        0, len(asked), 0, len(near)).size / len(asked)


def span_features(q: Question, sentence: str, found_spans: list[tuple[int, int]],
                  read: tuple[int, int] | None = None) -> np.ndarray:
    """One row of ``SHORT_FEATURES`` per span (``read``: the reader's span in the sentence)."""
    positions = term_positions(q, sentence)
    before, after = asked_context(q)
    rows = []
    for start, end in found_spans:
        text = sentence[start:end]
        near = min((abs((start + end) / 2 - p) for p in positions), default=len(sentence))
        rows.append([1.0, float(text in q.text), 1.0 / (1.0 + near / 10.0), start / max(len(sentence), 1),
                     math.log1p(end - start), 1.0 / len(found_spans), float(bool(re.search(r"\d", text))),
                     float(bool(LATIN.fullmatch(text))), overlap((start, end), read),
                     shared_run(before, LEADING_LINKS.sub("", sentence[:start])[-CONTEXT:]),
                     shared_run(after, TRAILING_LINKS.sub("", sentence[end:])[:CONTEXT])])
    return np.array(rows, dtype=np.float32).reshape(-1, len(SHORT_FEATURES))


def span_candidates(q: Question, sentence: str, names: Names | None = None) -> list[tuple[int, int]]:
    """Phrases of the asked kind in the sentence, less the names the question itself gives."""
    if q.kind is None:
        return []
    return [(s, e) for s, e in spans(q.kind, sentence, names)
            if sentence[s:e].strip() and not any(found_term(t, sentence[s:e]) for t in q.names)]


def best_span(q: Question, sentence: str, model: AnswerModel, names: Names | None = None,
              read: tuple[int, int] | None = None) -> tuple[tuple[int, int], float] | None:
    """The picker's best phrase of the asked kind, ``(start, end)``, and its probability; ``None`` when there is
    none. When the question asks where a figure went from and to, the phrase holds both figures."""
    found_spans = span_candidates(q, sentence, names) if model.short is not None else []
    if not found_spans:
        return None
    # A question for how much a figure changed is asked of the figures stated as a change alone: which figure is
    # the change is grammar, which DRCD (5 change questions in 7,017) cannot teach the picker.
    changes = stated_changes(sentence, found_spans) if asks_change(q) else {}
    if changes:
        found_spans = [found_spans[k] for k in changes]
    probs = model.short.probability(span_features(q, sentence, found_spans, read))
    i = int(np.argmax(probs))
    if changes:
        return (list(changes.values())[i], found_spans[i][1]), float(probs[i])
    return (widened(sentence, found_spans, i) if asks_two(q) else found_spans[i]), float(probs[i])


def asks_change(q: Question) -> bool:
    """A Chinese question asking by how much a figure changed: 北京技术合同成交额增长了多少."""
    return q.kind == "quantity" and is_chinese(q.chinese) and bool(ASKS_CHANGE.search(q.text))


def stated_changes(sentence: str, found_spans: list[tuple[int, int]]) -> dict[int, int]:
    """The spans stated as a change (提升了40.8%, 同比增长12%), each with where its verb starts, so the short
    answer reads 提升了40.8%; a figure a change went to (增长至9800多亿元) is a level, not a change."""
    out = {}
    for i, (start, _) in enumerate(found_spans):
        verb = STATED_CHANGE.search(sentence, max(0, start - 8), start)  # the 8 characters before it, as a whole
        if verb:
            out[i] = verb.start()
    return out


def asks_two(q: Question) -> bool:
    """A question that asks for two quantities: where a figure went from and to (从多少增长到多少)."""
    return q.kind == "quantity" and len(KIND_RE["quantity"].findall(q.text)) >= 2


def widened(sentence: str, found_spans: list[tuple[int, int]], i: int) -> tuple[int, int]:
    """Span ``i`` with the figure it is linked to by 到/至/增长至/- (the whole change or range), else itself."""
    for j in (i - 1, i + 1):
        if 0 <= j < len(found_spans):
            (a, b), (c, d) = sorted([found_spans[i], found_spans[j]])
            if RANGE_LINK.fullmatch(sentence[b:c]):
                return a, d
    return found_spans[i]


def found_term(term, text: str) -> bool:
    """A question name that is the span itself (the question already names it, so it is not the answer)."""
    return found(term, text) and any(len(form) >= len(text) - 1 for form in term.forms if form in text)


def short_answer(q: Question, sentence: str, model: AnswerModel, names: Names | None = None,
                 read: tuple[int, int] | None = None) -> str | None:
    """The short answer when the picker is confident, else ``None``."""
    best = best_span(q, sentence, model, names, read)
    return sentence[best[0][0]:best[0][1]].strip() if best is not None and best[1] >= model.short_cut(q.chinese) else None
