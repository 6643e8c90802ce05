"""FAISS and Qdrant side by side: the same chunks and vectors, the same questions, the same top hits?

    .venv/bin/python scripts/bench_qdrant.py [--sets dev xquad_zh xquad_en] [--k 5] [--json]

Per set, the evaluation index (``scripts/eval.py``'s, cached) is copied into a Qdrant collection in local mode
(a temporary folder; the same vectors, ids and payload) and its BM25 terms into a Qdrant sparse-vector
collection, and every question is retrieved through
``Retriever.search_vector`` over each store (dense top 50 and BM25 fused, as the product asks). Reported: the
share of questions whose top hit and whose top ``k`` (in order) are the same chunks, recall@1 of the gold
passage with each store (over the answerable questions), and each store's search p50 per question (one at a
time; FAISS on one thread).
Local mode searches by brute force in NumPy, so its latency says nothing about a Qdrant server.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval import sample_index, set_questions  # noqa: E402
from evallib import EVAL_DIR, CachedEmbedder, percentile, qa_passages, passage_index  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.store import Index  # noqa: E402
from rag.store.qdrant_points import Location  # noqa: E402
from rag.store.qdrant_lexical import QdrantLexicalStore  # noqa: E402
from rag.store.qdrant_store import QdrantStore  # noqa: E402


def in_qdrant(index: Index, folder: Path, name: str) -> Index:
    """A copy of ``index`` whose dense vectors and BM25 terms are in new local-mode Qdrant collections (as
    ``papertrail migrate --to qdrant`` moves them)."""
    where = Location(path=folder)
    return index.moved_to(QdrantStore.create(index.dim, where, name, name),
                          QdrantLexicalStore.create(where, f"{name}_bm25", name))


def searched(store, queries: list) -> float:
    """p50 ms of the store's top-50 search, one question at a time."""
    ms = []
    for q in queries:
        t = time.perf_counter()
        store.search(q, 50)
        ms.append(1000 * (time.perf_counter() - t))
    return percentile(ms, 50)


def compare(index: Index, questions: list, embedder: CachedEmbedder, config: Config, k: int, folder: Path,
            name: str) -> dict[str, float]:
    other = in_qdrant(index, folder, name)
    queries = embedder.encode_queries([q.text for q in questions])
    runs = []
    for each in (index, other):
        retriever = Retriever(each, embedder, config)
        runs.append([[h.chunk.chunk_id for h in retriever.search_vector(q.text, v, k)] for q, v in zip(questions, queries)])
    gold = [set(q.gold) for q in questions]
    source = {c.chunk_id: c.source for c in index.chunks}
    recall = [float(np.mean([bool(r) and source[r[0]] in g for r, g in zip(run, gold) if g])) for run in runs]
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        latency = [searched(index.dense, queries), searched(other.dense, queries)]
    finally:
        faiss.omp_set_num_threads(threads)
    lexical = [Retriever(index, embedder, config).lexical_query(q.text)[1] for q in questions]
    latency += [searched(index.sparse, lexical), searched(other.sparse, lexical)]
    same_top = np.mean([a[:1] == b[:1] for a, b in zip(*runs)])
    same_k = np.mean([a == b for a, b in zip(*runs)])
    return {"questions": len(questions), "chunks": len(index), "same_top1": float(same_top), f"same_top{k}": float(same_k),
            "recall@1_faiss": recall[0], "recall@1_qdrant": recall[1], "dense_p50_ms_faiss": latency[0],
            "dense_p50_ms_qdrant": latency[1], "bm25_p50_ms_process": latency[2], "bm25_p50_ms_qdrant": latency[3]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=["dev", "xquad_zh", "xquad_en"], choices=["dev", "xquad_zh", "xquad_en"])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    config = Config(show_progress=False)
    embedder = CachedEmbedder(config)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            if name == "dev":
                index = sample_index(config.sample_dir, embedder, config)
            else:
                index = passage_index(qa_passages(args.eval_dir / "xquad_zh_corpus.jsonl"), embedder, config, "zh")
            rows[name] = compare(index, set_questions(name, args.eval_dir, None), embedder, config, args.k,
                                 Path(tmp) / name, name)
            if not args.json:
                r = rows[name]
                print(f"{name}: {r['questions']} questions over {r['chunks']} chunks: same top hit {r['same_top1']:.3f}, "
                      f"same top {args.k} {r[f'same_top{args.k}']:.3f}; R@1 FAISS {r['recall@1_faiss']:.3f}, Qdrant "
                      f"{r['recall@1_qdrant']:.3f}; dense search p50 {r['dense_p50_ms_faiss']:.2f} ms FAISS, "
                      f"{r['dense_p50_ms_qdrant']:.2f} ms Qdrant local mode; BM25 search p50 "
                      f"{r['bm25_p50_ms_process']:.2f} ms in process, {r['bm25_p50_ms_qdrant']:.2f} ms Qdrant local mode",
                      flush=True)
    embedder.cache.flush()
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
