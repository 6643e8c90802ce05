"""Dense search at archive scale on vectors grown from real passages: flat vs HNSW vs IVF, one run.

    .venv/bin/python scripts/bench_ann.py [--sizes 10000 100000 1000000] [--queries 50] [--skip hnsw] [--json]

Real vectors: every chunk and page-sentence vector of the evaluation indexes that ``scripts/eval.py`` caches
under ``embeddings/cache/index`` (CMRC 2018, DRCD, XQuAD passages embedded by the shipped model; run eval.py
once first). Questions: the bench mix (``scripts/bench.py``: dev, then XQuAD zh and en alternately), encoded now.

Growth beyond the real vectors (``grow``): the real vectors are clustered (k-means, ``CLUSTERS``), and each new
vector is its cluster's centroid plus the mean of two residuals drawn from members of that cluster, scaled by
√2 to keep the residual's spread, then normalised. New vectors therefore keep where real text sits (topics, in
the same proportions) and how it spreads around each topic, without being near-copies of one real vector (a
noisy copy of one vector is a near-tie that no approximate search can order, which made the earlier table
pessimistic). The first vectors of every size are the real ones.

Per size, index type and search setting (``SWEEP``): build seconds (train + add), search p50 ms for one question at
a time on one thread, recall@10 against exact (flat) search, and bytes per vector held by the index.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evallib import CACHE_DIR, EVAL_DIR, percentile  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.embed import Embedder  # noqa: E402

CLUSTERS = 256
SEED = 20261201
TRAIN = 100_000
"""IVF centroids are trained on this many vectors at most (FAISS advises 30–256 per list)."""


def real_vectors(folder: Path = CACHE_DIR / "index") -> np.ndarray:
    """The unique chunk and sentence vectors of the cached evaluation indexes (unit rows, float32)."""
    parts = []
    for manifest in sorted(folder.glob("*/v*/manifest.json")) + sorted(folder.glob("*/manifest.json")):
        version = manifest.parent
        index = faiss.read_index(str(version / "vectors.faiss"))
        parts.append(index.reconstruct_n(0, index.ntotal))
        if (version / "sentence_vectors.npz").is_file():
            with np.load(version / "sentence_vectors.npz", allow_pickle=False) as z:
                parts.append(z["vectors"].astype(np.float32))
    if not parts:
        raise SystemExit(f"error: no cached evaluation index under {folder}; run scripts/eval.py once first")
    vectors = np.unique(np.round(np.vstack(parts), 4), axis=0).astype(np.float32)
    vectors = vectors[np.random.default_rng(SEED).permutation(len(vectors))]  # unique() sorted them
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def grow(real: np.ndarray, n: int, seed: int = SEED) -> np.ndarray:
    """``n`` unit vectors: the real ones first, then new ones drawn cluster by cluster (module docstring)."""
    if n <= len(real):
        return real[:n].copy()
    rng = np.random.default_rng(seed)
    kmeans = faiss.Kmeans(real.shape[1], CLUSTERS, niter=20, seed=seed, spherical=True)
    kmeans.train(real)
    _, labels = kmeans.index.search(real, 1)
    labels = labels.ravel()
    members = [np.flatnonzero(labels == k) for k in range(CLUSTERS)]
    sizes = np.array([len(m) for m in members], dtype=np.float64)
    extra = n - len(real)
    picks = rng.choice(CLUSTERS, size=extra, p=sizes / sizes.sum())
    out = np.empty((n, real.shape[1]), np.float32)
    out[: len(real)] = real
    row = len(real)
    for k in np.flatnonzero(sizes):
        count = int((picks == k).sum())
        if not count:
            continue
        centre = kmeans.centroids[k]
        a, b = (real[rng.choice(members[k], count)] - centre for _ in range(2))
        out[row : row + count] = centre + (a + b) / np.sqrt(2)
        row += count
    out[len(real) :] = out[len(real) :][rng.permutation(extra)]
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def index_types(n: int, dim: int) -> dict[str, faiss.Index]:
    """The candidates: exact flat, HNSW (32 links), IVF-Flat and IVF-SQ8 (4√n lists, at most 4096)."""
    hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    nlist = min(4096, max(1, int(4 * np.sqrt(n))))
    out: dict[str, faiss.Index] = {"flat": faiss.IndexFlatIP(dim), "hnsw32": hnsw}
    for name, kind in (("ivf", None), ("ivf-sq8", faiss.ScalarQuantizer.QT_8bit)):
        quantizer = faiss.IndexFlatIP(dim)
        index = (faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT) if kind is None else
                 faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, kind, faiss.METRIC_INNER_PRODUCT))
        out[f"{name}{nlist}"] = index
    return out


def index_bytes(index: faiss.Index) -> int:
    """Bytes of the serialised index (what it holds in memory, within a few percent)."""
    return int(faiss.serialize_index(index).nbytes)


SWEEP = {"hnsw": ("efSearch", (64, 256)), "ivf": ("nprobe", (16, 64, 256))}
"""Search-time settings tried on each built index: recall bought back with time."""


def set_search(index: faiss.Index, name: str, value: int) -> None:
    if name == "efSearch":
        index.hnsw.efSearch = value
    else:
        index.nprobe = value


def search_timed(index: faiss.Index, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Per-question search times (ms) and the top 10 of every question."""
    ms = []
    threads = faiss.omp_get_max_threads()
    # one question at a time on one thread, as a server searches: FAISS's OpenMP team costs more than it gives
    # for one query on a busy machine (flat, 10,000 vectors: p50 24 ms on 2 threads, 1.5 ms on one, load 8)
    faiss.omp_set_num_threads(1)
    for q in queries:
        t = time.perf_counter()
        index.search(q[None, :], 10)
        ms.append(1000 * (time.perf_counter() - t))
    faiss.omp_set_num_threads(threads)
    return ms, index.search(queries, 10)[1]


