"""Chinese questions reworded with CC-CEDICT synonyms: DRCD's writers copied the passage's words, users and
translators do not. ``fit_answer.py`` asks such rewordings so the answer models learn that a question can be
answered by a sentence that says the same thing in other words (建造 for 修建), and refused when it cannot."""

from __future__ import annotations

import random
import re

import jieba
import jieba.posseg

from rag.bilingual import STOP, entries

CJK_WORD = re.compile(r"[\u3400-\u9fff]{2,}")
SHARE = 0.5
"""Chance that a word with synonyms is replaced."""
COMMON = 500
"""A synonym must be at least this frequent in jieba's dictionary (no archaic or rare words: 濡毫 for 写作)."""
CONTENT = frozenset({"n", "v", "vn", "a", "ad", "an", "d", "vd"})
"""Parts of speech that are replaced: common nouns, verbs, adjectives, adverbs; never names, numbers or times."""
ASKING = re.compile(r"[哪何谁几啥]|什么|多少|怎")
"""Question words stay (多少 is not 数目)."""

Synonyms = dict[str, list[str]]


def synonym_table() -> Synonyms:
    """Common Chinese word (two or more characters, ``COMMON``) → the other common words whose one-word English
    sense is its first one-word sense (修建 "build" → 建造, 建筑, …)."""
    jieba.initialize()
    frequency = jieba.dt.FREQ
    first: dict[str, str] = {}
    by_sense: dict[str, set[str]] = {}
    for simplified, _, senses in entries():
        if not CJK_WORD.fullmatch(simplified) or frequency.get(simplified, 0) < COMMON:
            continue
        single = [s[0] for s in senses if len(s) == 1 and s[0] not in STOP]
        if single:
            first.setdefault(simplified, single[0])
            for sense in single:
                by_sense.setdefault(sense, set()).add(simplified)
    return {w: sorted(by_sense[s] - {w}) for w, s in sorted(first.items()) if len(by_sense[s]) > 1}


def paraphrase(question: str, table: Synonyms, rng: random.Random) -> str | None:
    """The question with each word that has synonyms replaced by one of them with chance ``SHARE`` (at least
    one replaced), or ``None`` when none has any."""
    tagged = list(jieba.posseg.cut(question))
    words = [t.word for t in tagged]
    replaceable = [i for i, t in enumerate(tagged) if t.word in table and t.flag in CONTENT and not ASKING.search(t.word)]
    if not replaceable:
        return None
    chosen = [i for i in replaceable if rng.random() < SHARE] or [rng.choice(replaceable)]
    for i in chosen:
        words[i] = rng.choice(table[words[i]])
    return "".join(words)
