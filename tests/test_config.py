"""Where models, the default index and the sample pages live."""

import json
import os
import subprocess
import sys

import pytest

from rag.config import HOME_ENV, ROOT, Config, data_home, source_checkout


def config_paths(**env: str) -> dict:
    """``Config()``'s folders in a fresh process with ``env`` (``PAPERTRAIL_HOME`` unset unless given)."""
    script = ("import json; from rag.config import Config; c = Config(); "
              "print(json.dumps({'models': str(c.models_dir), 'index': str(c.index_dir), 'default': c.default_index}))")
    base = {k: v for k, v in os.environ.items() if k != HOME_ENV}
    out = subprocess.run([sys.executable, "-c", script], env=base | env, capture_output=True, text=True, timeout=60,
                         check=True)
    return json.loads(out.stdout)


def test_a_checkout_keeps_its_data_in_embeddings(monkeypatch):
    monkeypatch.delenv(HOME_ENV, raising=False)
    assert source_checkout() and data_home() == ROOT / "embeddings"
    assert config_paths() == {"models": str(ROOT / "embeddings" / "models"),
                              "index": str(ROOT / "embeddings" / "index"), "default": True}


def test_papertrail_home_holds_models_and_the_default_index(tmp_path):
    assert config_paths(PAPERTRAIL_HOME=str(tmp_path)) == {"models": str(tmp_path / "models"),
                                                           "index": str(tmp_path / "index"), "default": True}


def test_only_the_default_index_counts_as_default(tmp_path):
    assert not Config(index_dir=tmp_path / "index").default_index
    assert Config(index_dir=Config().index_dir).default_index


def test_sample_pages_are_package_data():
    sample = Config().sample_dir
    assert sample.parent == ROOT / "rag" and (sample / "metadata.json").is_file()
    assert len(list(sample.glob("*.txt"))) == 5


def test_an_unknown_encoder_is_a_clear_error():
    with pytest.raises(ValueError, match="not one of onnx-int8, onnx, openvino, openvino-bf16, torch"):
        Config(encoder="gpu")


def test_an_unknown_store_is_a_clear_error_and_qdrant_defaults_follow_the_index_folder(tmp_path):
    with pytest.raises(ValueError, match="not one of faiss, qdrant"):
        Config(store="milvus")
    a, b = Config(index_dir=tmp_path / "a" / "index"), Config(index_dir=tmp_path / "b" / "index")
    assert a.qdrant_dir == tmp_path / "a" / "index.qdrant"
    assert a.collection.startswith("index-") and a.collection != b.collection  # same name, two folders
    assert a.with_(qdrant_collection="pages", qdrant_path=tmp_path / "q").collection == "pages"
    assert a.with_(qdrant_path=tmp_path / "q").qdrant_dir == tmp_path / "q"
    with pytest.raises(ValueError, match="qdrant_replicas must be at least 1, not 0"):
        Config(qdrant_replicas=0)
