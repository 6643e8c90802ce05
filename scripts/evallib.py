"""Helpers shared by scripts/eval.py and scripts/bench.py: eval data, ranking metrics, an embedding cache."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from rag.config import ROOT, Config
from rag.embed import Embedder, file_name
from rag.store import Index, IndexLoadError
from rag.ingest import embedded_sentences, to_document
from rag.load import RawPage
from rag.text import cjk_share
from rag.split import split_document
from rag.types import PageMeta

EVAL_DIR = ROOT.parent / "shared" / "eval"
CACHE_DIR = ROOT / "embeddings" / "cache"
KS = (1, 5, 10)
INDEX_LAYOUT = 4
"""Bumped when the cached eval indexes must be rebuilt (3: page-sentence vectors; 4: names tagged whole across dots)."""


@dataclass
class Question:
    """One question with the ids of the passages that answer it (empty when unanswerable)."""

    qid: str
    text: str
    lang: str
    gold: set[str]
    answers: list[str]
    row: dict = field(default_factory=dict)

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


@dataclass
class Passage:
    """A corpus passage: an id, its title (may be empty) and its text."""

    pid: str
    title: str
    text: str


def article(context_id: str) -> str:
    """The DRCD article of a passage id (``drcd-dev-1147-5`` → ``drcd-dev-1147``)."""
    return context_id.rsplit("-", 1)[0]


def reader_article(name: str) -> bool:
    """Whether a DRCD article is in the half the reader is fitted on (``scripts/fit_reader.py``); the answer
    models are fitted on the other half (``scripts/fit_answer.py``). A stable hash, not Python's salted one."""
    return hashlib.sha256(name.encode("utf-8")).digest()[0] % 2 == 0


ANSWER_SEED = 20261201
"""Seeds ``scripts/fit_answer.py``'s draws, the split of its articles (``answer_articles``) first."""
ANSWER_HOLDOUT = 0.3


def answer_articles(names: Iterable[str], rng: random.Random) -> set[str]:
    """The articles of the answer models' half (not ``reader_article``) that ``scripts/fit_answer.py`` fits on:
    70% of them, drawn by a shuffle with ``rng`` (``random.Random(ANSWER_SEED)``, fresh); the other 30% are held
    out to choose the operating points and print the figures (``fit_reader.py --articles use`` never reads them)."""
    articles = sorted({n for n in names if not reader_article(n)})
    rng.shuffle(articles)
    return set(articles[: int(len(articles) * (1 - ANSWER_HOLDOUT))])


def answer_fold(name: str) -> int:
    """Which of two folds an article of the answer models' half is in, for readers cross-fitted on their fitted
    part (``fit_reader.py --articles use --fold``): a stable hash, independent of ``reader_article``'s."""
    return hashlib.sha256(name.encode("utf-8")).digest()[1] % 2


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def qa_questions(path: Path, lang: str, limit: int | None = None) -> list[Question]:
    """Questions of one language from an XQuAD/CMRC file (``lang`` zh or en), at most ``limit``."""
    rows = [r for r in read_jsonl(path) if r.get("lang", "zh") == lang]
    return [Question(r["id"], r["question"], lang, {r["context_id"]}, r["answers"], r) for r in rows[:limit]]


def qa_passages(path: Path) -> list[Passage]:
    """Passages of a corpus file; underscores in titles (wiki page names) become spaces."""
    return [Passage(r["context_id"], (r.get("title") or "").replace("_", " "), r["context"]) for r in read_jsonl(path)]


def dev_questions(path: Path, limit: int | None = None) -> list[Question]:
    """dev.jsonl: gold passages are the sample page files named in ``sources``."""
    return [Question(r["id"], r["q"], r.get("lang", "zh"), set(r.get("sources", [])), r.get("answers", []), r)
            for r in read_jsonl(path)[:limit]]


def passage_ranking(keys: Iterable[str]) -> list[str]:
    """Chunk-level passage keys best first → distinct passages, each at its best rank."""
    return list(dict.fromkeys(keys))


def recall_at(ranking: Sequence[str], gold: set[str], k: int) -> float:
    """1 when a gold passage is among the first ``k``, else 0."""
    return float(any(p in gold for p in ranking[:k]))


def reciprocal_rank(ranking: Sequence[str], gold: set[str], k: int = 10) -> float:
    """1/rank of the first gold passage within the first ``k``, else 0."""
    return next((1.0 / (i + 1) for i, p in enumerate(ranking[:k]) if p in gold), 0.0)


