"""Chinese questions rendered into English with CC-CEDICT: the only English-like questions the training data
(DRCD, Chinese only) can give. ``fit_reader.py`` reads some of its questions in this form and ``fit_answer.py``
asks them, so both models see cross-lingual questions.

The rendering is word by word, but reads as English where a table can make it: grammatical words are rendered
as English grammar renders them (被 → by, 和 → and, 的 → nothing), each word takes its most used reading's first
sense, a word the dictionary lacks is split into words it has (营造业 → 营造 + 业), only names are written in
pinyin, and the question phrase opens the question (孙中山的故乡在哪里？ → where dr sun yat-sen home in?)."""

from __future__ import annotations

import re

import jieba
import jieba.posseg

from rag.bilingual import entries

QUESTION_WORDS = {
    "多少": "how many", "几": "how many", "多久": "how long", "多长": "how long", "多大": "how big", "多高": "how high",
    "多远": "how far", "多重": "how heavy", "谁": "who", "哪里": "where", "哪儿": "where", "何处": "where",
    "哪边": "where", "什么时候": "when", "什么时间": "when", "哪一天": "what day", "哪天": "what day", "何时": "when", "哪一年": "what year", "哪年": "what year", "什么": "what",
    "何": "what", "哪个": "which", "哪些": "which", "哪": "which", "哪一": "which", "哪一个": "which", "哪种": "which kind of",
    "哪一种": "which kind of", "为什么": "why", "为何": "why", "如何": "how", "怎么": "how", "怎样": "how"}
"""Question phrases; the first one in a question is moved to its start, as English asks."""
ASKING = re.compile("|".join(sorted(QUESTION_WORDS, key=len, reverse=True)))
GRAMMAR = {
    "的": "", "了": "", "着": "", "过": "", "吗": "", "呢": "", "吧": "", "地": "", "得": "", "所": "", "把": "", "将": "",
    "个": "", "是": "is", "有": "have", "在": "in", "于": "in", "中": "in", "里": "in", "内": "in", "上": "on",
    "下": "under", "和": "and", "与": "and", "及": "and", "以及": "and", "跟": "with", "同": "with", "被": "by", "由": "by",
    "对": "to", "对于": "for", "向": "to", "给": "to", "从": "from", "到": "to", "以": "with", "为": "as", "作为": "as",
    "后": "after", "之后": "after", "以后": "after", "前": "before", "之前": "before", "以前": "before", "时": "when",
    "之": "of", "其": "its", "该": "the", "这": "this", "那": "that", "这个": "this", "那个": "that", "一个": "a",
    "一种": "a kind of", "也": "also", "都": "all", "又": "again", "曾": "once", "会": "will", "能": "can", "可以": "can",
    "要": "want", "让": "let", "使": "make", "并": "and", "而": "and", "或": "or", "或者": "or", "等": "etc", "因为": "because",
    "最": "most", "更": "more", "很": "very", "不": "not", "没有": "not have", "年": "year", "月": "month", "日": "day"}
"""Grammatical words, rendered as English grammar renders them (the dictionary's first senses are 被 "quilt",
以 "old", 后 "empress")."""
NAME_TAGS = ("nr", "nrt", "nrfg")
"""jieba's part-of-speech tags of person names: written in pinyin."""
LONGEST = 4
"""Longest dictionary word tried when splitting a word the dictionary lacks."""

Tables = tuple[dict[str, str], dict[str, str]]


def usable(sense: list[str]) -> bool:
    return bool(sense) and sense[0] not in ("surname", "old", "used", "variant", "classifier")


def english_table() -> Tables:
    """Simplified Chinese word → the first sense of its most used reading (the entry with the most senses, proper
    nouns after common words), and character → its pinyin (for names)."""
    best: dict[str, tuple[tuple[int, int], str]] = {}
    pinyin_of: dict[str, str] = {}
    for simplified, pinyin, senses in entries():
        kept = [s for s in senses if usable(s)]
        if kept:
            rank = (pinyin[:1].islower(), len(kept))
            if simplified not in best or rank > best[simplified][0]:
                best[simplified] = (rank, " ".join(kept[0]))
        if len(simplified) == 1 and simplified not in pinyin_of and pinyin[:1].islower():
            pinyin_of[simplified] = re.sub(r"[^a-z]", "", pinyin.lower())
    return {word: sense for word, (_, sense) in best.items()}, pinyin_of


def split_known(word: str, senses: dict[str, str]) -> list[str] | None:
    """``word`` as the longest dictionary words from its left, or ``None`` where a character has no sense."""
    pieces, i = [], 0
    while i < len(word):
        for n in range(min(LONGEST, len(word) - i), 0, -1):
            if word[i : i + n] in senses or word[i : i + n] in GRAMMAR:
                pieces.append(word[i : i + n])
                i += n
                break
        else:
            return None
    return pieces


def render(word: str, tag: str, tables: Tables) -> str:
    senses, pinyin = tables
    if word in GRAMMAR:
        return GRAMMAR[word]
    if word.isascii():
        return "percent" if word == "%" else word.strip() if re.search(r"\w", word) else ""
    if not re.fullmatch(r"[\u3400-\u9fff]+", word):
        return ""
    if word in senses:
        return senses[word]
    if tag.startswith(NAME_TAGS) or (len(word) > 1 and tag in ("ns", "nt", "nz")):
        return "".join(pinyin.get(c, "") for c in word).capitalize()
    pieces = split_known(word, senses)
    if pieces is None:
        return "".join(pinyin.get(c, "") for c in word).capitalize()
    return " ".join(GRAMMAR.get(p, senses.get(p, "")) for p in pieces)


def pseudo_english(question: str, tables: Tables) -> str:
    """A Chinese question rendered into English: its (first) question phrase first, then its words in order."""
    found = ASKING.search(question)
    asked = QUESTION_WORDS[found.group()] if found else ""
    rest = question[: found.start()] + " " + question[found.end() :] if found else question
    words = [QUESTION_WORDS.get(p.word) or render(p.word, p.flag, tables) for p in jieba.posseg.cut(rest)]
    return re.sub(r"\s+", " ", " ".join(w for w in [asked, *words] if w)).strip() + "?"