def measure(vectors: np.ndarray, queries: np.ndarray, skip: tuple[str, ...] = (), seed: int = SEED) -> dict[str, dict]:
    """Build, search and recall@10 vs flat of each index type over ``vectors`` (but those whose names start with
    one of ``skip``), at each ``SWEEP`` setting."""
    out: dict[str, dict] = {}
    truth = None
    rng = np.random.default_rng(seed)
    for name, index in index_types(len(vectors), vectors.shape[1]).items():
        if name != "flat" and name.startswith(skip):
            continue
        started = time.perf_counter()
        if not index.is_trained:
            index.train(vectors[rng.choice(len(vectors), min(TRAIN, len(vectors)), replace=False)])
        index.add(vectors)
        build = time.perf_counter() - started
        setting, values = next((v for k, v in SWEEP.items() if name.startswith(k)), (None, (None,)))
        for value in values:
            if setting:
                set_search(index, setting, value)
            ms, ids = search_timed(index, queries)
            if truth is None:
                truth = ids
            recall = float(np.mean([len(set(a) & set(t)) / 10 for a, t in zip(ids, truth)]))
            out[f"{name} {setting}={value}" if setting else name] = {
                "build_s": build, "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "recall@10": recall,
                "bytes_per_vector": index_bytes(index) / len(vectors)}
        del index
        gc.collect()
    return out


def scale_parser(doc: str, sizes: list[int]) -> argparse.ArgumentParser:
    """The arguments every benchmark over grown vectors takes: --sizes, --queries, --eval-dir, --json."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = scale_parser(__doc__, [10_000, 100_000, 1_000_000])
    parser.add_argument("--skip", nargs="*", default=[], choices=["hnsw", "ivf"],
                        help="index types not to build (flat is always built: it is the truth)")
    args = parser.parse_args(argv)
    from bench import questions

    real = real_vectors()
    queries = Embedder(Config(show_progress=False)).encode_queries(questions(args.eval_dir, args.queries))
    started = time.perf_counter()
    pool = grow(real, max(args.sizes))
    rows = {"real_vectors": len(real), "grow_s": time.perf_counter() - started, "sizes": {}}
    for n in args.sizes:
        rows["sizes"][n] = measure(pool[:n], queries, tuple(args.skip))
        if not args.json:
            print(f"{n:>9} vectors ({min(n, len(real))} real)")
            for name, r in rows["sizes"][n].items():
                print(f"  {name:<22} build {r['build_s']:7.1f} s  p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms"
                      f"  recall@10 {r['recall@10']:.3f}  {r['bytes_per_vector']:6.0f} B/vector", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
