"""What a question asks for and how well a candidate sentence meets it, as numbers for the answer models.

Pure functions of text plus a few scores: ``analyse`` reads the question once (its kind, terms with weights,
numbers and names, English terms mapped to Chinese); ``sentence_features`` scores one candidate sentence and
``question_features`` the question's best candidate against the story around it, for the answer-or-refuse
decision.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.bilingual import translations
from rag.lexical import TermWeights, tokenize
from rag.names import Names, entities, names_in

KINDS = ("quantity", "time", "person", "place", "org")
KIND_PATTERNS = {
    "time": r"何时|什么时候|哪一?年|哪一?天|哪个月|几月|几号|何年|几时|哪个时期|什么时期|哪个朝代|年代|世纪|日期|"
            r"\bwhen\b|what (year|date|time|century|decade|day|month|period|era)|which (year|century|decade|day|month)",
    "quantity": r"多少|几[个家次项年天人名位种座条件倍岁分]|多大|多高|多长|多远|多重|多深|多宽|多久|多快|多老|比例|百分之?几|"
                r"how (many|much|long|large|big|high|tall|old|far|fast|deep|wide|often)|what (percentage|percent|"
                r"proportion|number|amount|share|rate|fraction)|\bnumber of\b",
    "person": r"谁|哪位|何人|什么人|哪个人|哪一位|\bwho\b|\bwhom\b|\bwhose\b|which (person|man|woman|player|king|emperor)",
    "place": r"哪里|哪儿|何处|何地|什么地方|哪个(国家|城市|地区|省|州|地方)|哪[国省市县州座]|\bwhere\b|"
             r"(what|which) (country|city|state|region|province|place|town|island|continent)",
    "org": r"哪[个家所](公司|机构|组织|大学|学校|企业|银行|部门|单位|团体|球队|政党)|什么(公司|机构|组织|大学|企业|部门)|"
           r"(what|which) (company|organi[sz]ation|university|school|team|party|agency|firm|institution|club)",
}
KIND_RE = {k: re.compile(v, re.IGNORECASE) for k, v in KIND_PATTERNS.items()}
NUMBER = re.compile(r"\d|[零〇一二两三四五六七八九十百千万亿][个家项次人元件台名位种座条倍岁分米吨公里亩户万亿%％]")
DATE = re.compile(r"\d{1,4}\s*年|\d{1,2}\s*月|\d{1,2}\s*[日号]|世纪|年代|[春夏秋冬][季天]|[〇零一二三四五六七八九十]{2,4}年|"
                  r"朝|时期|期间")
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9.'-]*[A-Za-z0-9]|[A-Z]")
ASKED_NUMBER = re.compile(r"\d+\s*月\s*\d+\s*[日号]|\d{2,}|\d+\s*(?:月|日|号|季度|届|期)")
"""Numbers a question pins its fact to: 2025, a day (2月14日), or a single digit with its unit (2月, 3日, 第5届),
never a bare digit, which any figure on the page would contain."""
ASIDE = re.compile(r"[（(][\u4e00-\u9fff]{1,2}[)）]")
"""A word's bracketed insertion, as papers abbreviate 企业和事业单位 to 企(事)业单位: read without it, the text
names the question's 企业 too."""


@dataclass(frozen=True)
class Term:
    """One question term: the strings whose presence in a text counts as finding it, and its weight."""

    forms: frozenset[str]
    weight: float


@dataclass
class Question:
    """A question read once for the answer models."""

    text: str
    chinese: float
    kind: str | None
    terms: list[Term]
    numbers: list[str]
    names: list[Term]
    bigrams: frozenset[str]
    asked: dict[str, frozenset[str]]
    """The question's own place, person and organisation names by kind (``entities``)."""


