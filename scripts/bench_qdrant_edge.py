"""Qdrant's own engine at archive scale: HNSW search latency and recall@10 at 10⁵ and 10⁶ chunks, one run.

    .venv/bin/pip install qdrant-edge-py==0.9.0      # the embedded Qdrant engine (not a product dependency)
    .venv/bin/python scripts/bench_qdrant_edge.py [--sizes 100000 1000000] [--queries 50] [--json]

qdrant-client's local mode (what the tests and ``--qdrant-path`` use) scores every point in NumPy, so it says
nothing about a Qdrant server. ``qdrant-edge-py`` is Qdrant's storage and search engine (segments, the HNSW
graph, payload indexes) in-process: what one shard of a server does, without its network and request handling.

Vectors and questions are ``scripts/bench_ann.py``'s: real chunk and sentence vectors of the evaluation indexes,
grown by cluster-preserving resampling, and the bench question mix. Every point gets a payload like
``QdrantStore``'s (``paper``: one of 100 papers, ``day``: a date over ten years), with keyword and integer
payload indexes. Per size: build seconds (upsert, then ``optimize()`` building the HNSW graph, m 16,
ef_construct 100 as Qdrant's defaults), search p50/p95 ms for one question at a time, and recall@10 against exact
search (FAISS flat), for a few ``hnsw_ef``; then the same with a filter on one paper (1% of the points), against
exact filtered search.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ann import grow, real_vectors, scale_parser  # noqa: E402
from evallib import percentile  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.embed import Embedder  # noqa: E402

EFS = (64, 128, 256, 512)
PAPERS = 100
BATCH = 2_000


def edge():
    try:
        import qdrant_edge
    except ImportError as err:
        raise SystemExit("error: pip install qdrant-edge-py==0.9.0 (the embedded Qdrant engine)") from err
    return qdrant_edge


def payload(i: int) -> dict:
    """The payload of point ``i``: a paper and a day, as ``QdrantStore`` writes them."""
    return {"paper": f"paper-{i % PAPERS}", "day": 20160101 + (i * 7919) % 3650}


def build(folder: Path, vectors: np.ndarray):
    """A shard holding ``vectors`` with their payload and payload indexes, optimised (HNSW built)."""
    q = edge()
    config = q.EdgeConfig(vectors=q.EdgeVectorParams(vectors.shape[1], q.Distance.Dot),
                          hnsw_config=q.HnswIndexConfig(m=16, ef_construct=100, full_scan_threshold=10_000))
    shard = q.EdgeShard.create(str(folder), config)
    shard.update(q.UpdateOperation.create_field_index("paper", q.PayloadSchemaType.Keyword))
    shard.update(q.UpdateOperation.create_field_index("day", q.PayloadSchemaType.Integer))
    for start in range(0, len(vectors), BATCH):
        points = [q.Point(start + j, v.tolist(), payload(start + j))
                  for j, v in enumerate(vectors[start:start + BATCH])]
        shard.update(q.UpdateOperation.upsert_points(points))
    shard.optimize()
    return shard


def searched(shard, queries: np.ndarray, ef: int, paper: str | None) -> tuple[list[float], list[list[int]]]:
    """Per-question ms and top-10 ids, one question at a time."""
    q = edge()
    where = q.Filter(must=[q.FieldCondition("paper", match=q.MatchValue(paper))]) if paper else None
    ms, ids = [], []
    for vector in queries:
        request = q.SearchRequest(q.Query.Nearest(vector.tolist()), 10, filter=where,
                                  params=q.SearchParams(hnsw_ef=ef))
        started = time.perf_counter()
        found = shard.search(request)
        ms.append(1000 * (time.perf_counter() - started))
        ids.append([int(p.id) for p in found])
    return ms, ids


def exact(vectors: np.ndarray, queries: np.ndarray, rows: np.ndarray | None = None) -> list[list[int]]:
    """Exact top-10 ids (inner product) over ``vectors`` (only ``rows``, when given)."""
    ids = np.arange(len(vectors)) if rows is None else rows
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors[ids])
    return [[int(ids[j]) for j in row if j >= 0] for row in flat.search(queries, 10)[1]]


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    return float(np.mean([len(set(a) & set(t)) / max(len(t), 1) for a, t in zip(found, truth)]))


def measure(vectors: np.ndarray, queries: np.ndarray) -> dict:
    with tempfile.TemporaryDirectory(prefix="edge-") as folder:
        started = time.perf_counter()
        shard = build(Path(folder), vectors)
        out = {"build_s": time.perf_counter() - started, "settings": {}}
        paper = "paper-7"
        truth = {None: exact(vectors, queries),
                 paper: exact(vectors, queries, np.arange(7, len(vectors), PAPERS))}
        for where in (None, paper):
            for ef in EFS:
                ms, ids = searched(shard, queries, ef, where)
                out["settings"][f"{'filtered ' if where else ''}hnsw_ef={ef}"] = {
                    "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "recall@10": recall(ids, truth[where])}
        shard.close()
    return out


def main(argv: list[str] | None = None) -> int:
    args = scale_parser(__doc__, [100_000, 1_000_000]).parse_args(argv)
    edge()
    from bench import questions

    queries = Embedder(Config(show_progress=False)).encode_queries(questions(args.eval_dir, args.queries))
    pool = grow(real_vectors(), max(args.sizes))
    rows = {}
    for n in args.sizes:
        rows[n] = measure(pool[:n], queries)
        if not args.json:
            print(f"{n:>9} vectors: build {rows[n]['build_s']:.1f} s", flush=True)
            for name, r in rows[n]["settings"].items():
                print(f"  {name:<22} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  recall@10 {r['recall@10']:.3f}",
                      flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
