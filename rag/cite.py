"""Number the evidence, write the answer text with [n] markers, and build citations."""

from __future__ import annotations

from rag.answer import Evidence
from rag.types import Answer, Chunk, Citation, Hit

NO_ANSWER = {
    "zh": "所提供的报纸版面中没有找到这个问题的答案。",
    "en": "The loaded newspaper pages do not contain an answer to this question.",
}


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
        text=hit.chunk.text,
        score=round(hit.score, 4),
        sentence=sentence.text if sentence else None,
        start=sentence.start if sentence else hit.chunk.start,
        end=sentence.end if sentence else hit.chunk.end,
        also=[describe(c) for c in hit.reprints] + continued(hit),
        **describe(hit.chunk),
    )


def cited_answer(question: str, evidence: list[Evidence]) -> Answer:
    """An answer made of the evidence sentences, each followed by the number of its source."""
    numbers: dict[int, int] = {}
    parts, citations = [], []
    for ev in evidence:
        key = id(ev.hit)
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            citations.append(citation(numbers[key], ev.hit, ev))
        parts.append(f"{ev.text}[{numbers[key]}]")
    return Answer(question=question, answer=" ".join(parts), abstained=False, citations=citations)


def abstention(question: str, chinese: bool) -> Answer:
    return Answer(question=question, answer=NO_ANSWER["zh" if chinese else "en"], abstained=True)
