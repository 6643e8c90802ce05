"""Find the same story printed on several pages (e.g. one Xinhua report in two papers) at ingest.

Articles are compared by a sample of their character bigrams (a fixed quarter of all
bigrams, chosen by hash, so two copies sample the same ones); when the share of the
smaller sample found in the other reaches ``Config.reprint_similarity``, the two are
one reprint group. Every chunk of a grouped article gets the group's id in
``Chunk.reprint_group``.

Copies that disagree on a number are never one group, however alike: a corrected
figure is news, and folding it into the other copy would hide one of the two figures.
Two copies disagree where they read the same for ``CONTEXT`` characters on both sides
of a number (增长至 … 多亿元) and the numbers differ; a copy cut short, or one whose
article runs on into another story, is compared only where the two align.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from rag.articles import split_articles
from rag.numbers import number_spans
from rag.split import chunks_by_page, chunks_in
from rag.types import Chunk, Document

MIN_CHARS = 80
"""Shorter articles (notices, captions) are too generic to call reprints."""
SAMPLE = 4
CONTEXT = 4
"""Characters on each side of a number that must read the same in two copies for its values to be compared."""

Figures = dict[tuple[str, str], frozenset[frozenset[Decimal]]]
"""A text's numbers by place: the values of the numbers between each pair of contexts (before, after)."""


def sketch(text: str) -> set[str]:
    """The sampled bigrams of a text, spaces ignored."""
    text = re.sub(r"\s+", "", text)
    return {g for g in (text[i : i + 2] for i in range(len(text) - 1)) if zlib.crc32(g.encode()) % SAMPLE == 0}


def figures(text: str) -> Figures:
    """The numbers of a text by the ``CONTEXT`` characters before and after each (widths, spaces and punctuation
    forms folded); a number without a full context on both sides is left out, as a chunk edge may cut it."""
    flat = unicodedata.normalize("NFKC", re.sub(r"\s+", "", text))
    places: dict[tuple[str, str], set[frozenset[Decimal]]] = defaultdict(set)
    for start, end, values in number_spans(flat):
        if start >= CONTEXT and end + CONTEXT <= len(flat):
            places[flat[start - CONTEXT : start], flat[end : end + CONTEXT]].add(values)
    return {place: frozenset(values) for place, values in places.items()}


def disagree(a: Figures, b: Figures) -> bool:
    """Whether two texts give different numbers in one place (neither's numbers there include the other's)."""
    return any(not (a[p] <= b[p] or b[p] <= a[p]) for p in a.keys() & b.keys())


@dataclass
class Copy:
    """One article long enough to compare, with its sampled bigrams and its numbers."""

    doc_id: str
    start: int
    end: int
    grams: set[str]
    figures: Figures


def find_reprints(documents: list[Document], chunks: list[Chunk], threshold: float) -> int:
    """Set ``Chunk.reprint_group`` on articles printed on more than one page; returns the number of groups."""
    copies = copies_of(documents)
    groups = reprint_groups(copies, threshold)
    for chunk in chunks:
        chunk.reprint_group = None
    by_page = chunks_by_page(chunks)
    for group in groups:
        first = copies[group[0]]
        for copy in (copies[i] for i in group):
            for chunk in chunks_in(by_page, copy.doc_id, copy.start, copy.end):
                chunk.reprint_group = f"{first.doc_id}:{first.start}"
    return len(groups)


def copies_of(documents: list[Document]) -> list[Copy]:
    """The articles of the pages that are long enough to call reprints, in page order."""
    out = []
    for doc in documents:
        for article in split_articles(doc.doc_id, doc.text):
            text = doc.text[article.start : article.end]
            grams = sketch(text)
            if len(grams) * SAMPLE >= MIN_CHARS:
                out.append(Copy(doc.doc_id, article.start, article.end, grams, figures(text)))
    return out


def reprint_groups(copies: list[Copy], threshold: float) -> list[list[int]]:
    """Groups (of two or more, indices in order) of copies on different pages whose sampled bigrams match by
    ``threshold``; two groups are joined only if no copy of one disagrees on a number with a copy of the other."""
    postings: dict[str, list[int]] = defaultdict(list)
    members = {i: [i] for i in range(len(copies))}
    group = list(range(len(copies)))
    for i, copy in enumerate(copies):
        shared = Counter(j for g in copy.grams for j in postings[g] if copies[j].doc_id != copy.doc_id)
        for j, n in shared.items():
            a, b = sorted((group[i], group[j]))
            if a != b and n / min(len(copy.grams), len(copies[j].grams)) >= threshold and not any(
                    disagree(copies[x].figures, copies[y].figures) for x in members[a] for y in members[b]):
                members[a] += members.pop(b)
                for k in members[a]:
                    group[k] = a
        for g in copy.grams:
            postings[g].append(i)
    return [sorted(m) for m in members.values() if len(m) > 1]