def chinese_share(text: str) -> float:
    """Share of Chinese characters among the letters of a text (digits and punctuation left out)."""
    cjk = len(re.findall(r"[\u3400-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def question_kind(question: str) -> str | None:
    """quantity / time / person / place / org, or ``None`` when the question asks for something else."""
    for kind in ("time", "quantity", "person", "place", "org"):
        if KIND_RE[kind].search(question):
            return kind
    return None


def char_bigrams(text: str) -> frozenset[str]:
    """Bigrams of the Chinese characters of a text."""
    chars = re.sub(r"[^\u3400-\u9fff]+", "", text)
    return frozenset(chars[i : i + 2] for i in range(len(chars) - 1))


def analyse(question: str, lexical: TermWeights, models_dir: Path) -> Question:
    """Kind, weighted terms (English words carry their Chinese translations), numbers and names of a question."""
    chinese = chinese_share(question)
    terms = []
    for token in dict.fromkeys(tokenize(question)):
        if token.isascii() and token.isalpha():
            forms = {token} | set(translations(token, models_dir))
            terms.append(Term(frozenset(forms), lexical.median))
        else:
            terms.append(Term(frozenset({token}), lexical.weight(token)))
    names = [Term(frozenset({n}), 1.0) for kind, ns in entities(question).items() for n in ns]
    for m in LATIN.finditer(question):
        word = m.group()
        if m.start() > 0 and word[0].isupper() and len(word) > 1:
            names.append(Term(frozenset({word.lower()} | set(translations(word.lower(), models_dir))), 1.0))
    return Question(question, chinese, question_kind(question), terms, ASKED_NUMBER.findall(question),
                    names, char_bigrams(question), entities(question))


def found(term: Term, text: str) -> bool:
    return any(form in text for form in term.forms)


def found_all(terms: list[Term], text: str) -> list[bool]:
    """Whether each term is found in a (lower-cased) text, or in it read without bracketed insertions."""
    bare = ASIDE.sub("", text)
    return [found(t, text) or found(t, bare) for t in terms]


def mentioned(number: str, text: str) -> bool:
    """Whether ``text`` states an asked number (``ASKED_NUMBER``) whole: never as part of a longer number (2 of
    12月, 2025 of 20251, 3 of 2.3), and a month never as the month of a day (2月 of 2月14日 dates an event; it is
    not February's figure)."""
    parts = re.findall(r"\d+|\D", re.sub(r"\s+", "", number))
    pattern = r"(?<![\d.])" + r"\s*".join(map(re.escape, parts))
    if parts[-1].isdigit():
        pattern += r"(?!\d|\.\d)"
    elif parts[-1] == "月":
        pattern += r"(?!\s*\d)"
    return re.search(pattern, text) is not None


def weighted_share(terms: list[Term], hits: list[bool]) -> float:
    """Weighted share of the terms marked found in ``hits``; 0 when there are no terms."""
    total = sum(t.weight for t in terms)
    return sum(t.weight for t, hit in zip(terms, hits) if hit) / total if total else 0.0


def coverage(terms: list[Term], text: str) -> float:
    """Weighted share of the terms found in a (lower-cased) text; 0 when there are no terms."""
    return weighted_share(terms, found_all(terms, text))


def heaviest_missing(terms: list[Term], hits: list[bool]) -> float:
    """Weight of the heaviest term not marked found, as a share of the heaviest term (0: all found)."""
    top = max((t.weight for t in terms), default=0.0)
    missing = max((t.weight for t, hit in zip(terms, hits) if not hit), default=0.0)
    return missing / top if top else 0.0


def conflict(q: Question, text: str, names: Names | None = None) -> float:
    """1 when the sentence lacks a place, person or organisation the question names and names another of the
    same kind instead (上海 asked, 北京 stated), else 0; ``names``: the sentence's, when stored."""
    for kind in ("place", "person", "org"):
        asked = q.asked[kind]
        if asked and not any(n in text for n in asked):
            if any(n not in q.text for n in names_in(text, names)[kind]):
                return 1.0
    return 0.0


def share(numbers: list[str], text: str) -> float:
    """Share of the asked numbers the text states (``mentioned``; 1 when there are none)."""
    return sum(mentioned(n, text) for n in numbers) / len(numbers) if numbers else 1.0


def holds(kind: str, text: str, names: Names | None = None) -> bool:
    """Whether a sentence holds the kind of thing asked for; ``names``: the sentence's, when stored."""
    if kind == "quantity":
        return bool(NUMBER.search(text))
    if kind == "time":
        return bool(DATE.search(text))
    return bool(names_in(text, names)[kind]) or kind == "person" and bool(LATIN.search(text))


SENTENCE_FEATURES = (
    "sem", "sem_gap", "sem_context", "dense", "dense_gap", "top_hit", "rank", "coverage", "coverage_context",
    "coverage_gap", "bigrams", "inside", "log_length", *(f"holds_{k}" for k in KINDS), "lacks_kind",
    "numbers", "names", "missing", "conflict", "chinese",
)


@dataclass
class Candidates:
    """The candidate sentences of one question and the scores the ranker reads besides their text."""

    texts: list[str]
    contexts: list[str]
    """The sentences around each and the article headline (``rag.evidence.Candidate.context``)."""
    sem: np.ndarray
    sem_context: np.ndarray
    dense: np.ndarray
    """Dense score of the hit each came from."""
    ranks: list[int]
    inside: list[bool]
    names: list[Names | None]
    """Each sentence's names as stored at ingest (``None``: tag them now)."""


def sentence_features(q: Question, pool: Candidates, top_dense: float) -> np.ndarray:
    """The ranker's features, one row per candidate sentence (columns: ``SENTENCE_FEATURES``); each question
    term is looked up once per sentence and once per context."""
    in_text = [found_all(q.terms, text.lower()) for text in pool.texts]
    in_context = [found_all(q.terms, context.lower()) for context in pool.contexts]
    cov = [weighted_share(q.terms, hits) for hits in in_text]
    best_sem, best_cov = float(pool.sem.max()), max(cov)
    rows = []
    for i, (text, context) in enumerate(zip(pool.texts, pool.contexts)):
        kind_held = [float(q.kind == k and holds(k, text, pool.names[i])) for k in KINDS]
        grams = char_bigrams(text)
        rows.append([
            float(pool.sem[i]), float(pool.sem[i]) - best_sem, float(pool.sem_context[i]), float(pool.dense[i]),
            float(pool.dense[i]) - top_dense, float(pool.ranks[i] == 0), float(pool.ranks[i]),
            cov[i], weighted_share(q.terms, in_context[i]), cov[i] - best_cov,
            len(q.bigrams & grams) / len(q.bigrams) if q.bigrams else 0.0,
            float(pool.inside[i]), math.log1p(len(text)), *kind_held, float(q.kind is not None and not any(kind_held)),
            share(q.numbers, text), coverage(q.names, context.lower()) if q.names else 1.0,
            heaviest_missing(q.terms, in_context[i]), conflict(q, text, pool.names[i]), q.chinese,
        ])
    return np.array(rows, dtype=np.float32).reshape(len(rows), len(SENTENCE_FEATURES))


READ_FEATURES = ("ranker", "reader", "reader_gap")
"""The reranker's features: the ranker's score and what the reader (``rag.reader``) found in the sentence."""
READER_FLOOR = -20.0
"""Log-probability given to a sentence the reader could not fit in its window."""


def read_features(scores: np.ndarray, reader_logp: np.ndarray) -> np.ndarray:
    """One row of ``READ_FEATURES`` per sentence the reader read: the ranker's score, the reader's
    log-probability that the sentence holds the answer, and its gap to the reader's best sentence."""
    logp = np.maximum(reader_logp, READER_FLOOR)
    return np.column_stack([scores, logp, logp - logp.max()]).astype(np.float32)


QUESTION_FEATURES = (
    "best_score", "shown_prob", "score_margin", "best_sem", "best_coverage", "best_coverage_context",
    "best_holds_kind", "best_lacks_kind", "top_dense", "dense_margin", "near_coverage", "near_names",
    "near_numbers", "has_names", "has_numbers", "asks_kind", "chinese", "log_length", "best_names",
    "best_missing", "terms", "best_conflict", "reader_best", "reader_none",
)


def question_features(q: Question, scores: np.ndarray, best: np.ndarray, dense: list[float],
                      near: str, shown: float, reader: tuple[float, float]) -> np.ndarray:
    """The answer-or-refuse model's features: the reranker's scores over the sentences read, the best
    candidate's sentence features (``best``), the hits' dense scores (best first) and the text near the best
    candidate (its chunk and the chunks beside it: the story, not the whole page, which holds other stories),
    the probability on the sentences shown (``rag.answer.shown``), and the reader's log-probabilities that the
    best sentence holds the answer and that none of those read does."""
    f = dict(zip(SENTENCE_FEATURES, best))
    order = np.sort(scores)[::-1]
    lower = near.lower()
    return np.array([
        order[0], shown, order[0] - order[1] if len(order) > 1 else 5.0,
        f["sem"], f["coverage"], f["coverage_context"],
        max(f[f"holds_{k}"] for k in KINDS), f["lacks_kind"],
        dense[0], dense[0] - float(np.mean(dense[1:])) if len(dense) > 1 else 0.0,
        coverage(q.terms, lower), coverage(q.names, lower) if q.names else 1.0, share(q.numbers, near),
        float(bool(q.names)), float(bool(q.numbers)), float(q.kind is not None), q.chinese,
        math.log1p(len(q.text)), f["names"], f["missing"], math.log1p(len(q.terms)), f["conflict"],
        max(reader[0], READER_FLOOR), max(reader[1], READER_FLOOR),
    ], dtype=np.float32)
