"""Extractive answers: the fitted ranker picks the page sentence that answers, the fitted decision answers or
refuses, and a short answer (the asked figure, date or name) opens the answer when the picker is confident."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.answer_model import AnswerModel
from rag.config import Config
from rag.embed import Embedder
from rag.evidence import Candidate, candidates, near_text
from rag.features import (
    QUESTION_FEATURES, SENTENCE_FEATURES, Question, analyse, coverage, question_features, sentence_features,
)
from rag.index import Index
from rag.short_answer import short_answer
from rag.types import Hit

RUNNER_UP = 0.5
"""A second evidence sentence from another passage is shown when the ranker gives it at least this share of the
best one's probability (a display choice: it never decides whether to answer)."""


@dataclass
class Evidence:
    """A sentence chosen to answer, with the hit it came from and where it sits in the page."""

    hit: Hit
    text: str
    start: int
    end: int
    score: float
    passage: str | None = None
    """The hit's chunk text widened to the whole evidence sentence (a chunk edge may cut it)."""


def evidence_of(candidate: Candidate, page: str, score: float) -> Evidence:
    chunk = candidate.hit.chunk
    passage = page[min(candidate.start, chunk.start) : max(candidate.end, chunk.end)]
    return Evidence(candidate.hit, candidate.text, candidate.start, candidate.end, score, passage)


@dataclass
class Decision:
    """What the answer stage concluded from the hits: the evidence (best first, kept even when it refuses),
    whether to answer, and how sure it is (the fitted probability that the evidence answers)."""

    hits: list[Hit]
    evidence: list[Evidence]
    confidence: float
    answer: bool
    short_answer: str | None = None


def cosine(vector: np.ndarray | None, query: np.ndarray) -> float:
    if vector is None:
        return float("nan")
    norm = float(np.linalg.norm(vector))
    return float(vector @ query / norm) if norm > 0 else 0.0


def semantic_scores(pool: list[Candidate], query: np.ndarray, embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of each candidate (alone and with its neighbours) to the query, from the pooled sentence vectors
    stored at ingest; candidates of an index without them are encoded now."""
    sem = np.array([cosine(c.vector, query) for c in pool])
    context = np.array([cosine(c.context_vector, query) for c in pool])
    missing = np.flatnonzero(np.isnan(sem))
    if len(missing):
        exact = embedder.encode_sentences([pool[i].text for i in missing]) @ query
        sem[missing] = exact
        context[missing] = exact
    return sem, context


def pool_features(q: Question, pool: list[Candidate], query: np.ndarray, hits: list[Hit],
                  embedder: Embedder) -> np.ndarray:
    """One row of ``SENTENCE_FEATURES`` per candidate."""
    sem, context = semantic_scores(pool, query, embedder)
    best_sem = float(sem.max())
    best_cov = max(coverage(q.terms, c.text.lower()) for c in pool)
    top_dense = hits[0].dense
    return np.stack([sentence_features(q, c.text, c.context, float(s), float(sc), best_sem, c.hit.dense,
                                       top_dense, c.rank, c.inside, best_cov)
                     for c, s, sc in zip(pool, sem, context)])


def check_features(model: AnswerModel) -> None:
    if model.ranker.features != SENTENCE_FEATURES or model.answerable.features != QUESTION_FEATURES:
        raise ValueError("the answer model was fitted on other features; refit it with scripts/fit_answer.py")


def decide(question: str, query: np.ndarray, hits: list[Hit], embedder: Embedder, index: Index, config: Config,
           model: AnswerModel) -> Decision:
    """Rank the candidate sentences of the top hits, then answer or refuse with the fitted decision."""
    pool = candidates(index, hits[: config.answer_hits]) if hits else []
    if not pool:
        return Decision(hits, [], 0.0, False)
    check_features(model)
    q = analyse(question, index.lexical, config.models_dir)
    x = pool_features(q, pool, query, hits, embedder)
    scores = model.ranker.score(x)
    order = np.argsort(-scores, kind="stable")
    best = pool[order[0]]
    probs = np.exp(scores - scores[order[0]])
    probs /= probs.sum()
    page = index.documents[best.hit.chunk.doc_id].text
    g = question_features(q, scores, x[order[0]], [h.dense for h in hits], near_text(index, best.hit.chunk))
    confidence = float(model.answerable.probability(g)[0])
    evidence = [evidence_of(best, page, float(probs[order[0]]))]
    runner = next((i for i in order[1:] if pool[i].hit.chunk.doc_id != best.hit.chunk.doc_id), None)
    if runner is not None and probs[runner] >= RUNNER_UP * evidence[0].score:
        other = pool[runner]
        evidence.append(evidence_of(other, index.documents[other.hit.chunk.doc_id].text, float(probs[runner])))
    answer = confidence >= model.threshold(q.chinese)
    return Decision(hits, evidence, confidence, answer, short_answer(q, best.text, model))
