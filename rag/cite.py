"""Number the evidence, write the answer text with [n] markers, and build citations."""

from __future__ import annotations

from rag.answer import Evidence
from rag.types import Answer, Chunk, Citation, Filters, Hit

NO_ANSWER = {
    "zh": "所提供的报纸版面中没有找到这个问题的答案。",
    "en": "The loaded newspaper pages do not contain an answer to this question.",
}
FILTERED = {"zh": "（仅检索了{}）", "en": " (searched only {})"}


def describe(chunk: Chunk) -> dict:
    """The page fields of a chunk, as used in a citation."""
    m = chunk.meta
    return {"paper": m.paper, "date": m.date, "page": m.page, "title": chunk.title, "source": chunk.source}


def continued(hit: Hit) -> list[dict]:
    """One entry per other page holding the rest of the hit's article (jump line), marked ``continued``."""
    first: dict[str, Chunk] = {}
    for chunk in hit.continued:
        first.setdefault(chunk.doc_id, chunk)
    return [{**describe(c), "continued": True} for c in first.values()]


def citation(n: int, hit: Hit, sentence: Evidence | None = None) -> Citation:
    return Citation(
        n=n,
        text=sentence.passage if sentence and sentence.passage else hit.chunk.text,
        score=round(hit.score, 4),
        sentence=sentence.text if sentence else None,
        start=sentence.start if sentence else hit.chunk.start,
        end=sentence.end if sentence else hit.chunk.end,
        also=[describe(c) for c in hit.reprints] + continued(hit),
        **describe(hit.chunk),
    )


def cited_answer(question: str, evidence: list[Evidence], short: str | None = None) -> Answer:
    """An answer made of the evidence sentences, each followed by the number of its source; a short answer,
    when there is one, opens it."""
    numbers: dict[int, int] = {}
    parts, citations = [], []
    for ev in evidence:
        key = id(ev.hit)
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            citations.append(citation(numbers[key], ev.hit, ev))
        parts.append(f"{ev.text}[{numbers[key]}]")
    return Answer(question=question, answer=lead_with(short, " ".join(parts)), abstained=False,
                  citations=citations, short_answer=short)


def lead_with(short: str | None, text: str) -> str:
    """The answer text opening with the short answer (``9800多亿元 — …``), when there is one."""
    return f"{short} — {text}" if short and not text.startswith(short) else text


def abstention(question: str, chinese: bool, filters: Filters | None = None) -> Answer:
    """The refusal, naming the filters in effect (a filtered search may miss what other pages hold)."""
    lang = "zh" if chinese else "en"
    text = NO_ANSWER[lang]
    where = filters.describe(chinese) if filters else ""
    if where:
        text = text[:-1] + FILTERED[lang].format(where) + text[-1]
    return Answer(question=question, answer=text, abstained=True)
