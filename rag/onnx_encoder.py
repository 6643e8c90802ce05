"""Sentence vectors through ONNX Runtime: the sentence-transformers model exported once, run without torch.

``export`` writes the model (transformer, pooling, normalisation) as one ONNX graph from token vectors on,
fused by ONNX Runtime's transformer optimizer where the architecture allows; the word-vector table beside it
(``words.npy``, memory-mapped: a question reads only its tokens' rows, where a graph holding the table made every
start read it whole, 384 of the 470 MB); the tokenizer and a small ``encoder.json``. It needs torch and
sentence-transformers, and runs once (``ensure_onnx``). The int8 copy (dynamic quantisation of
the weights) is made from that graph only when the ``onnx-int8`` encoder is chosen. ``OnnxEncoder`` then needs
only ``onnxruntime`` and ``tokenizers``: answering a question imports neither torch nor transformers, and batches
run faster than torch on a CPU (``scripts/bench.py``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

log = logging.getLogger(__name__)

FORMAT = 2
"""Bumped when the exported files change, so older exports are rebuilt (2: the word vectors out of the graph)."""
FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx", "openvino": "model.onnx", "openvino-bf16": "model.onnx"}
"""Encoder backend name → its graph in the export folder (``torch`` is sentence-transformers itself);
``openvino`` runs the fp32 graph on OpenVINO's runtime instead of ONNX Runtime, in fp32; ``openvino-bf16`` runs
it in bfloat16 where the CPU computes in it natively (AMX, AVX-512 BF16), else in fp32."""
PRECISIONS = {"openvino": "f32", "openvino-bf16": "bf16"}
"""OpenVINO's inference precision per backend, always set: left unset, it computes in bf16 wherever the CPU can,
so the same graph gave other vectors on other machines (max difference 8e-4 against 1e-4 on CPUs without it)."""
MANIFEST = "encoder.json"
WORDS = "words.npy"


def export(source: str, out: Path) -> None:
    """Export the sentence-transformers model ``source`` (a name or a folder) into the empty folder ``out``: the
    fp32 graph, the tokenizer and ``encoder.json``."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(source, device="cpu", model_kwargs={"attn_implementation": "eager"})

    class Whole(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model({"inputs_embeds": inputs_embeds, "attention_mask": attention_mask})["sentence_embedding"]

    model.tokenizer.save_pretrained(str(out))
    if not (out / "tokenizer.json").is_file():
        raise ValueError(f"{source}: no fast tokenizer (tokenizer.json) to run the model without transformers")
    with warnings.catch_warnings():  # the tracer's advice on Python branches, not the user's concern
        warnings.simplefilter("ignore")
        write_graph(model, Whole().eval(), out)
    words = model[0].auto_model.get_input_embeddings().weight.detach().numpy().astype(np.float32)
    np.save(out / WORDS, words)
    manifest = {"format": FORMAT, "source": source, "dim": int(model.get_embedding_dimension()),
                "max_length": int(model.max_seq_length), "prompts": dict(model.prompts)}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@contextmanager
def quiet_root_logger() -> Iterator[None]:
    """ONNX Runtime's quantiser logs advice on the root logger; hold it to errors meanwhile."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def write_graph(model: Any, whole: Any, out: Path) -> None:
    """The fused fp32 graph of the sentence-transformers ``model`` (``whole``: it as one module)."""
    import torch

    raw = out / "raw.onnx"
    mask = torch.ones((2, 8), dtype=torch.long)
    vectors = torch.zeros((2, 8, int(model[0].auto_model.config.hidden_size)), dtype=torch.float32)
    with torch.no_grad():
        torch.onnx.export(whole, (vectors, mask), str(raw), dynamo=False, opset_version=17,
                          input_names=["inputs_embeds", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}})
    fuse(raw, out / FILES["onnx"], model[0].auto_model.config)
    raw.unlink()


def ensure_int8(folder: Path) -> Path:
    """The int8 copy of an export's fp32 graph (weights quantised per channel), made once, atomically."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = folder / FILES["onnx-int8"]
    if target.is_file():
        return target
    handle, name = tempfile.mkstemp(prefix=".int8.", suffix=".onnx", dir=folder)
    os.close(handle)
    try:
        with quiet_root_logger():
            quantize_dynamic(folder / FILES["onnx"], Path(name), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": 1})
        os.chmod(name, 0o644)
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)
    return target


def fuse(raw: Path, out: Path, config: object) -> None:
    """Fuse attention, layer norms and GELU (ONNX Runtime's BERT optimizer) where the graph allows; else copy."""
    try:
        from onnxruntime.transformers import optimizer

        fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=int(config.num_attention_heads),
                                         hidden_size=int(config.hidden_size), opt_level=1)
        fused.save_model_to_file(str(out))
    except Exception as error:  # noqa: BLE001 (an architecture the optimizer does not know: the plain graph runs)
        log.warning("ONNX graph not fused (%s); using it as exported", error)
        shutil.copy(raw, out)


