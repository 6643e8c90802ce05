"""Retrieval and answer quality of PaperTrail against baselines, side by side, on every eval set.

    .venv/bin/python scripts/eval.py [--eval-dir ../shared/eval] [--sets dev xquad_zh xquad_en cmrc2018]
        [--limit N] [--answers N] [--protocol 200] [-c chunk_size=300 ...] [--titles zh|all|none] [--json]

By default every question of every set is asked, and the answerability protocol runs after the sets.

Systems, all through one harness (passage-level Recall@1/5/10 and MRR@10; chunk hits map to their passage,
each passage kept at its best rank):
  papertrail         our clean/split/embed/index/Retriever as configured (``-c`` overrides Config fields)
  dense              FAISS over the same chunks and e5-prompted vectors
  bm25               jieba BM25 over the same chunks
  rrf                reciprocal-rank fusion (k=60) of dense and bm25
  langchain_default  RecursiveCharacterTextSplitter(1000, 200), plain ``encode`` (no prompts), FAISS flat
``answer`` (answer level) is the share of questions whose extractive answer contains a gold span AND cites the
gold passage (dev: eval_dev's judge, unanswerable questions included); refusals count as wrong. ``evidence``
is the same over the answerable questions with the decision made to answer: what the evidence gets right, the
refusals aside (``answer`` can reach it only by never refusing). ``short_given``
is the share of answerable questions answered with a short answer, ``short_precision`` the share of those that
contain a gold span or lie inside one. The answerability protocol indexes the even-numbered passages of
CMRC 2018 and XQuAD-zh and asks 200 questions whose passage is indexed and 200 whose passage is not (zh, and
XQuAD's en questions). Embeddings and eval indexes are cached under embeddings/cache/.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval_dev import judge  # noqa: E402
from evallib import (  # noqa: E402
    EVAL_DIR, CachedEmbedder, Passage, Question, contains_gold, dev_questions, parse_overrides, passage_index,
    passage_ranking, qa_passages, qa_questions, ranking_metrics, rrf, short_right,
)

from rag.config import Config  # noqa: E402
from rag.store import Index, LexicalQuery  # noqa: E402
from rag.ingest import ingest  # noqa: E402
from rag.lexical import tokenize  # noqa: E402
from rag.pipeline import PaperTrail  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402

SETS = ("dev", "xquad_zh", "xquad_en", "cmrc2018")
PROTOCOLS = (("cmrc2018", "zh"), ("xquad_zh", "zh"), ("xquad_zh", "en"))
PROTOCOL_SEED = 2018
DEPTH = 100
"""Chunks fetched per system and question: enough for ten distinct passages."""


@dataclass
class Corpus:
    """One corpus indexed twice: our chunks (``index``) and generic LangChain chunks (``lc_keys``, ``lc_vectors``)."""

    index: Index
    lc_keys: list[str]
    lc_vectors: faiss.IndexFlatIP | None


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
    dense_ids = [i for i, _ in index.dense.search(qvec, DEPTH)]
    bm25_ids = [i for i, s in index.sparse.search(LexicalQuery(tuple(tokenize(q.text))), DEPTH) if s > 0]
    source = {i: index.chunk(i).source for i in {*dense_ids, *bm25_ids}}
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


def judged(rag: PaperTrail, q: Question) -> tuple[bool, float, str | None, bool, bool]:
    """Ask one question: whether the answer is right (contains a gold span and cites a gold passage, or, for an
    unanswerable question, is a refusal without citations), the decision's confidence, the short answer, whether
    it abstained, and whether the answer it would give if it answered is right (the evidence, the decision aside)."""
    decision = rag.decide(q.text)
    right, short, abstained = judge_decision(rag, q, decision)
    forced = right if decision.answer or not decision.evidence else judge_decision(
        rag, q, replace(decision, answer=True))[0]
    return right, decision.confidence, short, abstained, forced


def judge_decision(rag: PaperTrail, q: Question, decision) -> tuple[bool, str | None, bool]:
    """Whether the answer given for ``decision`` is right, its short answer, and whether it abstained."""
    answer = rag.extractive(q.text, decision)
    if q.row.get("sources") is not None or q.row.get("unanswerable"):
        right = judge(q.row, answer) == "ok"
    elif not q.answerable:
        right = answer.abstained and not answer.citations
    else:
        right = not answer.abstained and contains_gold(answer.answer, q.answers) and bool(cited(answer) & q.gold)
    return right, answer.short_answer, answer.abstained


def cited(answer) -> set[str]:
    """Sources an answer cites, reprints and continuations included."""
    return {c.source for c in answer.citations} | {a["source"] for c in answer.citations for a in c.also}


def answer_score(rag: PaperTrail, questions: list[Question]) -> dict[str, float]:
    """Answer level (right and cited; dev: eval_dev's judge, unanswerable included), abstention rate, the answer
    level of the answerable questions with the decision made to answer (``evidence``), and the short answers given
    on answerable questions and their precision."""
    right = abstained = short_given = short_ok = evidence = 0
    for q in tqdm(questions, desc="answers", leave=False):
        ok, _, short, refused, forced = judged(rag, q)
        right += ok
        abstained += refused
        evidence += forced and q.answerable
        if short and not refused and q.answerable:
            short_given += 1
            short_ok += short_right(short, q.answers)
    n = max(len(questions), 1)
    answerable = max(sum(q.answerable for q in questions), 1)
    return {"answer": right / n, "abstain": abstained / n, "answered_n": len(questions),
            "evidence": evidence / answerable,
            "short_given": short_given / answerable,
            **({"short_precision": short_ok / short_given} if short_given else {})}  # none given: no precision


def protocol(name: str, lang: str, eval_dir: Path, embedder: CachedEmbedder, config: Config, titles: str,
             per_side: int, thresholds: list[float]) -> dict:
    """The answerability protocol: index the even-numbered passages; ask ``per_side`` questions whose passage is
    indexed and ``per_side`` whose passage is not (fixed seed); answerable right+cited and unanswerable refused,
    at the shipped operating point and along the confidence trade-off curve."""
    passages = qa_passages(eval_dir / f"{name}_corpus.jsonl")
    index = passage_index(passages, embedder, config, titles)
    odd = {p.pid for i, p in enumerate(passages) if i % 2}
    index.remove(odd)
    pool = qa_questions(eval_dir / f"{name}.jsonl", lang)
    rng = random.Random(PROTOCOL_SEED)
    inside = rng.sample([q for q in pool if not q.gold & odd], per_side)
    outside = [replace(q, gold=set()) for q in rng.sample([q for q in pool if q.gold & odd], per_side)]
    rag = PaperTrail(index, config, embedder)
    rows = []
    for q in tqdm(inside + outside, desc=f"protocol {name} {lang}", leave=False):
        shipped, confidence, _, _, forced = judged(rag, q)
        forced = forced if q.answerable else True
        rows.append((q.answerable, shipped, confidence, forced))
    ans = [r for r in rows if r[0]]
    una = [r for r in rows if not r[0]]
    curve = [(t, sum(f and c >= t for _, _, c, f in ans) / len(ans), sum(c < t for _, _, c, _ in una) / len(una))
             for t in thresholds]
    return {"answerable_right": sum(r[1] for r in ans) / len(ans), "unanswerable_refused": sum(r[1] for r in una) / len(una),
            "n": len(rows), "curve": curve}


def evaluate_set(corpus: Corpus, questions: list[Question], embedder: CachedEmbedder, config: Config,
                 answers: int | None) -> dict[str, dict[str, float]]:
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
    if answers != 0:
        out["papertrail"].update(answer_score(PaperTrail(corpus.index, config, embedder), questions[:answers]))
    return out


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    cols = ["recall@1", "recall@5", "recall@10", "mrr@10", "evidence", "answer", "abstain", "short_given",
            "short_precision"]
    lines = []
    for name, systems in results.items():
        n = next(iter(systems.values()))["n"]
        answered = systems["papertrail"].get("answered_n")
        head = f"\n{name} ({n} answerable questions" + (f"; answers judged on {answered})" if answered else ")")
        lines += [head, f"{'system':<18}" + "".join(f"{c:>16}" for c in cols)]
        for system, m in systems.items():
            lines.append(f"{system:<18}" + "".join(f"{m[c]:>16.3f}" if c in m else f"{'':>16}" for c in cols))
    return "\n".join(lines)


def protocol_table(results: dict[str, dict]) -> str:
    lines = ["\nAnswerability protocol (even-numbered passages indexed; questions drawn with seed "
             f"{PROTOCOL_SEED}; operating point fitted on DRCD)",
             f"{'set':<18}{'answerable right+cited':>24}{'unanswerable refused':>24}"]
    for name, r in results.items():
        lines.append(f"{name:<18}{r['answerable_right']:>24.3f}{r['unanswerable_refused']:>24.3f}")
    for name, r in results.items():
        lines.append(f"\ntrade-off {name}: threshold → answerable right+cited / unanswerable refused")
        lines += [f"  {t:.2f}  {a:.3f} / {u:.3f}" for t, a, u in r["curve"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--limit", type=int, default=None, help="questions per set (default: all)")
    parser.add_argument("--answers", type=int, default=None,
                        help="questions per set to answer with the answer stage (default: all; 0: none)")
    parser.add_argument("--protocol", type=int, default=200,
                        help="questions per side of the answerability protocol (0: skip it)")
    parser.add_argument("-c", "--config", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--titles", choices=["zh", "all", "none"], default="zh",
                        help="passage titles as chunk headlines: Chinese ones only (default), all, none")
    parser.add_argument("--no-langchain", action="store_true", help="skip the langchain_default baseline (its "
                        "corpus encoding is the slowest part on a fresh cache)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    config = Config(show_progress=True).with_(**parse_overrides(args.config))
    embedder = CachedEmbedder(config)
    results, corpora, protocols = {}, {}, {}
    try:
        for name in args.sets:
            key = "xquad_zh" if name == "xquad_en" else name
            if key not in corpora:
                corpora[key] = build_corpus(key, args.eval_dir, embedder, config, args.titles,
                                             not args.no_langchain)
            questions = set_questions(name, args.eval_dir, args.limit)
            results[name] = evaluate_set(corpora[key], questions, embedder, config, args.answers)
            embedder.cache.flush()
        thresholds = [round(t, 2) for t in np.arange(0.1, 0.95, 0.1)]
        for name, lang in PROTOCOLS if args.protocol else ():
            protocols[f"{name}/{lang}"] = protocol(name, lang, args.eval_dir, embedder, config, args.titles,
                                                   args.protocol, thresholds)
    finally:
        embedder.cache.flush()
    if args.json:
        print(json.dumps({"sets": results, "protocol": protocols}, indent=1))
    else:
        print(table(results) + (protocol_table(protocols) if protocols else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
