"""Hybrid retrieval: dense (FAISS) and BM25 fused by query language, reprints grouped."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.bilingual import content_words, translations
from rag.config import Config
from rag.embed import Embedder
from rag.lexical import tokenize
from rag.reprints import Figures, disagree, figures
from rag.store import Index, LexicalQuery
from rag.text import cjk_share
from rag.types import Chunk, Filters, Hit


def minmax(x: np.ndarray) -> np.ndarray:
    span = float(x.max() - x.min()) if len(x) else 0.0
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def fuse(dense: np.ndarray, lexical: np.ndarray, lexical_weight: float) -> np.ndarray:
    """Convex mix of min-max normalised scores over one candidate set."""
    if lexical_weight <= 0 or not lexical.any():
        return dense.astype(np.float32)
    return ((1 - lexical_weight) * minmax(dense) + lexical_weight * minmax(lexical)).astype(np.float32)


@lru_cache(maxsize=16_384)
def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of a chunk's text, spaces dropped (remembered: the same chunks come back question after
    question)."""
    text = re.sub(r"\s+", "", text)
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller set found in the other."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


@lru_cache(maxsize=16_384)
def cached_figures(text: str) -> Figures:
    """The numbers of a chunk's text by place (``rag.reprints.figures``), remembered like its bigrams."""
    return figures(text)


def same_story(a: Chunk, b: Chunk, grams_a: frozenset[str], grams_b: frozenset[str], threshold: float) -> bool:
    """Near-equal text that agrees on every number, within one ingest-time reprint group when both chunks have
    one (``rag.reprints``).

    The group alone is not enough: chunk boundaries differ between reprints, and folding a chunk that only
    partly overlaps would hide its other sentences from the answer; folding one that gives another figure would
    hide that figure.
    """
    if a.reprint_group and b.reprint_group and a.reprint_group != b.reprint_group:
        return False
    return containment(grams_a, grams_b) >= threshold and not disagree(cached_figures(a.text), cached_figures(b.text))


def group_reprints(hits: list[Hit], threshold: float, top_k: int | None = None) -> list[Hit]:
    """Fold a hit into a better-ranked one from another page when their texts nearly match (first ``top_k`` kept)."""
    kept: list[tuple[Hit, frozenset[str]]] = []
    for hit in hits:
        grams = bigrams(hit.chunk.text)
        twin = next((k for k, g in kept if k.chunk.doc_id != hit.chunk.doc_id
                     and all(r.doc_id != hit.chunk.doc_id for r in k.reprints)
                     and same_story(hit.chunk, k.chunk, grams, g, threshold)), None)
        if twin is not None:
            twin.reprints.append(hit.chunk)
        elif top_k is None or len(kept) < top_k:
            kept.append((hit, grams))
    return [k for k, _ in kept]


class Retriever:
    """Finds the chunks that best match a question: the dense and the BM25 store each give their best (id, score)
    pairs, under the same filters; the union is scored by both and fused by the question's language."""

    def __init__(self, index: Index, embedder: Embedder, config: Config) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config

    def search(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """Top hits (reprints folded in), best first, of the chunks passing ``filters``."""
        top_k = top_k or self.config.top_k
        if not len(self.index):
            return []
        query = self.embedder.encode_query(question)
        return self.search_vector(question, query, top_k, filters)

    def lexical_query(self, question: str) -> tuple[float, LexicalQuery]:
        """The BM25 weight for this question and its BM25 query: the question's own tokens for Chinese, the
        translations of its words for other languages (``Config.translated_weight``)."""
        chinese = cjk_share(question)
        if chinese >= 0.5:
            return self.config.lexical_weight * chinese, LexicalQuery(tuple(tokenize(question)))
        weight = self.config.translated_weight * (1 - chinese)
        if weight <= 0:
            return 0.0, LexicalQuery()
        return weight, LexicalQuery(concepts=tuple(translated_concepts(question, self.config.models_dir)))

    def depth(self, filters: Filters | None) -> int:
        """Candidates each store gives: ``Config.candidates``; under filters, every chunk passing them while they
        are at most ``Config.filter_scan`` (an exact ranking within a small selection)."""
        n = self.index.dense.count(filters)
        return n if filters is not None and filters.active and n <= self.config.filter_scan \
            else min(n, self.config.candidates)

    def search_vector(self, question: str, query: np.ndarray, top_k: int, filters: Filters | None = None) -> list[Hit]:
        k = self.depth(filters)
        if k <= 0:
            return []
        weight, lexical_query = self.lexical_query(question)
        candidates = [i for i, _ in self.index.dense.search(query, k, filters)]
        if weight > 0:
            candidates = list(dict.fromkeys(candidates + [i for i, _ in self.index.sparse.search(lexical_query, k,
                                                                                                  filters)]))
        if not candidates:
            return []
        dense = self.index.dense.score(query, candidates)
        lexical = self.index.sparse.score(lexical_query, candidates) if weight > 0 \
            else np.zeros(len(candidates), np.float32)
        fused = fuse(dense, lexical, weight)
        order = np.argsort(-fused, kind="stable")
        hits = [Hit(self.index.chunk(candidates[i]), float(fused[i]), float(dense[i]), float(lexical[i]))
                for i in order]
        hits = group_reprints(hits, self.config.reprint_similarity, top_k)
        for hit in hits:
            hit.continued = self.index.continuation(hit.chunk)
        return hits


def translated_concepts(question: str, models_dir: Path) -> list[frozenset[str]]:
    """The English words of a question, each as the set of its Chinese translations (CC-CEDICT)."""
    return [t for t in (translations(w, models_dir) for w in content_words(question)) if t]