def complete(folder: Path) -> bool:
    manifest = folder / MANIFEST
    return manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("format") == FORMAT


def ensure_onnx(source: str, target: Path, backend: str = "onnx") -> Path:
    """``target``, exported from ``source`` first when missing or stale, with the int8 copy when ``backend`` is
    ``onnx-int8``."""
    if not complete(target):
        export_into(source, target)
    if backend == "onnx-int8":
        ensure_int8(target)
    return target


def export_into(source: str, target: Path) -> None:
    """Export atomically: built in a sibling temporary folder and renamed into place; a complete export that
    another process finished first wins."""
    log.warning("exporting %s to ONNX in %s (once, about a minute)", source, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        export(source, tmp)
        if complete(target):
            return
        if target.exists():
            shutil.rmtree(target)
        tmp.chmod(0o755)  # mkdtemp's folder is owner-only
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def session(graph: Path, backend: str = "onnx", streams: bool = False) -> Any:
    """A CPU session over ``graph`` with ONNX Runtime's ``run``: OpenVINO's runtime for the ``openvino``
    backends (at their ``PRECISIONS``; with ``streams``, compiled for throughput, several requests at once, see
    ``OpenVinoSession.run_each``), else ONNX Runtime, whose idle threads sleep instead of spinning: the
    encoder and the reader run one after the other on the same cores, and a pool left spinning by one slowed the
    other by 1.7× (reader 95 → 56 ms at p50 on 2 cores, ``docs/benchmarks.md``)."""
    if backend in PRECISIONS:
        try:
            return OpenVinoSession(graph, PRECISIONS[backend], streams)
        except (ImportError, RuntimeError) as error:
            log.warning("OpenVINO cannot run %s (%s: %s); running it on ONNX Runtime", graph.name,
                        type(error).__name__, error)
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


class OpenVinoSession:
    """A graph (an ONNX file, or a model OpenVINO has read) compiled for OpenVINO's CPU runtime, run through
    ONNX Runtime's ``run(None, feed)``; a request per run, so threads may share it. A file's compiled form is
    cached beside it (``openvino-cache/<precision>``, ``<precision>-streams`` for a session compiled for
    throughput), so later starts skip most of the compiling.
    ``precision`` is ``f32`` or ``bf16``; bf16 where the CPU lacks it natively (emulated, slower) is f32."""

    def __init__(self, model: Path | Any, precision: str = "f32", streams: bool = False) -> None:
        import openvino

        core = openvino.Core()
        if "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            precision = "f32"
        self.precision = precision
        config: dict[str, Any] = {"PERFORMANCE_HINT": "THROUGHPUT" if streams else "LATENCY",
                                  "INFERENCE_PRECISION_HINT": precision}
        if isinstance(model, Path):
            # one folder per precision: the cache's key leaves the precision out, and a graph compiled in fp32
            # and loaded as bf16 computed NaN (and crashed the process at exit); blobs of the one shared folder
            # that versions before it wrote are removed
            cache = model.parent / "openvino-cache"
            for stale in cache.glob("*.blob"):
                stale.unlink(missing_ok=True)
            config["CACHE_DIR"] = str(cache / (precision + ("-streams" if streams else "")))
            model = str(model)
        self.compiled = core.compile_model(model, "CPU", config)

    def run(self, _outputs: None, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [self.compiled.create_infer_request().infer(feed)[0]]

    def run_each(self, feeds: Iterable[tuple[Any, dict[str, np.ndarray]]],
                 done: Callable[[Any, np.ndarray], None]) -> None:
        """Run each ``(key, feed)``, one request per stream in flight, and call ``done(key, output)`` as each
        finishes (in any order, on the runtime's threads); returns when all are done."""
        import openvino

        queue = openvino.AsyncInferQueue(self.compiled)
        queue.set_callback(lambda request, key: done(key, request.get_output_tensor(0).data.copy()))
        for key, feed in feeds:
            queue.start_async(feed, key)
        queue.wait_all()


class OnnxEncoder:
    """Normalised sentence vectors from an export folder, batched by length (little padding)."""

    def __init__(self, folder: Path, backend: str = "onnx") -> None:
        from tokenizers import Tokenizer

        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        self.dim: int = int(manifest["dim"])
        self.prompts: dict[str, str] = dict(manifest["prompts"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(manifest["max_length"]))
        # Batches of passages run on a session compiled for throughput: on 2 cores two streams of one thread
        # each encoded an ingest's chunks and sentences 12% faster than one stream of two (docs/benchmarks.md).
        self.session = session(folder / FILES[backend], backend, streams=True)
        # Questions get their own session where the runtime runs one request at a time per compiled model
        # (OpenVINO: the LATENCY hint gives one stream). On a shared one a question waited for the ingest batch
        # ahead of it (encode p50 574 ms vs 37 ms during an ingest, docs/benchmarks.md); the second compilation
        # costs about 150 MB. ONNX Runtime runs concurrent requests side by side, so it shares its one session.
        self.query_session = (session(folder / FILES[backend], backend)
                              if isinstance(self.session, OpenVinoSession) else self.session)
        self.words = np.load(folder / WORDS, mmap_mode="r")
        self.folder = folder

    def encode(self, texts: list[str], prompt: str = "", batch_size: int = 32, progress: bool = False,
               queries: bool = False, advance: Callable[[int], None] | None = None) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors of ``prompt + text`` (a bar per batch with ``progress``,
        ``advance(n)`` as each batch of ``n`` finishes), on the questions' session with ``queries``; passages'
        batches several at a time where the runtime can (``OpenVinoSession.run_each``)."""
        out = np.zeros((len(texts), self.dim), np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch([prompt + t for t in texts])]
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        with tqdm(total=len(texts), desc="embedding", unit="text", disable=not progress) as bar:
            lock = threading.Lock()  # batches finish on the runtime's threads

            def done(rows: list[int], vectors: np.ndarray) -> None:
                with lock:
                    out[rows] = vectors
                    bar.update(len(rows))
                    if advance:
                        advance(len(rows))

            batches = ((rows, self.feed([ids[i] for i in rows]))
                       for rows in (order[s : s + batch_size] for s in range(0, len(order), batch_size)))
            if not queries and isinstance(self.session, OpenVinoSession):
                self.session.run_each(batches, done)
            else:
                run = (self.query_session if queries else self.session).run
                for rows, feed in batches:
                    done(rows, run(None, feed)[0])
        return out

    def feed(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        """The graph's inputs for one batch of token ids (padded to the longest)."""
        width = max(len(row) for row in ids)
        tokens = np.zeros((len(ids), width), np.int64)
        mask = np.zeros((len(ids), width), np.int64)
        for j, row in enumerate(ids):
            tokens[j, : len(row)] = row
            mask[j, : len(row)] = 1
        return {"inputs_embeds": self.words[tokens], "attention_mask": mask}
