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
from functools import lru_cache
from pathlib import Path

import jieba.posseg
import numpy as np

from rag.bilingual import translations
from rag.lexical import BM25, tokenize

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
ORG_SUFFIX = re.compile(r"(公司|集团|大学|学院|学校|委员会|协会|银行|研究院|研究所|医院|中心|部|局|厅|署|院|党|队|社|组织|"
                        r"基金会)$")
"""Endings that make a word (a jieba token of three or more characters) an organisation's name."""
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9.'-]*[A-Za-z0-9]|[A-Z]")
ASKED_NUMBER = re.compile(r"\d{2,}")
NAME_TAGS = {"nr": "person", "nrfg": "person", "nrt": "person", "ns": "place", "nt": "org", "nz": "other"}


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


@lru_cache(maxsize=100_000)
def entities(text: str) -> dict[str, frozenset[str]]:
    """Names found in a text by jieba's tags (person, place, org, other) and words with organisation endings."""
    found: dict[str, set[str]] = {k: set() for k in ("person", "place", "org", "other")}
    for word in jieba.posseg.cut(text):
        kind = NAME_TAGS.get(word.flag)
        if kind and len(word.word) > 1:
            found[kind].add(word.word)
        elif len(word.word) >= 3 and ORG_SUFFIX.search(word.word):
            found["org"].add(word.word)
    return {k: frozenset(v) for k, v in found.items()}


def analyse(question: str, lexical: BM25, models_dir: Path) -> Question:
    """Kind, weighted terms (English words carry their Chinese translations), numbers and names of a question."""
    chinese = chinese_share(question)
    terms = []
    for token in dict.fromkeys(tokenize(question)):
        if token.isascii() and token.isalpha():
            forms = {token} | set(translations(token, models_dir))
            terms.append(Term(frozenset(forms), lexical.idf_median))
        else:
            weight = float(lexical.idf[lexical.vocab[token]]) if token in lexical.vocab else lexical.idf_top
            terms.append(Term(frozenset({token}), weight))
    names = [Term(frozenset({n}), 1.0) for kind, ns in entities(question).items() for n in ns]
    for m in LATIN.finditer(question):
        word = m.group()
        if m.start() > 0 and word[0].isupper() and len(word) > 1:
            names.append(Term(frozenset({word.lower()} | set(translations(word.lower(), models_dir))), 1.0))
    return Question(question, chinese, question_kind(question), terms, ASKED_NUMBER.findall(question),
                    names, char_bigrams(question), entities(question))


def found(term: Term, text: str) -> bool:
    return any(form in text for form in term.forms)


def coverage(terms: list[Term], text: str) -> float:
    """Weighted share of the terms found in a (lower-cased) text; 0 when there are no terms."""
    total = sum(t.weight for t in terms)
    return sum(t.weight for t in terms if found(t, text)) / total if total else 0.0


def heaviest_missing(terms: list[Term], text: str) -> float:
    """Weight of the heaviest term not found in the text, as a share of the heaviest term (0: all found)."""
    top = max((t.weight for t in terms), default=0.0)
    missing = max((t.weight for t in terms if not found(t, text)), default=0.0)
    return missing / top if top else 0.0


def conflict(q: Question, text: str) -> float:
    """1 when the sentence lacks a place, person or organisation the question names and names another of the
    same kind instead (上海 asked, 北京 stated), else 0."""
    for kind in ("place", "person", "org"):
        asked = q.asked[kind]
        if asked and not any(n in text for n in asked):
            if any(n not in q.text for n in entities(text)[kind]):
                return 1.0
    return 0.0


def share(items: list[str], text: str) -> float:
    """Share of items found in the text (1 when there are none)."""
    return sum(i in text for i in items) / len(items) if items else 1.0


def holds(kind: str, text: str) -> bool:
    """Whether a sentence holds the kind of thing asked for."""
    if kind == "quantity":
        return bool(NUMBER.search(text))
    if kind == "time":
        return bool(DATE.search(text))
    return bool(entities(text)[kind]) or kind == "person" and bool(LATIN.search(text))


SENTENCE_FEATURES = (
    "sem", "sem_gap", "sem_context", "dense", "dense_gap", "top_hit", "rank", "coverage", "coverage_context",
    "coverage_gap", "bigrams", "inside", "log_length", *(f"holds_{k}" for k in KINDS), "lacks_kind",
    "numbers", "names", "missing", "conflict", "chinese",
)


def sentence_features(q: Question, text: str, context: str, sem: float, sem_context: float, best_sem: float,
                      dense: float, top_dense: float, rank: int, inside: bool, best_coverage: float) -> np.ndarray:
    """The ranker's features of one candidate sentence (order: ``SENTENCE_FEATURES``)."""
    lower, around = text.lower(), context.lower()
    cov = coverage(q.terms, lower)
    kind_held = [float(q.kind == k and holds(k, text)) for k in KINDS]
    grams = char_bigrams(text)
    return np.array([
        sem, sem - best_sem, sem_context, dense, dense - top_dense, float(rank == 0), float(rank),
        cov, coverage(q.terms, around), cov - best_coverage,
        len(q.bigrams & grams) / len(q.bigrams) if q.bigrams else 0.0,
        float(inside), math.log1p(len(text)), *kind_held, float(q.kind is not None and not any(kind_held)),
        share(q.numbers, text), coverage(q.names, around) if q.names else 1.0, heaviest_missing(q.terms, around),
        conflict(q, text), q.chinese,
    ], dtype=np.float32)


QUESTION_FEATURES = (
    "best_score", "shown_prob", "score_margin", "best_sem", "best_coverage", "best_coverage_context",
    "best_holds_kind", "best_lacks_kind", "top_dense", "dense_margin", "near_coverage", "near_names",
    "near_numbers", "has_names", "has_numbers", "asks_kind", "chinese", "log_length", "best_names",
    "best_missing", "terms", "best_conflict",
)


def question_features(q: Question, scores: np.ndarray, best: np.ndarray, dense: list[float],
                      near: str, shown: float) -> np.ndarray:
    """The answer-or-refuse model's features: the ranker's scores over all candidates, the best candidate's
    sentence features (``best``), the hits' dense scores (best first) and the text near the best candidate
    (its chunk and the chunks beside it: the story, not the whole page, which holds other stories), and the
    ranker's probability on the sentences shown (``rag.answer.shown``)."""
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
    ], dtype=np.float32)
