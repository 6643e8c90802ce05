"""Find the same story printed on several pages (e.g. one Xinhua report in two papers) at ingest.

Articles are compared by a sample of their character bigrams (a fixed quarter of all
bigrams, chosen by hash, so two copies sample the same ones); when the share of the
smaller sample found in the other reaches ``Config.reprint_similarity``, the two are
one reprint group. Every chunk of a grouped article gets the group's id in
``Chunk.reprint_group``.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict

from rag.articles import split_articles
from rag.types import Chunk, Document

MIN_CHARS = 80
"""Shorter articles (notices, captions) are too generic to call reprints."""
SAMPLE = 4


def sketch(text: str) -> set[str]:
    """The sampled bigrams of a text, spaces ignored."""
    text = re.sub(r"\s+", "", text)
    return {g for g in (text[i : i + 2] for i in range(len(text) - 1)) if zlib.crc32(g.encode()) % SAMPLE == 0}


def find_reprints(documents: list[Document], chunks: list[Chunk], threshold: float) -> int:
    """Set ``Chunk.reprint_group`` on articles printed on more than one page; returns the number of groups."""
    keys: list[tuple[str, int, int]] = []
    sketches: list[set[str]] = []
    for doc in documents:
        for article in split_articles(doc.doc_id, doc.text):
            grams = sketch(doc.text[article.start : article.end])
            if len(grams) * SAMPLE >= MIN_CHARS:
                keys.append((doc.doc_id, article.start, article.end))
                sketches.append(grams)
    postings: dict[str, list[int]] = defaultdict(list)
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, grams in enumerate(sketches):
        shared = Counter(j for g in grams for j in postings[g] if keys[j][0] != keys[i][0])
        for j, n in shared.items():
            if n / min(len(grams), len(sketches[j])) >= threshold:
                a, b = root(i), root(j)
                parent[max(a, b)] = min(a, b)
        for g in grams:
            postings[g].append(i)
    members = Counter(root(i) for i in range(len(keys)))
    by_doc: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        chunk.reprint_group = None
        by_doc[chunk.doc_id].append(chunk)
    for i, (doc_id, start, end) in enumerate(keys):
        first = keys[root(i)]
        if members[root(i)] > 1:
            for chunk in by_doc[doc_id]:
                if start <= chunk.start < end:
                    chunk.reprint_group = f"{first[0]}:{first[1]}"
    return sum(1 for n in members.values() if n > 1)
