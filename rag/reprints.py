"""Find the same story printed on several pages (e.g. one Xinhua report in two papers) at ingest.

Articles are compared by a sample of their character bigrams (a fixed quarter of all
bigrams, chosen by hash, so two copies sample the same ones); when the share of the
smaller sample found in the other reaches ``Config.reprint_similarity``, the two are
one reprint group. Every chunk of a grouped article gets the group's id in
``Chunk.reprint_group``: ``doc_id:start`` of its first copy in page order.

``relink_reprints`` works on the pages an ingest adds or removes, never the whole archive:
a new article is compared only with the articles holding its chunks' nearest chunks in the
dense store (a reprint's chunks are among them), and a group that lost a page is regrouped
among its remaining copies. Comparing each new article with every earlier one in page order
(``reprint_groups``) gives the same groups when the neighbours hold every copy.

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
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from typing import TYPE_CHECKING

from rag.articles import split_articles
from rag.numbers import number_spans
from rag.split import chunks_by_page, chunks_in
from rag.types import Chunk, Document

if TYPE_CHECKING:
    from rag.store.index import Index

MIN_CHARS = 80
"""Shorter articles (notices, captions) are too generic to call reprints."""
NEIGHBOURS = 16
"""Nearest chunks (dense) looked up for each chunk of a new article: the pages holding them are the only ones
whose articles it is compared with."""
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


@dataclass(eq=False)
class Copy:
    """One article long enough to compare, with its sampled bigrams and its numbers."""

    doc_id: str
    start: int
    end: int
    grams: set[str]
    figures: Figures


def label(by_page: dict[str, list[Chunk]], copies: list[Copy]) -> list[int]:
    """Give the chunks of ``copies`` (in page order) their group's id, or none when there is one copy; returns
    the ids of the chunks whose group changed."""
    group = f"{copies[0].doc_id}:{copies[0].start}" if len(copies) > 1 else None
    changed = []
    for copy in copies:
        for chunk in chunks_in(by_page, copy.doc_id, copy.start, copy.end):
            if chunk.reprint_group != group:
                chunk.reprint_group = group
                changed.append(chunk.chunk_id)
    return changed


def find_reprints(documents: list[Document], chunks: list[Chunk], threshold: float) -> int:
    """The whole archive at once, every article against every earlier one: label ``chunks`` (in place) with their
    groups; the number of groups. The reference ``relink_reprints`` is checked against (``tests/test_reprints.py``,
    ``scripts/bench_reprints.py``)."""
    copies = copies_of(documents)
    found = reprint_groups(copies, threshold)
    for chunk in chunks:
        chunk.reprint_group = None
    by_page = chunks_by_page(chunks)
    for group in found:
        label(by_page, [copies[i] for i in group])
    return len(found)


def groups_of(index: Index, doc_ids: Iterable[str]) -> set[str]:
    """The reprint groups the pages ``doc_ids`` have copies in (to regroup once they are removed)."""
    return {c.reprint_group for d in doc_ids for c in index.by_page.get(d, []) if c.reprint_group}


def relink_reprints(index: Index, threshold: float, added: Iterable[Document], regroup: Iterable[str]) -> list[int]:
    """Regroup what an ingest changed: the groups ``regroup`` (which lost pages) among their remaining copies, then
    each article of the ``added`` pages (already in ``index``, with their vectors) against the earlier copies
    holding its chunks' nearest chunks. Returns the ids of the chunks whose group changed."""
    groups = _Groups(index, threshold)
    for group in regroup:
        groups.regroup(group)
    for doc in added:
        for copy in groups.copies(doc.doc_id):
            for other in groups.candidates(copy):
                groups.join(copy, other)
    return groups.write()


def copies_of(documents: list[Document]) -> list[Copy]:
    """The articles of the pages that are long enough to call reprints, in page order."""
    return [copy for doc in documents for copy in _copies(doc)]


def _copies(doc: Document) -> list[Copy]:
    out = []
    for article in split_articles(doc.doc_id, doc.text):
        text = doc.text[article.start : article.end]
        grams = sketch(text)
        if len(grams) * SAMPLE >= MIN_CHARS:
            out.append(Copy(doc.doc_id, article.start, article.end, grams, figures(text)))
    return out


def similar(a: Copy, b: Copy, threshold: float) -> bool:
    """Whether the smaller sample of two copies is found in the other by ``threshold``."""
    return len(a.grams & b.grams) / min(len(a.grams), len(b.grams)) >= threshold


