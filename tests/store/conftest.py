"""Each store test's Qdrant stores live in its own folder (``qdrant_local``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.qdrant_local import HOME


@pytest.fixture(autouse=True)
def qdrant_home(tmp_path: Path) -> None:
    HOME["path"] = tmp_path / "qdrant"
