"""Check an LLM answer against its sources: fix [n] markers, cite unmarked sentences, catch invented numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rag.answer import Evidence
from rag.cite import citation
from rag.config import Config
from rag.embed import Embedder
from rag.numbers import mentions, numbers
from rag.text import cjk_share
from rag.types import Citation, Hit

MARKER = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")
WIDE_MARKER = re.compile(r"【\s*(\d+)\s*】|［\s*(\d+)\s*］")
SENTENCE = re.compile(r".+?(?:[。！？!?；;]+|\.(?=\s|$)|$)[”’」』）)]*(?:\s*\[[\d,，、\s]+\])*", re.S)
WORDY = re.compile(r"[\w\u3400-\u9fff]")


@dataclass
class Checked:
    """The verified answer text, the sources it cites (numbered by first use) and the sentences taken out."""

    text: str
    citations: list[Citation]
    unsupported: list[str] = field(default_factory=list)


def sentences(reply: str) -> list[tuple[str, list[int]]]:
    """Split a reply into ``(sentence without markers, source numbers it names)``; full-width markers count too."""
    reply = WIDE_MARKER.sub(lambda m: f"[{m.group(1) or m.group(2)}]", reply)
    out = []
    for m in SENTENCE.finditer(reply):
        refs = [int(n) for group in MARKER.findall(m.group()) for n in re.split(r"[,，、\s]+", group) if n]
        body = re.sub(r"\s+([。！？!?；;.,，])", r"\1", MARKER.sub("", m.group())).strip()
        if WORDY.search(body):
            out.append((body, list(dict.fromkeys(refs))))
    return out


class Verifier:
    """Checks replies against the hits they were written from."""

    def __init__(self, hits: list[Hit], evidence: list[Evidence], embedder: Embedder, config: Config) -> None:
        self.hits, self.evidence, self.embedder, self.config = hits, evidence, embedder, config
        self.source_numbers = [numbers(f"{citation(1, h).label()}\n{h.chunk.embed_text()}") for h in hits]

    def check(self, reply: str) -> Checked:
        """Keep supported sentences with valid markers; replace or drop the rest and list them as unsupported."""
        parts = [(body, [n - 1 for n in refs if 1 <= n <= len(self.hits)]) for body, refs in sentences(reply)]
        parts = self._cite_unmarked(parts)
        kept: list[tuple[str, list[int]]] = []
        unsupported: list[str] = []
        spare = [ev for ev in self.evidence if any(ev.hit is h for h in self.hits)]
        for body, refs in parts:
            if refs and self.supported(body, refs):
                kept.append((body, refs))
                continue
            unsupported.append(body)
            if spare:
                ev = spare.pop(0)
                kept.append((ev.text, [next(i for i, h in enumerate(self.hits) if h is ev.hit)]))
        return self._number(kept, unsupported, cjk_share(reply) > 0.3)

    def supported(self, body: str, refs: list[int]) -> bool:
        """Every number of the sentence occurs in a source it cites."""
        allowed = set().union(*(self.source_numbers[i] for i in refs))
        return all(values & allowed for values in mentions(body))

    def _cite_unmarked(self, parts: list[tuple[str, list[int]]]) -> list[tuple[str, list[int]]]:
        """Give each sentence without a valid marker its most similar source, if similar enough."""
        unmarked = [i for i, (_, refs) in enumerate(parts) if not refs]
        if not unmarked or not self.hits:
            return parts
        said = self.embedder.encode_queries([parts[i][0] for i in unmarked])
        pages = self.embedder.encode_passages([h.chunk.embed_text() for h in self.hits], progress=False)
        out = list(parts)
        for row, i in zip(said @ pages.T, unmarked):
            best = int(np.argmax(row))
            if row[best] >= self.threshold(parts[i][0]):
                out[i] = (parts[i][0], [best])
        return out

    def threshold(self, sentence: str) -> float:
        """The similarity a sentence needs to its source, by how Chinese it is."""
        zh, en = self.config.support_similarity_zh, self.config.support_similarity_en
        return en + (zh - en) * cjk_share(sentence)

    def _number(self, kept: list[tuple[str, list[int]]], unsupported: list[str], chinese: bool) -> Checked:
        """Renumber the cited hits 1..n by first use and write the markers."""
        order: dict[int, int] = {}
        texts = []
        for body, refs in kept:
            for i in refs:
                order.setdefault(i, len(order) + 1)
            texts.append(body + "".join(f"[{order[i]}]" for i in refs))
        by_hit = {id(ev.hit): ev for ev in self.evidence}
        cites = [citation(n, self.hits[i], by_hit.get(id(self.hits[i]))) for i, n in order.items()]
        return Checked(("" if chinese else " ").join(texts), cites, unsupported)
