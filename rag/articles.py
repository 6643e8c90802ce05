"""Split a cleaned page into articles: headlines, bylines, datelines and jump lines."""

from __future__ import annotations

import re

from rag.clean import ends_sentence
from rag.types import Article

NUM = r"[一二三四五六七八九十百\d]+"
JUMP_TO = re.compile(rf"[（(]\s*下转第?\s*({NUM})\s*版\s*[)）]")
JUMP_FROM = re.compile(rf"^[（(]\s*上接第?\s*({NUM})\s*版\s*[)）]")
BYLINE = re.compile(r"^(?:新华社|本报|[^\s，。,]{1,8}融媒)?(?:特约)?记者[^，。,；;]{0,24}$|^新华社发")
DATELINE = re.compile(
    r"^(?:本报[^，。,\s]{0,8}[讯电]|新华社[^，。,\s]{1,12}电|[^，。,\s]{1,8}融媒讯|[^，。,\s]{2,8}日报讯)"
)
END_MARK = re.compile(r"^[（(]新华社[^，。,]{1,12}电[)）]$")
SUBTITLE = re.compile(r"^(?:——|—|##\s)")
HEADLINE_MAX = 40


def split_articles(doc_id: str, text: str) -> list[Article]:
    """Articles of a cleaned page, in reading order, with offsets into ``text``."""
    articles: list[Article] = []
    group: list[tuple[int, int, str]] = []
    current: Article | None = None
    closed = True
    for m in re.finditer(r"[^\n]+", text):
        start, end, para = m.start(), m.end(), m.group()
        if is_heading(para):
            group.append((start, end, para))
            continue
        jump_from = JUMP_FROM.match(para)
        opens = (
            current is None
            or closed
            or jump_from is not None
            or DATELINE.match(para) is not None
            or any(SUBTITLE.match(p) or BYLINE.match(p) or p.startswith("# ") for _, _, p in group)
        )
        if opens:
            current = Article(doc_id, _title(group), group[0][0] if group else start, end)
            current.byline = next((p for _, _, p in group if BYLINE.match(p)), None)
            current.jump_from = jump_from.group(1) if jump_from else None
            articles.append(current)
        current.end = end
        group = []
        jump_to = JUMP_TO.search(para)
        if jump_to:
            current.jump_to = jump_to.group(1)
        closed = bool(jump_to or END_MARK.match(para))
    if group and current is not None and not closed:
        current.end = group[-1][1]
    elif group:
        articles.append(Article(doc_id, _title(group), group[0][0], group[-1][1]))
    return articles


def is_heading(para: str) -> bool:
    """Short lines that are not sentences: headlines, subtitles, bylines."""
    if para.startswith("#") or BYLINE.match(para):
        return True
    if len(para) > HEADLINE_MAX * (1.5 if SUBTITLE.match(para) else 1):
        return False
    if END_MARK.match(para) or JUMP_FROM.match(para) or DATELINE.match(para) and len(para) > 20:
        return False
    return not ends_sentence(para) and para[-1] not in "，,：:、"


def _title(group: list[tuple[int, int, str]]) -> str | None:
    """The first real headline of a heading group (else its subtitle)."""
    heads = [p for _, _, p in group if not BYLINE.match(p) and not DATELINE.match(p)]
    main = [p for p in heads if not SUBTITLE.match(p)] or heads
    return main[0].lstrip("#").strip().lstrip("—").strip() if main else None