def ranking_metrics(rankings: Sequence[Sequence[str]], golds: Sequence[set[str]]) -> dict[str, float]:
    """Mean Recall@1/5/10 and MRR@10 over questions."""
    n = max(len(rankings), 1)
    out = {f"recall@{k}": sum(recall_at(r, g, k) for r, g in zip(rankings, golds)) / n for k in KS}
    out["mrr@10"] = sum(reciprocal_rank(r, g) for r, g in zip(rankings, golds)) / n
    return out


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> list[int]:
    """Reciprocal-rank fusion: items ordered by the sum of 1/(k + rank) over the rankings (rank from 1)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda i: -scores[i])


def contains_gold(text: str, answers: Iterable[str]) -> bool:
    """Whether a gold span occurs in the text, whitespace ignored."""
    flat = re.sub(r"\s+", "", text)
    return any(re.sub(r"\s+", "", a) in flat for a in answers if a.strip())


def short_right(short: str, answers: Iterable[str]) -> bool:
    """A short answer is right when it contains a gold span or lies inside one (whitespace ignored)."""
    flat = re.sub(r"\s+", "", short)
    golds = [re.sub(r"\s+", "", a) for a in answers if a.strip()]
    return bool(flat) and any(g in flat or flat in g for g in golds)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else 0.0


class VectorCache:
    """Embeddings on disk keyed by model, prompt and text hash (SHA-1 bytes as uint8 rows): one .npz per model,
    saved on ``flush`` (processes sharing it may drop each other's new entries, never mix them up)."""

    def __init__(self, model: str, folder: Path = CACHE_DIR) -> None:
        self.path = folder / f"{file_name(model)}.npz"
        self.keys: list[bytes] = []
        self.vectors: list[np.ndarray] = []
        self.dirty = False
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as z:
                self.keys = [k.tobytes() for k in z["keys"]]
                self.vectors = list(z["vectors"])
        self.rows = {k: i for i, k in enumerate(self.keys)}

    @staticmethod
    def key(prompt: str, text: str) -> bytes:
        return hashlib.sha1(f"{prompt}\x00{text}".encode()).digest()

    def lookup(self, prompt: str, texts: list[str], encode) -> np.ndarray:
        """Vectors for ``texts``, encoding (via ``encode(missing)``) only those not cached yet."""
        keys = [self.key(prompt, t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.rows))
        if missing:
            first = {k: t for k, t in zip(keys, texts)}
            for k, v in zip(missing, encode([first[k] for k in missing])):
                self.rows[k] = len(self.vectors)
                self.keys.append(k)
                self.vectors.append(np.asarray(v, dtype=np.float32))
            self.dirty = True
        return np.stack([self.vectors[self.rows[k]] for k in keys]) if keys else np.zeros((0, 0), np.float32)

    def flush(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        keys = np.frombuffer(b"".join(self.keys), dtype=np.uint8).reshape(len(self.keys), -1)
        np.savez(tmp, keys=keys, vectors=np.stack(self.vectors))
        tmp.replace(self.path)
        self.dirty = False


def vectors_name(config: Config) -> str:
    """What cached vectors are keyed by: the model, and the encoder where it changes the vectors (torch and ONNX
    fp32 agree within 1e-4, ``tests/test_onnx_encoder.py``; int8 and bf16 do not)."""
    suffix = {"onnx-int8": "-int8", "openvino-bf16": "-bf16"}.get(config.encoder, "")
    return config.model + suffix


class CachedEmbedder(Embedder):
    """An ``Embedder`` that reads and fills a ``VectorCache``; ``encode_plain`` encodes without prompts."""

    def __init__(self, config: Config, cache: VectorCache | None = None) -> None:
        super().__init__(config)
        self.cache = cache or VectorCache(vectors_name(config))

    def _encode(self, texts: list[str], prompt: str, progress: bool, queries: bool = False,
                advance: Callable[[int], None] | None = None) -> np.ndarray:
        encode = super()._encode
        vectors = self.cache.lookup(prompt, texts,
                                    lambda missing: encode(missing, prompt, progress and len(missing) > 64, queries))
        if advance:
            advance(len(texts))
        return vectors

    def encode_plain(self, texts: list[str], progress: bool = True) -> np.ndarray:
        return self._encode(texts, "", progress)


def headline(title: str, titles: str) -> str | None:
    """The passage title used as the chunks' headline: ``all``, ``none``, or ``zh`` (only Chinese titles, since
    XQuAD's are English wiki page names, not headlines of the Chinese passage)."""
    keep = titles == "all" or titles == "zh" and cjk_share(title) >= 0.5
    return title or None if keep else None


def passage_index(passages: list[Passage], embedder: Embedder, config: Config, titles: str,
                  folder: Path = CACHE_DIR / "index") -> Index:
    """Each passage cleaned and split by our code as one document (chunk ``source`` = passage id), embedded
    with its pooled sentence vectors as ingest does; saved under ``folder`` keyed by content and settings."""
    key = hashlib.sha1(json.dumps([vectors_name(config), config.chunk_size, config.chunk_overlap, titles, INDEX_LAYOUT,
                                   [(p.pid, p.title, p.text) for p in passages]]).encode()).hexdigest()[:16]
    where = folder / key
    if Index.exists(where):
        try:
            return Index.load(where)
        except IndexLoadError:
            pass
    index = Index(config.model, embedder.dim)
    docs, chunks = [], []
    for p in passages:
        sha = hashlib.sha256(p.text.encode()).hexdigest()
        doc = to_document(RawPage(Path(p.pid), p.text, PageMeta(), sha, doc_id=p.pid))
        for chunk in split_document(doc, config, first_id=len(chunks)):
            chunk.title = headline(p.title, titles)
            chunks.append(chunk)
        docs.append(doc)
    texts = {d.doc_id: d.text for d in docs}
    vectors, sentences = embedder.encode_chunks([c.embed_text() for c in chunks],
                                                [embedded_sentences(c, texts[c.doc_id]) for c in chunks])
    index.add(docs, chunks, vectors, sentences)
    index.save(where)
    return index


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """``field=value`` pairs typed like the Config field's default."""
    defaults = {f.name: f.default for f in fields(Config)}
    out: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in defaults:
            raise SystemExit(f"unknown Config field {key!r}")
        out[key] = type(defaults[key])(value)
    return out
