"""Extractive answers: the fitted ranker picks the page sentence that answers, the fitted decision answers or
refuses, and a short answer (the asked figure, date or name) opens the answer when the picker is confident.
Where another page retells the chosen sentence with another figure, both are shown and no short answer given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.answer_model import AnswerModel
from rag.config import Config
from rag.embed import Embedder
from rag.evidence import Candidate, candidates, near_text
from rag.features import (
    QUESTION_FEATURES, SENTENCE_FEATURES, Candidates, Question, analyse, question_features, sentence_features,
)
from rag.reprints import disagree
from rag.retrieve import bigrams, cached_figures, containment
from rag.short_answer import short_answer
from rag.store import Index
from rag.types import Hit

def shown(scores: np.ndarray, mass: float, most: int) -> tuple[list[int], np.ndarray]:
    """Indices of the candidates shown as evidence: the fewest best-ranked ones (at most ``most``) whose ranker
    probabilities sum to ``mass`` (``Config.evidence_mass``), so two competing statements (two growth figures in
    one story) are both shown; and the probabilities of all candidates (the mass on those shown is a feature of
    the answer-or-refuse model)."""
    order = np.argsort(-scores, kind="stable")
    probs = np.exp(scores - scores[order[0]])
    probs /= probs.sum()
    picked, total = [], 0.0
    for i in order[:most]:
        picked.append(int(i))
        total += float(probs[i])
        if total >= mass:
            break
    return picked, probs


def retold(a: Candidate, b: Candidate, threshold: float) -> bool:
    """Whether ``b`` is ``a``'s sentence on another page (bigram containment ``threshold``)."""
    return a.hit.chunk.doc_id != b.hit.chunk.doc_id and containment(bigrams(a.text), bigrams(b.text)) >= threshold


def disputed(pool: list[Candidate], picked: list[int], threshold: float) -> list[int]:
    """Candidates that retell a picked sentence with another figure than every shown telling of it
    (``rag.reprints.disagree``, over the sentences around each): a corrected figure is news, so the reader is
    shown both."""
    shown = list(picked)
    for j, other in enumerate(pool):
        tellings = [i for i in shown if retold(pool[i], other, threshold)]
        if j not in shown and tellings and all(
                disagree(cached_figures(pool[i].context), cached_figures(other.context)) for i in tellings):
            shown.append(j)
    return shown[len(picked):]


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


def cosines(vectors: list[np.ndarray | None], query: np.ndarray) -> np.ndarray:
    """Cosine of each vector to the (unit) query; NaN where there is none."""
    out = np.full(len(vectors), np.nan)
    rows = [i for i, v in enumerate(vectors) if v is not None]
    if rows:
        matrix = np.stack([vectors[i] for i in rows])
        norms = np.linalg.norm(matrix, axis=1)
        dots = matrix @ query
        out[rows] = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)
    return out


def semantic_scores(pool: list[Candidate], query: np.ndarray, embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of each candidate (alone and with its neighbours) to the query, from the sentence vectors
    stored at ingest; candidates of an index without them are encoded now."""
    sem = cosines([c.vector for c in pool], query)
    context = cosines([c.context_vector for c in pool], query)
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
    return sentence_features(q, Candidates(
        [c.text for c in pool], [c.context for c in pool], sem, context, np.array([c.hit.dense for c in pool]),
        [c.rank for c in pool], [c.inside for c in pool], [c.names for c in pool]), hits[0].dense)


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
    picked, probs = shown(scores, config.evidence_mass, config.evidence_sentences)
    best = pool[picked[0]]
    g = question_features(q, scores, x[picked[0]], [h.dense for h in hits], near_text(index, best.hit.chunk),
                          float(probs[picked].sum()))
    confidence = float(model.answerable.probability(g)[0])
    others = disputed(pool, picked, config.reprint_similarity)
    evidence = [evidence_of(pool[i], index.documents[pool[i].hit.chunk.doc_id].text, float(probs[i]))
                for i in picked + others]
    answer = confidence >= model.threshold(q.chinese)
    return Decision(hits, evidence, confidence, answer, None if others else short_answer(q, best.text, model, best.names))
