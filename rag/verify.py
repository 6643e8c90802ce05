"""Check an LLM answer against its sources: fix [n] markers, cite unmarked sentences, catch invented numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from rag.answer import Evidence
from rag.cite import citation
from rag.config import Config
from rag.embed import Embedder
from rag.retrieve import cjk_share
from rag.types import Citation, Hit

MARKER = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")
WIDE_MARKER = re.compile(r"【\s*(\d+)\s*】|［\s*(\d+)\s*］")
SENTENCE = re.compile(r".+?(?:[。！？!?；;]+|\.(?=\s|$)|$)[”’」』）)]*(?:\s*\[[\d,，、\s]+\])*", re.S)
WORDY = re.compile(r"[\w\u3400-\u9fff]")
ARABIC = re.compile(r"(?<![\d.])(\d{1,3}(?:[,，]\d{3})+|\d+)(\.\d+)?\s*(万亿|亿|万|千|thousand|million|billion|trillion)?",
                    re.IGNORECASE)
CHINESE = re.compile(r"[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万亿点]+")
UNITS = {"万亿": Decimal(10) ** 12, "亿": Decimal(10) ** 8, "万": Decimal(10) ** 4, "千": Decimal(1000),
         "thousand": Decimal(1000), "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9,
         "trillion": Decimal(10) ** 12}
DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}


@dataclass
class Checked:
    """The verified answer text, the sources it cites (numbered by first use) and the sentences taken out."""

    text: str
    citations: list[Citation]
    unsupported: list[str] = field(default_factory=list)


def chinese_number(text: str) -> Decimal | None:
    """二千八百 → 2800, 一亿二千万 → 120000000, 二〇二五 → 2025, 十二点五 → 12.5; ``None`` if not a number."""
    whole, _, frac = text.partition("点")
    if frac and not all(c in DIGITS for c in frac):
        return None
    total, section, digit = Decimal(0), Decimal(0), 0
    for ch in whole:
        if ch in DIGITS:
            digit = digit * 10 + DIGITS[ch]
        elif ch in SMALL_UNITS:
            section += (digit or 1) * SMALL_UNITS[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * UNITS["万"]
            section, digit = Decimal(0), 0
        else:
            total = (total + section + digit) * UNITS["亿"]
            section, digit = Decimal(0), 0
    value = total + section + digit
    return value + Decimal("0." + "".join(str(DIGITS[c]) for c in frac)) if frac else value


def mentions(text: str) -> list[set[Decimal]]:
    """Each number in a text as its possible values: "9,800亿" → {9800, 980000000000}, "二千八百" → {2800}."""
    found: list[set[Decimal]] = []
    for m in ARABIC.finditer(text):
        value = Decimal(m.group(1).replace(",", "").replace("，", "") + (m.group(2) or ""))
        scaled = value * UNITS[m.group(3).lower()] if m.group(3) else value
        found.append({value.normalize(), scaled.normalize()})
    for m in CHINESE.finditer(text):
        digits = m.group().rstrip("点")
        value = chinese_number(digits) if len(digits) > 1 else None
        if value is not None:
            found.append({value.normalize()})
    return found


def numbers(text: str) -> set[Decimal]:
    """Every value any number in the text may stand for."""
    return set().union(*mentions(text))


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
