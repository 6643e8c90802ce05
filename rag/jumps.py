"""Link the halves of an article continued on another page: （下转第三版） on page 1, （上接第一版） on page 3.

Both pages must be of the same paper and date, with known page numbers. Every chunk
of both halves gets the same ``Chunk.jump`` id, so retrieval can return the whole
article and cite both pages.
"""

from __future__ import annotations

from collections import defaultdict

from rag.articles import JUMP_TO, split_articles
from rag.numbers import DIGITS, SMALL_UNITS, chinese_number
from rag.types import Article, Chunk, Document

NUMERALS = set(DIGITS) | set(SMALL_UNITS)


def page_number(text: str) -> int | None:
    """``3``, ``三``, ``十二`` or ``二十`` as an int; ``None`` if it is not a page number."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in NUMERALS for c in text):
        return None
    return int(chinese_number(text))


def link_jumps(documents: list[Document], chunks: list[Chunk]) -> int:
    """Set ``Chunk.jump`` on both halves of every continued article; returns the number of links."""
    for chunk in chunks:
        chunk.jump = None
    pages = {(d.meta.paper, d.meta.date, d.meta.page): d for d in documents
             if d.meta.paper and d.meta.date and d.meta.page is not None}
    articles = {d.doc_id: split_articles(d.doc_id, d.text) for d in pages.values()
                if JUMP_TO.search(d.text) or "上接" in d.text}
    by_doc: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        by_doc[chunk.doc_id].append(chunk)
    links = 0
    for (paper, date, page), doc in pages.items():
        target_page: dict[int, list[Article]] = defaultdict(list)
        for article in articles.get(doc.doc_id, []):
            target = page_number(article.jump_to or "")
            if target is not None:
                target_page[target].append(article)
        for target, sources in target_page.items():
            other = pages.get((paper, date, target))
            halves = [a for a in articles.get(other.doc_id, []) if page_number(a.jump_from or "") == page] if other else []
            for first, second in _pair(sources, halves):
                link = f"{first.doc_id}:{first.start}"
                for article in (first, second):
                    for chunk in by_doc[article.doc_id]:
                        if article.start <= chunk.start < article.end:
                            chunk.jump = link
                links += 1
    return links


def _pair(sources: list[Article], halves: list[Article]) -> list[tuple[Article, Article]]:
    """Match each continued article to its continuation: same headline first, else in page order."""
    free = list(halves)
    pairs = []
    for source in sources:
        match = next((h for h in free if h.title and h.title == source.title), free[0] if free else None)
        if match is not None:
            free.remove(match)
            pairs.append((source, match))
    return pairs