class _Groups:
    """The reprint groups of an index as an ingest changes them: copies are split from their pages once, groups
    are joined in memory (the index's ``by_reprint`` read as it was before), and ``write``, last, labels the chunks
    of the groups that changed."""

    def __init__(self, index: Index, threshold: float) -> None:
        self.index = index
        self.threshold = threshold
        self.order = {doc_id: i for i, doc_id in enumerate(index.documents)}
        self.split: dict[str, list[Copy]] = {}
        self.members: dict[str, list[Copy]] = {}
        """Each changed group's copies in page order, by a key of the group (its old id, or a copy's own)."""
        self.key: dict[tuple[str, int], str] = {}
        self.changed: set[str] = set()

    def copies(self, doc_id: str) -> list[Copy]:
        if doc_id not in self.split:
            self.split[doc_id] = _copies(self.index.documents[doc_id])
        return self.split[doc_id]

    def regroup(self, group: str) -> None:
        """Split the group ``group`` anew among the copies still holding its chunks."""
        copies = sorted({self._copy_at(c) for c in self.index.by_reprint.get(group, [])} - {None}, key=self._place)
        for copy in copies:
            self._own(copy)
        for found in reprint_groups(copies, self.threshold):
            for i in found[1:]:
                self._merge(self._key(copies[found[0]]), self._key(copies[i]))

    def candidates(self, copy: Copy) -> list[Copy]:
        """The copies earlier in page order, on other pages, holding the nearest chunks of ``copy``'s chunks."""
        index = self.index
        ids = [c.chunk_id for c in chunks_in(index.by_page, copy.doc_id, copy.start, copy.end)]
        found: set[Copy] = set()
        for vector in index.dense.vectors(ids) if ids else []:
            for chunk_id, _ in index.dense.search(vector, NEIGHBOURS):
                chunk = index.chunk(chunk_id)
                if self.order[chunk.doc_id] < self.order[copy.doc_id]:
                    found.add(self._copy_at(chunk))
        return sorted(found - {None}, key=self._place)

    def join(self, a: Copy, b: Copy) -> None:
        """One group of ``a``'s and ``b``'s when alike and no copy of one disagrees on a number with the other's."""
        ka, kb = self._key(a), self._key(b)
        if ka == kb or not similar(a, b, self.threshold):
            return
        if not any(disagree(x.figures, y.figures) for x in self._members(ka) for y in self._members(kb)):
            self._merge(ka, kb)

    def _merge(self, ka: str, kb: str) -> None:
        """The group ``kb`` joins the group ``ka``."""
        mb = self._members(kb)
        self.members[ka] = sorted(self._members(ka) + mb, key=self._place)
        for copy in mb:
            self.key[copy.doc_id, copy.start] = ka
        del self.members[kb]
        self.changed.add(ka)

    def write(self) -> list[int]:
        """Label the chunks of every changed group; the ids of those whose group changed."""
        by_page = self.index.by_page
        return [i for key in self.changed if key in self.members for i in label(by_page, self.members[key])]

    def _own(self, copy: Copy) -> None:
        """Take ``copy`` out of its group, alone in its own."""
        key = f"{copy.doc_id}:{copy.start}"
        self.key[copy.doc_id, copy.start] = key
        self.members[key] = [copy]
        self.changed.add(key)

    def _key(self, copy: Copy) -> str:
        place = copy.doc_id, copy.start
        if place not in self.key:
            chunks = chunks_in(self.index.by_page, copy.doc_id, copy.start, copy.end)
            self.key[place] = next((c.reprint_group for c in chunks if c.reprint_group), f"{place[0]}:{place[1]}")
        return self.key[place]

    def _members(self, key: str) -> list[Copy]:
        if key not in self.members:
            found = {self._copy_at(c) for c in self.index.by_reprint.get(key, [])} - {None}
            self.members[key] = sorted(found, key=self._place) or [self._copy_named(key)]
        return self.members[key]

    def _copy_named(self, key: str) -> Copy:
        doc_id, start = key.rsplit(":", 1)
        return next(c for c in self.copies(doc_id) if c.start == int(start))

    def _copy_at(self, chunk: Chunk) -> Copy | None:
        """The copy whose article holds the start of ``chunk`` (``None``: too short to compare)."""
        return next((c for c in self.copies(chunk.doc_id) if c.start <= chunk.start < c.end), None)

    def _place(self, copy: Copy) -> tuple[int, int]:
        return self.order[copy.doc_id], copy.start


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
