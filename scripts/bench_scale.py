"""Retrieval through the shipped stores at archive scale: FAISS as ``Layout`` picks it, BM25 over sparse matches.

    .venv/bin/python scripts/bench_scale.py [--sizes 100000 1000000] [--queries 50] [--json]

Per size, the dense store (``FaissStore``, default ``Layout``: exact under 200,000 chunks, IVF above) is grown by
adding 50,000 chunks at a time, as ingest adds pages, so the build time includes every retraining the layout
does on the way. The lexical store holds real BM25 rows. A question is retrieved as ``rag.retrieve.Retriever``
does it: the dense store's and the lexical store's top ``Config.candidates``, then both scores of their union,
fused. One question at a time, FAISS on one thread (as a loaded server searches).

Data: dense vectors are ``scripts/bench_ann.py``'s (the cached evaluation vectors, grown cluster by cluster);
lexical rows are the term counts of the cached evaluation indexes (CMRC 2018, XQuAD, the sample pages), repeated
in a seeded order to the size, so every term's document frequency grows with the archive as it would in a
paper's own archive (the vocabulary, which would grow too, stays that of the real chunks: the posting lists
are as long as they can be). Questions: the bench mix, encoded and tokenised now.

Reported: build seconds, retrieve p50/p95 ms (and its dense, lexical and fusion parts), dense recall@10 against
exact search over the same vectors, bytes per chunk of the FAISS index and of the BM25 rows.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ann import SEED, grow, index_bytes, real_vectors, scale_parser  # noqa: E402
from evallib import CACHE_DIR, percentile  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.embed import Embedder  # noqa: E402
from rag.lexical import BM25, tokenize  # noqa: E402
from rag.retrieve import fuse  # noqa: E402
from rag.store import FaissStore, Layout, LexicalQuery, LexicalStore  # noqa: E402
from rag.store.payload import Payload  # noqa: E402
from rag.types import PageMeta  # noqa: E402

BATCH = 50_000


def real_counts(folder: Path = CACHE_DIR / "index") -> tuple[dict[str, int], sparse.csr_matrix]:
    """The BM25 term counts of the cached evaluation indexes, each distinct one once, over one vocabulary."""
    vocab: dict[str, int] = {}
    parts, seen = [], set()
    for manifest in sorted(folder.glob("*/v*/manifest.json")) + sorted(folder.glob("*/manifest.json")):
        version = manifest.parent
        terms = json.loads((version / "lexical_vocab.json").read_text(encoding="utf-8"))
        with np.load(version / "lexical.npz", allow_pickle=False) as z:
            counts = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        key = (len(terms), counts.nnz)
        if key in seen:
            continue
        seen.add(key)
        columns = np.array([vocab.setdefault(t, len(vocab)) for t in terms], dtype=np.int64)
        parts.append(sparse.csr_matrix((counts.data, columns[counts.indices], counts.indptr),
                                       shape=(counts.shape[0], 0 if not len(columns) else int(columns.max()) + 1)))
    if not parts:
        raise SystemExit(f"error: no cached evaluation index under {folder}; run scripts/eval.py once first")
    for p in parts:
        p.resize((p.shape[0], len(vocab)))
    return vocab, sparse.vstack(parts, format="csr")


def lexical_store(vocab: dict[str, int], real: sparse.csr_matrix, n: int, meta: list[PageMeta]) -> LexicalStore:
    rows = np.random.default_rng(SEED).permutation(np.resize(np.arange(real.shape[0]), n))
    return LexicalStore(BM25(vocab, real[rows]), Payload.of(np.arange(n), meta))


def retrieve(dense: FaissStore, lexical: LexicalStore, query: np.ndarray, tokens: LexicalQuery, k: int,
             weight: float) -> tuple[list[int], list[float]]:
    """Retriever's store calls for one question: both top-k lists, both scores of their union, fused; the
    ranking and the three parts' times (ms)."""
    t0 = time.perf_counter()
    ids = [i for i, _ in dense.search(query, k)]
    t1 = time.perf_counter()
    ids = list(dict.fromkeys(ids + [i for i, _ in lexical.search(tokens, k)]))
    t2 = time.perf_counter()
    fused = fuse(dense.score(query, ids), lexical.score(tokens, ids), weight)
    ranking = [ids[i] for i in np.argsort(-fused, kind="stable")]
    t3 = time.perf_counter()
    return ranking, [1000 * (t1 - t0), 1000 * (t2 - t1), 1000 * (t3 - t2)]


