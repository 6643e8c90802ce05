"""Chinese questions rendered word by word into English with CC-CEDICT: the only English-like questions the
training data (DRCD, Chinese only) can give. ``fit_reader.py`` reads some of its questions in this form and
``fit_answer.py`` asks them, so both models see cross-lingual questions."""

from __future__ import annotations

import re

import jieba

from rag.bilingual import entries

QUESTION_WORDS = {"多少": "how many", "几": "how many", "谁": "who", "哪里": "where", "哪儿": "where", "何处": "where",
                  "什么时候": "when", "何时": "when", "哪一年": "what year", "哪年": "what year", "什么": "what",
                  "哪个": "which", "哪些": "which", "哪": "which", "哪一": "which", "为什么": "why", "如何": "how",
                  "怎么": "how", "怎样": "how", "是": "is", "的": "", "了": "", "吗": "", "呢": "", "在": "in"}

Tables = tuple[dict[str, str], dict[str, str]]


def english_table() -> Tables:
    """Simplified Chinese word → its first English sense, and character → its pinyin (for names)."""
    senses_of: dict[str, str] = {}
    pinyin_of: dict[str, str] = {}
    for simplified, pinyin, senses in entries():
        sense = next((w for w in senses if w and w[0] != "surname"), None)
        if sense and simplified not in senses_of:
            senses_of[simplified] = " ".join(sense)
        if len(simplified) == 1 and simplified not in pinyin_of:
            pinyin_of[simplified] = re.sub(r"[^a-z]", "", pinyin.lower())
    return senses_of, pinyin_of


def pseudo_english(question: str, tables: Tables) -> str:
    """A Chinese question rendered word by word into English: question words, first senses, and pinyin for
    words the dictionary lacks (mostly names)."""
    senses, pinyin = tables
    words = []
    for token in jieba.cut(question):
        if token in QUESTION_WORDS:
            words.append(QUESTION_WORDS[token])
        elif token.isascii():
            words.append(token.strip())
        elif token in senses:
            words.append(senses[token])
        elif re.fullmatch(r"[\u3400-\u9fff]+", token):
            words.append("".join(pinyin.get(c, "") for c in token).capitalize())
    return re.sub(r"\s+", " ", " ".join(w for w in words if w)).strip() + "?"
