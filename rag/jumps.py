"""Link the parts of an article continued on other pages: （下转第三版） on page 1, （上接第一版） on page 3.

Both pages of a link must be of the same paper and date, with known page numbers; page
numbers may be Chinese or Arabic (（下转3版）). A part both continued and continuing
（上接第一版）…（下转第五版） chains the pages, however many. Every chunk of every part
gets the chain's ``Chunk.jump`` id (its opening part's), so retrieval can return the
whole article and cite all its pages.
"""

from __future__ import annotations

from collections import defaultdict

from rag.articles import JUMP_TO, split_articles
from rag.numbers import DIGITS, SMALL_UNITS, chinese_number
from rag.split import chunks_by_page, chunks_in
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
    """Set ``Chunk.jump`` on every part of every continued article, one id for all the pages it runs over (1 → 3
    → 5 is one chain); returns the number of links between two pages."""
    for chunk in chunks:
        chunk.jump = None
    pages = {(d.meta.paper, d.meta.date, d.meta.page): d for d in documents
             if d.meta.paper and d.meta.date and d.meta.page is not None}
    links = jump_links(pages)
    by_page = chunks_by_page(chunks)
    page_of = {d.doc_id: page for (_, _, page), d in pages.items()}
    for chain in chains(links):
        opening = min(chain, key=lambda a: (page_of[a.doc_id], a.start))
        for article in chain:
            for chunk in chunks_in(by_page, article.doc_id, article.start, article.end):
                chunk.jump = f"{opening.doc_id}:{opening.start}"
    return len(links)


def jump_links(pages: dict[tuple[str, str, int], Document]) -> list[tuple[Article, Article]]:
    """Each continued part and its continuation, on the page its jump line names of the same paper and date."""
    articles = {d.doc_id: split_articles(d.doc_id, d.text) for d in pages.values()
                if JUMP_TO.search(d.text) or "上接" in d.text}
    links: list[tuple[Article, Article]] = []
    for (paper, date, page), doc in pages.items():
        target_page: dict[int, list[Article]] = defaultdict(list)
        for article in articles.get(doc.doc_id, []):
            target = page_number(article.jump_to or "")
            if target is not None:
                target_page[target].append(article)
        for target, sources in target_page.items():
            other = pages.get((paper, date, target))
            parts = articles.get(other.doc_id, []) if other else []
            links.extend(_pair(sources, [a for a in parts if page_number(a.jump_from or "") == page]))
    return links


def chains(links: list[tuple[Article, Article]]) -> list[list[Article]]:
    """The articles joined by links, one list per chain of pages (linked directly or through other parts)."""
    chain_of: dict[tuple[str, int], list[Article]] = {}
    for first, second in links:
        a = chain_of.get((first.doc_id, first.start), [first])
        b = chain_of.get((second.doc_id, second.start), [second])
        if a is not b:
            a.extend(b)
            for article in a:
                chain_of[article.doc_id, article.start] = a
    return list({id(chain): chain for chain in chain_of.values()}.values())


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
