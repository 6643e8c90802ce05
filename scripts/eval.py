"""Retrieval and answer quality of PaperTrail against baselines, side by side, on every eval set.

    .venv/bin/python scripts/eval.py [--eval-dir ../shared/eval] [--sets dev xquad_zh xquad_en cmrc2018]
        [--limit N] [--answers N] [-c chunk_size=300 ...] [--titles zh|all|none] [--json]

Systems, all through one harness (passage-level Recall@1/5/10 and MRR@10; chunk hits map to their passage,
each passage kept at its best rank):
  papertrail         our clean/split/embed/index/Retriever as configured (``-c`` overrides Config fields)
  dense              FAISS over the same chunks and e5-prompted vectors
  bm25               jieba BM25 over the same chunks
  rrf                reciprocal-rank fusion (k=60) of dense and bm25
  langchain_default  RecursiveCharacterTextSplitter(1000, 200), plain ``encode`` (no prompts), FAISS flat
``answer`` is the share of the first ``--answers`` questions whose ``PaperTrail.ask`` answer contains a gold span
(dev: eval_dev's judge, unanswerable questions included). Embeddings are cached under embeddings/cache/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval_dev import judge  # noqa: E402
from evallib import (  # noqa: E402
    EVAL_DIR, CachedEmbedder, Passage, Question, contains_gold, dev_questions, passage_ranking, qa_passages,
    qa_questions, ranking_metrics, rrf,
)

from rag.config import Config  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.ingest import ingest, to_document  # noqa: E402
from rag.lexical import tokenize  # noqa: E402
from rag.load import RawPage  # noqa: E402
from rag.pipeline import PaperTrail  # noqa: E402
from rag.retrieve import Retriever, cjk_share  # noqa: E402
from rag.split import split_document  # noqa: E402
from rag.types import PageMeta  # noqa: E402

SETS = ("dev", "xquad_zh", "xquad_en", "cmrc2018")
DEPTH = 100
"""Chunks fetched per system and question: enough for ten distinct passages."""


@dataclass
class Corpus:
    """One corpus indexed twice: our chunks (``index``) and generic LangChain chunks (``lc_keys``, ``lc_vectors``)."""

    index: Index
    lc_keys: list[str]
    lc_vectors: faiss.IndexFlatIP | None


def headline(title: str, titles: str) -> str | None:
    """The passage title used as the chunks' headline: ``all``, ``none``, or ``zh`` (only Chinese titles, since
    XQuAD's are English wiki page names, not headlines of the Chinese passage)."""
    keep = titles == "all" or titles == "zh" and cjk_share(title) >= 0.5
    return title or None if keep else None


def passage_index(passages: list[Passage], embedder: CachedEmbedder, config: Config, titles: str) -> Index:
    """Each passage cleaned and split by our code as one document; chunk ``source`` is the passage id."""
    index = Index(config.model, embedder.dim)
    docs, chunks = [], []
    for p in passages:
        sha = hashlib.sha256(p.text.encode()).hexdigest()
        doc = to_document(RawPage(Path(p.pid), p.text, PageMeta(), sha))
        for chunk in split_document(doc, config, first_id=len(chunks)):
            chunk.title = headline(p.title, titles)
            chunks.append(chunk)
        docs.append(doc)
    index.add(docs, chunks, embedder.encode_passages([c.embed_text() for c in chunks], progress=True))
    return index


def sample_index(sample_dir: Path, embedder: CachedEmbedder, config: Config) -> Index:
    """The sample pages through the real ingest; chunk ``source`` is the page file name."""
    index = Index(config.model, embedder.dim)
    ingest([sample_dir], index, embedder, config)
    return index


