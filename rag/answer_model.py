"""The fitted answer models, stored as JSON (no pickle): a sentence ranker, the answer-or-refuse decision and
the short-answer picker, and the reranker over the reader's findings. ``scripts/fit_answer.py`` fits them on
DRCD; inference is a few dot products (the decision for Chinese questions: a small network)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).with_name("answer_model.json")


def sigmoid(score: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-score))


@dataclass(frozen=True)
class Linear:
    """A linear score over standardised features: ``((x - mean) / scale) @ weights + bias``."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float = 0.0

    def score(self, x: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(x) - self.mean) / self.scale) @ self.weights + self.bias

    def probability(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(self.score(x))

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias}

    @classmethod
    def from_json(cls, row: dict) -> Linear:
        return cls(tuple(row["features"]), *(np.asarray(row[k], dtype=np.float64) for k in ("mean", "scale", "weights")),
                   float(row.get("bias", 0.0)))


@dataclass(frozen=True)
class Mlp:
    """A one-hidden-layer network over standardised features: ``tanh(z @ w1 + b1) @ w2 + b2`` with
    ``z = (x - mean) / scale``. The answer-or-refuse decision needs what a linear score cannot say, e.g. that
    a confident reader does not count when the year the question asks about is nowhere near the evidence."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float

    def score(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) / self.scale
        return np.tanh(z @ self.w1 + self.b1) @ self.w2 + self.b2

    def probability(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(self.score(x))

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "w1": self.w1.tolist(), "b1": self.b1.tolist(), "w2": self.w2.tolist(), "b2": self.b2}

    @classmethod
    def from_json(cls, row: dict) -> Mlp:
        return cls(tuple(row["features"]),
                   *(np.asarray(row[k], dtype=np.float64) for k in ("mean", "scale", "w1", "b1", "w2")),
                   float(row["b2"]))


def is_chinese(share: float) -> bool:
    """Whether a question with this share of Chinese letters gets the Chinese decision and operating point."""
    return share >= 0.5


def scorer(row: dict) -> Linear | Mlp:
    """A stored linear model or network, told apart by its fields."""
    return Mlp.from_json(row) if "w1" in row else Linear.from_json(row)


@dataclass(frozen=True)
class AnswerModel:
    """The fitted parts and the operating points chosen on the training data: the ranker scores every
    candidate, the reranker the best few after the reader read them (``rag.reader``)."""

    ranker: Linear
    reranker: Linear
    answerable: Linear | Mlp
    answer_threshold: float
    """Answer a Chinese question when the answerable probability is at least this, else say the pages do not
    hold the answer."""
    answer_threshold_other: float
    """The same for a question in another language (chosen on DRCD rendered into English word by word)."""
    short: Linear | None = None
    short_threshold: float = 1.0
    """Give the picker's short answer to a Chinese question when its probability is at least this."""
    info: dict | None = None
    answerable_other: Linear | Mlp | None = None
    """The decision for a question in another language (``answerable`` when unset)."""
    short_threshold_other: float = 1.0
    """The short-answer threshold for a question in another language."""

    def decision(self, chinese: float) -> Linear | Mlp:
        """The answer-or-refuse model for a question with this share of Chinese letters."""
        return self.answerable if is_chinese(chinese) or self.answerable_other is None else self.answerable_other

    def threshold(self, chinese: float) -> float:
        """The operating point for a question with this share of Chinese letters."""
        return self.answer_threshold if is_chinese(chinese) else self.answer_threshold_other

    def short_cut(self, chinese: float) -> float:
        """The short-answer threshold for a question with this share of Chinese letters."""
        return self.short_threshold if is_chinese(chinese) else self.short_threshold_other

    def to_json(self) -> dict:
        return {"ranker": self.ranker.to_json(), "reranker": self.reranker.to_json(),
                "answerable": self.answerable.to_json(),
                "answer_threshold": self.answer_threshold, "answer_threshold_other": self.answer_threshold_other,
                "short": self.short.to_json() if self.short else None, "short_threshold": self.short_threshold,
                "info": self.info or {},
                "answerable_other": self.answerable_other.to_json() if self.answerable_other else None,
                "short_threshold_other": self.short_threshold_other}

    @classmethod
    def from_json(cls, row: dict) -> AnswerModel:
        return cls(Linear.from_json(row["ranker"]), Linear.from_json(row["reranker"]),
                   scorer(row["answerable"]), float(row["answer_threshold"]),
                   float(row["answer_threshold_other"]),
                   Linear.from_json(row["short"]) if row.get("short") else None,
                   float(row.get("short_threshold", 1.0)), row.get("info"),
                   scorer(row["answerable_other"]) if row.get("answerable_other") else None,
                   float(row.get("short_threshold_other", row.get("short_threshold", 1.0))))

    def save(self, path: Path = MODEL_FILE) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> AnswerModel:
    """The shipped model (or another JSON file of the same shape)."""
    return AnswerModel.from_json(json.loads(path.read_text(encoding="utf-8")))
