"""Extractive answers: the fitted ranker scores the candidate page sentences, the reader reads the best few with
the question, the fitted reranker picks the sentence that answers, the fitted decision answers or refuses, and
a short answer (the asked figure, date or name) opens the answer when the picker is confident. Where another
page retells the chosen sentence with another figure, both are shown and no short answer given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.answer_model import AnswerModel, Linear, is_chinese
from rag.config import Config
from rag.embed import Embedder
from rag.evidence import Candidate, candidates, near_text
from rag.features import (
    QUESTION_FEATURES, READ_FEATURES, SENTENCE_FEATURES, Candidates, Question, analyse, question_features,
    read_features, sentence_features,
)
from rag.reader import Reader, Reading
from rag.reprints import disagree
from rag.retrieve import bigrams, cached_figures, containment
from rag.short_answer import short_answer
from rag.store import Index
from rag.text import dated
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
        [dated(c.text, c.date) for c in pool], [dated(c.context, c.date) for c in pool],
        sem, context, np.array([c.hit.dense for c in pool]),
        [c.rank for c in pool], [c.inside for c in pool], [c.names for c in pool]), hits[0].dense)


def check_features(model: AnswerModel) -> None:
    if (model.ranker.features, model.reranker.features, model.decision(0.0).features,
            model.decision(1.0).features) != (SENTENCE_FEATURES, READ_FEATURES, QUESTION_FEATURES, QUESTION_FEATURES):
        raise ValueError("the answer model was fitted on other features; refit it with scripts/fit_answer.py")


def read_best(question: str, pool: list[Candidate], scores: np.ndarray, reader: Reader,
              most: int) -> tuple[list[int], Reading]:
    """The ranker's ``most`` best candidates, as the reader reads them (each page's in page order, pages by
    their best hit), and what it found in them."""
    top = [int(i) for i in np.argsort(-scores, kind="stable")[:most]]
    first = {}
    for i in top:
        first.setdefault(pool[i].hit.chunk.doc_id, pool[i].rank)
    top.sort(key=lambda i: (first[pool[i].hit.chunk.doc_id], pool[i].hit.chunk.doc_id, pool[i].start))
    return top, reader.read(question, [pool[i].text for i in top])


@dataclass
class Ranking:
    """The candidates read (``top``, pool indices), the reranker's scores over them, the evidence shown
    (positions in ``top``) with its probabilities, and the reader's findings."""

    top: list[int]
    scores: np.ndarray
    picked: list[int]
    probs: np.ndarray
    reading: Reading

    def reader(self) -> tuple[float, float]:
        """The reader's log-probabilities for the best shown sentence and for none."""
        return float(self.reading.sentence_logp[self.picked[0]]), self.reading.none_logp


def reranked(top: list[int], z: np.ndarray, reading: Reading, reranker: Linear, config: Config) -> Ranking:
    """The reranker's scores over the candidates read (``z``: their ``READ_FEATURES``) and the evidence shown."""
    scores = reranker.score(z)
    picked, probs = shown(scores, config.evidence_mass, config.evidence_sentences)
    return Ranking(top, scores, picked, probs, reading)


def rank(question: str, pool: list[Candidate], x: np.ndarray, reader: Reader, config: Config,
         model: AnswerModel) -> Ranking:
    """Rank every candidate, let the reader read the best few, rerank those and pick the evidence."""
    scores = model.ranker.score(x)
    top, reading = read_best(question, pool, scores, reader, config.reader_sentences)
    return reranked(top, read_features(scores[top], reading.sentence_logp), reading, model.reranker, config)


def answer_depth(q: Question, config: Config) -> int:
    """How many hits give candidate sentences for question ``q``: ``Config.answer_hits`` for a Chinese one,
    ``Config.answer_hits_other`` for another language."""
    return config.answer_hits if is_chinese(q.chinese) else config.answer_hits_other


def decide(question: str, query: np.ndarray, hits: list[Hit], embedder: Embedder, index: Index, config: Config,
           model: AnswerModel, reader: Reader) -> Decision:
    """Rank the candidate sentences of the top hits, read the best, then answer or refuse with the fitted
    decision."""
    if not hits:
        return Decision(hits, [], 0.0, False)
    q = analyse(question, index.lexical, config.models_dir)
    pool = candidates(index, hits[: answer_depth(q, config)])
    if not pool:
        return Decision(hits, [], 0.0, False)
    check_features(model)
    x = pool_features(q, pool, query, hits, embedder)
    r = rank(question, pool, x, reader, config, model)
    picked = [r.top[i] for i in r.picked]
    best = pool[picked[0]]
    g = question_features(q, r.scores, x[picked[0]], [h.dense for h in hits], near_text(index, best.hit.chunk),
                          float(r.probs[r.picked].sum()), r.reader())
    confidence = float(model.decision(q.chinese).probability(g)[0])
    others = disputed(pool, picked, config.reprint_similarity)
    prob = dict(zip(r.top, r.probs.tolist()))
    evidence = [evidence_of(pool[i], index.documents[pool[i].hit.chunk.doc_id].text, prob.get(i, 0.0))
                for i in picked + others]
    answer = confidence >= model.threshold(q.chinese)
    short = None if others else short_answer(q, best.text, model, best.names, r.reading.spans[r.picked[0]])
    return Decision(hits, evidence, confidence, answer, short)