def langchain_corpus(passages: list[Passage], embedder: CachedEmbedder) -> tuple[list[str], faiss.IndexFlatIP]:
    """The generic baseline: default recursive splitter, no prompts, flat inner-product index."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    pieces = [(p.pid, piece) for p in passages for piece in splitter.split_text(p.text)]
    vectors = embedder.encode_plain([t for _, t in pieces])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return [k for k, _ in pieces], flat


def build_corpus(name: str, eval_dir: Path, embedder: CachedEmbedder, config: Config, titles: str,
                 langchain: bool) -> Corpus:
    if name == "dev":
        files = sorted(p for p in config.sample_dir.iterdir() if p.suffix in {".txt", ".md"})
        passages = [Passage(p.name, "", p.read_text(encoding="utf-8")) for p in files]
        index = sample_index(config.sample_dir, embedder, config)
    else:
        passages = qa_passages(eval_dir / f"{name}_corpus.jsonl")
        index = passage_index(passages, embedder, config, titles)
    return Corpus(index, *langchain_corpus(passages, embedder)) if langchain else Corpus(index, [], None)


def set_questions(name: str, eval_dir: Path, limit: int | None) -> list[Question]:
    if name == "dev":
        return dev_questions(eval_dir / "dev.jsonl", limit)
    if name.startswith("xquad"):
        return qa_questions(eval_dir / "xquad_zh.jsonl", name.rsplit("_", 1)[1], limit)
    return qa_questions(eval_dir / f"{name}.jsonl", "zh", limit)


def rank_all(corpus: Corpus, retriever: Retriever, q: Question, qvec: np.ndarray, plain: np.ndarray) -> dict[str, list[str]]:
    """Each system's passage ranking for one question."""
    index = corpus.index
    hits = retriever.search_vector(q.text, qvec, DEPTH)
    _, dense = index.vectors.search(qvec[None, :], DEPTH)
    dense_ids = [int(i) for i in dense[0] if i >= 0]
    scores = index.lexical.scores(tokenize(q.text))
    bm25_ids = [int(i) for i in np.argsort(-scores, kind="stable")[:DEPTH] if scores[i] > 0]
    source = [c.source for c in index.chunks]
    out = {
        "papertrail": passage_ranking(s for h in hits for s in (h.chunk.source, *(r.source for r in h.reprints))),
        "dense": passage_ranking(source[i] for i in dense_ids),
        "bm25": passage_ranking(source[i] for i in bm25_ids),
        "rrf": passage_ranking(source[i] for i in rrf([dense_ids, bm25_ids])),
    }
    if corpus.lc_vectors is not None:
        _, lc = corpus.lc_vectors.search(plain[None, :], DEPTH)
        out["langchain_default"] = passage_ranking(corpus.lc_keys[i] for i in lc[0] if i >= 0)
    return out


def answer_score(rag: PaperTrail, questions: list[Question]) -> dict[str, float]:
    """Share of questions answered right (dev: judge; else the answer contains a gold span) and abstention rate."""
    right = abstained = 0
    for q in tqdm(questions, desc="answers", leave=False):
        answer = rag.ask(q.text)
        abstained += answer.abstained
        if q.row.get("sources") is not None or q.row.get("unanswerable"):
            right += judge(q.row, answer) == "ok"
        else:
            right += not answer.abstained and contains_gold(answer.answer, q.answers)
    n = max(len(questions), 1)
    return {"answer": right / n, "abstain": abstained / n, "answered_n": len(questions)}


def evaluate_set(corpus: Corpus, questions: list[Question], embedder: CachedEmbedder, config: Config,
                 answers: int) -> dict[str, dict[str, float]]:
    """Metrics of every system on one set."""
    answerable = [q for q in questions if q.answerable]
    qvecs = embedder.encode_queries([q.text for q in answerable])
    plain = embedder.encode_plain([q.text for q in answerable]) if corpus.lc_vectors is not None else qvecs
    retriever = Retriever(corpus.index, embedder, config)
    rankings: dict[str, list[list[str]]] = {}
    for q, qv, pv in tqdm(list(zip(answerable, qvecs, plain)), desc="retrieval", leave=False):
        for system, ranking in rank_all(corpus, retriever, q, qv, pv).items():
            rankings.setdefault(system, []).append(ranking)
    golds = [q.gold for q in answerable]
    out = {s: {**ranking_metrics(r, golds), "n": len(golds)} for s, r in rankings.items()}
    if answers:
        out["papertrail"].update(answer_score(PaperTrail(corpus.index, config, embedder), questions[:answers]))
    return out


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


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    cols = ["recall@1", "recall@5", "recall@10", "mrr@10", "answer"]
    lines = []
    for name, systems in results.items():
        n = next(iter(systems.values()))["n"]
        lines += [f"\n{name} ({n} answerable questions)", f"{'system':<18}" + "".join(f"{c:>10}" for c in cols)]
        for system, m in systems.items():
            lines.append(f"{system:<18}" + "".join(f"{m[c]:>10.3f}" if c in m else f"{'':>10}" for c in cols))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--limit", type=int, default=None, help="questions per set")
    parser.add_argument("--answers", type=int, default=200, help="questions per set to answer with ask (0: none)")
    parser.add_argument("-c", "--config", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--titles", choices=["zh", "all", "none"], default="zh",
                        help="passage titles as chunk headlines: Chinese ones only (default), all, none")
    parser.add_argument("--no-langchain", action="store_true", help="skip the langchain_default baseline (its "
                        "corpus encoding is the slowest part on a fresh cache)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    config = Config(show_progress=True).with_(**parse_overrides(args.config))
    embedder = CachedEmbedder(config)
    results, corpora = {}, {}
    try:
        for name in args.sets:
            key = "xquad_zh" if name == "xquad_en" else name
            if key not in corpora:
                corpora[key] = build_corpus(key, args.eval_dir, embedder, config, args.titles,
                                             not args.no_langchain)
            questions = set_questions(name, args.eval_dir, args.limit)
            results[name] = evaluate_set(corpora[key], questions, embedder, config, args.answers)
            embedder.cache.flush()
    finally:
        embedder.cache.flush()
    print(json.dumps(results, indent=1) if args.json else table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