def measure(vectors: np.ndarray, vocab: dict[str, int], counts: sparse.csr_matrix, queries: np.ndarray,
            tokens: list[LexicalQuery], config: Config) -> dict[str, float]:
    n = len(vectors)
    meta = [PageMeta(None, None, None)] * n
    ids = np.arange(n)
    started = time.perf_counter()
    dense = FaissStore(vectors.shape[1])
    for lo in range(0, n, BATCH):
        dense.add(ids[lo : lo + BATCH], vectors[lo : lo + BATCH], meta[lo : lo + BATCH])
    dense_build = time.perf_counter() - started
    started = time.perf_counter()
    lexical = lexical_store(vocab, counts, n, meta)
    lexical_build = time.perf_counter() - started
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    parts, recalls = [], []
    try:
        for q, lq in zip(queries, tokens):
            _, times = retrieve(dense, lexical, q, lq, config.candidates, config.lexical_weight)
            parts.append(times)
            truth = set(exact.search(q[None, :], 10)[1][0])
            recalls.append(len({i for i, _ in dense.search(q, 10)} & truth) / 10)
    finally:
        faiss.omp_set_num_threads(threads)
    parts_ = np.array(parts)
    total = parts_.sum(axis=1)
    c = lexical.bm25.counts
    row = {"layout": "flat" if dense.lists is None else f"IVF{dense.lists} nprobe {dense.index.nprobe}",
           "dense_build_s": dense_build, "bm25_build_s": lexical_build,
           "retrieve_p50_ms": percentile(total, 50), "retrieve_p95_ms": percentile(total, 95),
           "dense_p50_ms": percentile(parts_[:, 0], 50), "bm25_p50_ms": percentile(parts_[:, 1], 50),
           "fusion_p50_ms": percentile(parts_[:, 2], 50), "dense_recall@10": float(np.mean(recalls)),
           "faiss_bytes_per_chunk": index_bytes(dense.index) / n,
           "bm25_bytes_per_chunk": (c.data.nbytes + c.indices.nbytes + c.indptr.nbytes) / n}
    del dense, lexical, exact
    gc.collect()
    return row


def main(argv: list[str] | None = None) -> int:
    args = scale_parser(__doc__, [100_000, 1_000_000]).parse_args(argv)
    from bench import questions

    config = Config(show_progress=False)
    asked = questions(args.eval_dir, args.queries)
    queries = Embedder(config).encode_queries(asked)
    tokens = [LexicalQuery(tuple(tokenize(q))) for q in asked]
    vocab, counts = real_counts()
    pool = grow(real_vectors(), max(args.sizes))
    rows = {"real_chunks_bm25": counts.shape[0], "default": asdict(Layout()), "sizes": {}}
    for n in args.sizes:
        r = rows["sizes"][n] = measure(pool[:n], vocab, counts, queries, tokens, config)
        if not args.json:
            print(f"{n:>9} chunks: {r['layout']}, built in {r['dense_build_s']:.1f} s (BM25 {r['bm25_build_s']:.1f} s)\n"
                  f"  retrieve p50 {r['retrieve_p50_ms']:.2f} ms, p95 {r['retrieve_p95_ms']:.2f} ms (dense "
                  f"{r['dense_p50_ms']:.2f}, BM25 {r['bm25_p50_ms']:.2f}, fusion {r['fusion_p50_ms']:.2f} at p50)\n"
                  f"  dense recall@10 {r['dense_recall@10']:.3f}; {r['faiss_bytes_per_chunk']:.0f} B/chunk FAISS, "
                  f"{r['bm25_bytes_per_chunk']:.0f} B/chunk BM25", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
