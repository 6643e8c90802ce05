"""Extractive answers: the sentences of the top hits that best answer the question."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jieba.posseg
import numpy as np

from rag.config import Config
from rag.embed import Embedder
from rag.index import Index
from rag.lexical import BM25, tokenize
from rag.retrieve import cjk_share
from rag.split import sentence_spans
from rag.types import Hit

QUANTITY = re.compile(
    r"多少|几[个家次项年天人]|多大|多高|多长|多远|比例|百分|增长|增加|下降|规模|总额|金额|数量|"
    r"how (many|much)|what (was|is|were|are) the (number|amount|total|increment|increase|growth|rate|share|size|value)|"
    r"percent|growth|increase|turnover|volume|revenue|income|investment",
    re.IGNORECASE,
)
DIGIT = re.compile(r"\d|[一二三四五六七八九十百千万亿]+[个家项次人元]")


@dataclass
class Evidence:
    """A sentence chosen to answer, with the hit it came from and where it sits in the page."""

    hit: Hit
    text: str
    start: int
    end: int
    score: float
    coverage: float


def sentences(hit: Hit) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of a hit, offsets into the page's cleaned text."""
    base = hit.chunk.start
    return [(base + s, base + e) for s, e in sentence_spans(hit.chunk.text)]


def windows(hit: Hit) -> list[tuple[int, int, str, tuple[int, ...]]]:
    """Single sentences and adjacent pairs in one paragraph, with the indices of the sentences they join."""
    spans = sentences(hit)
    text, base = hit.chunk.text, hit.chunk.start
    out = [(s, e, text[s - base : e - base], (i,)) for i, (s, e) in enumerate(spans)]
    for i, ((s1, _), (s2, e2)) in enumerate(zip(spans, spans[1:])):
        joined = text[s1 - base : e2 - base]
        if "\n" not in joined:
            out.append((s1, e2, joined, (i, i + 1)))
    return out


def pooled_similarity(pool: list[tuple], query: np.ndarray, index: Index) -> np.ndarray:
    """Cheap cosine of each window to the query from the sentence vectors stored at ingest (``inf`` where absent)."""
    out = np.full(len(pool), np.inf, dtype=np.float32)
    for row, (_, hit, _, _, _, members) in enumerate(pool):
        sums = index.sentence_sums(hit.chunk.chunk_id)
        if sums is not None and max(members) < len(sums):
            vector = sums[list(members)].sum(axis=0)
            norm = float(np.linalg.norm(vector))
            if norm > 0:
                out[row] = vector @ query / norm
    return out


def question_numbers(question: str) -> list[str]:
    """Numbers of two or more digits named in a question (years, counts): constraints the source must meet."""
    return re.findall(r"\d{2,}", question)


def coverage(question_tokens: list[str], text_tokens: set[str], lexical: BM25) -> float:
    """IDF-weighted share of the question's terms that occur in the text (unknown terms weigh most)."""
    terms = list(dict.fromkeys(question_tokens))
    if not terms:
        return 0.0
    top = float(lexical.idf.max()) if len(lexical.idf) else 1.0
    weights = [float(lexical.idf[lexical.vocab[t]]) if t in lexical.vocab else top for t in terms]
    found = sum(w for t, w in zip(terms, weights) if t in text_tokens or _inside(t, text_tokens))
    return found / sum(weights)


@lru_cache(maxsize=50_000)
def sentence_tokens(text: str) -> frozenset[str]:
    """BM25 tokens of a candidate sentence, remembered across questions (jieba is the slow part of scoring)."""
    return frozenset(tokenize(text))


def _inside(term: str, tokens: set[str]) -> bool:
    return len(term) > 1 and any(term in t for t in tokens)


def select_evidence(question: str, query: np.ndarray, hits: list[Hit], embedder: Embedder,
                    index: Index, config: Config) -> list[Evidence]:
    """Score the sentences of the top hits and keep the best one or two.

    Windows are scored with the sentence vectors stored at ingest. Those pooled vectors are weakest across
    languages, so for a question that is not Chinese the best ``config.answer_rerank`` are encoded exactly.
    """
    pool = [(rank, hit, *w) for rank, hit in enumerate(hits[: config.answer_hits]) for w in windows(hit)]
    if not pool:
        return []
    q_tokens = tokenize(question)
    wants_number = bool(QUANTITY.search(question))
    chinese = cjk_share(question)
    lexical_weight = config.answer_lexical_weight * chinese
    priors, covers = [], []
    for rank, _, _, _, text, _ in pool:
        cov = coverage(q_tokens, sentence_tokens(text), index.lexical)
        bonus = config.answer_number_bonus if wants_number and DIGIT.search(text) else 0.0
        priors.append(lexical_weight * cov - config.answer_rank_penalty * rank - config.answer_length_penalty * len(text) + bonus)
        covers.append(cov)
    pooled = pooled_similarity(pool, query, index)
    shortlist = np.argsort(-(pooled + np.array(priors)), kind="stable")
    if chinese >= 0.5 and np.isfinite(pooled).all():
        semantic = pooled[shortlist]
    else:
        shortlist = shortlist[: config.answer_rerank]
        semantic = embedder.encode_sentences([pool[i][4] for i in shortlist]) @ query
    scored = []
    for i, sem in zip(shortlist, semantic):
        _, hit, start, end, text, _ = pool[i]
        scored.append(Evidence(hit, text, start, end, float(sem) + priors[i], covers[i]))
    scored.sort(key=lambda e: -e.score)
    best = scored[:1]
    runner = next((e for e in scored[1:] if e.hit is not best[0].hit and not _overlaps(e, best[0])), None)
    if runner is not None and runner.score >= best[0].score - config.answer_second_margin:
        best.append(runner)
    return best


def _overlaps(a: Evidence, b: Evidence) -> bool:
    """Two windows of the same page that share characters."""
    return a.hit.chunk.doc_id == b.hit.chunk.doc_id and a.start < b.end and b.start < a.end


def should_abstain(question: str, hits: list[Hit], evidence: list[Evidence], index: Index, config: Config) -> bool:
    """No answer when the best passage is semantically far or, for Chinese, misses the key terms."""
    if not hits or not evidence:
        return True
    if hits[0].dense < config.abstain_below:
        return True
    page = index.documents[evidence[0].hit.chunk.doc_id].text
    if any(n not in page for n in question_numbers(question)):
        return True
    if cjk_share(question) > 0.5:
        if swapped_place(question, evidence[0].text):
            return True
        text_tokens = set(tokenize(" ".join(h.chunk.embed_text() for h in hits[: config.answer_hits])))
        return coverage(tokenize(question), text_tokens, index.lexical) < config.min_coverage
    return False


def places(text: str) -> set[str]:
    """Place names (jieba's ``ns`` tag) in a text."""
    return {w.word for w in jieba.posseg.cut(text) if w.flag == "ns" and len(w.word) > 1}


def swapped_place(question: str, sentence: str) -> bool:
    """The question asks about one place but the sentence speaks of another (上海 asked, 北京 found)."""
    asked = places(question)
    missing = [p for p in asked if p not in sentence]
    return bool(missing) and any(p not in question for p in places(sentence))
