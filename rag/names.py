"""Names in a sentence: people, places, organisations (and other proper nouns) by jieba's part-of-speech tags.

Tagging is the slowest step of choosing an answer, so ingest tags every page sentence once and stores the names
with the page (``Document.names``); ``entities`` is the same function, used on questions and on pages ingested
before the names were stored.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jieba.posseg

Names = dict[str, frozenset[str]]
"""Names by kind: ``person``, ``place``, ``org``, ``other`` (a kind with none may be left out)."""
KINDS = ("person", "place", "org", "other")
NAME_TAGS = {"nr": "person", "nrfg": "person", "nrt": "person", "ns": "place", "nt": "org", "nz": "other"}
ORG_SUFFIX = re.compile(r"(公司|集团|大学|学院|学校|委员会|协会|银行|研究院|研究所|医院|中心|部|局|厅|署|院|党|队|社|组织|"
                        r"基金会)$")
"""Endings that make a word (a jieba token of three or more characters) an organisation's name."""


DOTS = frozenset("·•・‧")
"""The dot between the parts of a transliterated name (安德鲁·杰克逊)."""


def name_part(word: jieba.posseg.pair) -> bool:
    return word.flag in NAME_TAGS or word.word.isascii() and word.word.isalpha()


def dotted(words: list[jieba.posseg.pair]) -> set[str]:
    """Transliterated names whole, across their dots and the pieces jieba cuts them into (哈尔 福德 • 麦金德);
    one piece at least tagged as a person's name."""
    out, i = set(), 1
    while i < len(words) - 1:
        if words[i].word in DOTS and name_part(words[i - 1]) and name_part(words[i + 1]):
            start = i - 1
            while start > 0 and words[start - 1].flag in NAME_TAGS:
                start -= 1
            end = i + 1
            while end + 1 < len(words) and (words[end + 1].flag in NAME_TAGS or words[end + 1].word in DOTS
                                            and end + 2 < len(words) and name_part(words[end + 2])):
                end += 1
            if any(NAME_TAGS.get(w.flag) == "person" for w in words[start : end + 1]):  # not 中国·贵州
                out.add("".join(w.word for w in words[start : end + 1]))
            i = end + 1
        else:
            i += 1
    return out


@lru_cache(maxsize=100_000)
def entities(text: str) -> Names:
    """Names found in a text by jieba's tags (person, place, org, other), words with organisation endings, and
    transliterated names whole across their dots (people)."""
    found: dict[str, set[str]] = {k: set() for k in KINDS}
    words = list(jieba.posseg.cut(text))
    for word in words:
        kind = NAME_TAGS.get(word.flag)
        if kind and len(word.word) > 1:
            found[kind].add(word.word)
        elif len(word.word) >= 3 and ORG_SUFFIX.search(word.word):
            found["org"].add(word.word)
    found["person"] |= dotted(words)
    return {k: frozenset(v) for k, v in found.items()}


def stored(names: Names) -> dict[str, list[str]]:
    """The names as stored with a page: the kinds that have any, each sorted (JSON)."""
    return {k: sorted(v) for k, v in names.items() if v}


def restored(row: dict[str, list[str]]) -> Names:
    """Stored names back as ``entities`` gives them."""
    return {k: frozenset(row.get(k, ())) for k in KINDS}


def names_in(text: str, names: Names | None) -> Names:
    """The names stored for a sentence, or tagged now when there are none stored."""
    return entities(text) if names is None else names
