"""The evaluation scripts' pure helpers against hand-computed references."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from evallib import (  # noqa: E402
    VectorCache, contains_gold, passage_ranking, ranking_metrics, recall_at, reciprocal_rank, rrf,
)


def test_passage_ranking_keeps_each_passage_at_its_best_rank():
    assert passage_ranking(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_recall_and_reciprocal_rank():
    ranking = ["x", "y", "g", "z"]
    assert [recall_at(ranking, {"g"}, k) for k in (1, 2, 3, 10)] == [0.0, 0.0, 1.0, 1.0]
    assert reciprocal_rank(ranking, {"g"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranking, {"g"}, k=2) == 0.0
    assert reciprocal_rank(ranking, {"q"}) == 0.0


def test_ranking_metrics_hand_computed():
    # gold at rank 1, rank 3, rank 7 and missing: R@1 = 1/4, R@5 = 2/4, R@10 = 3/4, MRR@10 = (1 + 1/3 + 1/7) / 4
    rankings = [["g"], ["a", "b", "g"], [*"abcdef", "g"], list("abcdefghij")]
    metrics = ranking_metrics(rankings, [{"g"}, {"g"}, {"g"}, {"z"}])
    assert metrics["recall@1"] == pytest.approx(0.25)
    assert metrics["recall@5"] == pytest.approx(0.5)
    assert metrics["recall@10"] == pytest.approx(0.75)
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)


def test_any_of_several_gold_passages_counts():
    assert ranking_metrics([["a", "b"]], [{"b", "c"}])["mrr@10"] == pytest.approx(0.5)


def test_rrf_hand_computed():
    # 1: 1/61 + 1/62; 2: 1/62 + 1/61; 3: 1/63 → 1 and 2 tie (stable), 3 last
    assert rrf([[1, 2, 3], [2, 1]]) == [1, 2, 3]
    assert rrf([[1, 2], [3, 2]]) == [2, 1, 3]


def test_contains_gold_ignores_whitespace():
    assert contains_gold("总投资 149.02 亿元", ["149.02亿元"])
    assert not contains_gold("总投资", ["149.02", " "])


def test_vector_cache_encodes_only_missing_texts(tmp_path):
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    cache = VectorCache("m/odel", tmp_path)
    assert cache.lookup("p: ", ["ab", "c", "ab"], encode).tolist() == [[2, 1], [1, 1], [2, 1]]
    cache.flush()
    again = VectorCache("m/odel", tmp_path)
    assert again.lookup("p: ", ["c", "xyz"], encode).tolist() == [[1, 1], [3, 1]]
    assert calls == [["ab", "c"], ["xyz"]]


def test_vector_cache_keeps_keys_that_end_in_zero_bytes(tmp_path):
    cache = VectorCache("m", tmp_path)
    text = next(t for t in map(str, range(10_000)) if VectorCache.key("", t).endswith(b"\0"))
    cache.lookup("", [text, "other"], lambda texts: np.eye(len(texts), 2, dtype=np.float32))
    cache.flush()
    assert VectorCache("m", tmp_path).lookup("", ["other", text], lambda texts: 1 / 0).tolist() == [[0, 1], [1, 0]]


def test_cached_embedder_encodes_questions_as_the_embedder_does_and_keys_bf16_apart(tmp_path, embedder):
    from evallib import CachedEmbedder, vectors_name

    cached = CachedEmbedder(embedder.config, VectorCache("m", tmp_path))
    questions = ["北京技术合同成交额增长了多少？", "How much did new RMB loans increase?"]
    assert np.allclose(cached.encode_queries(questions), embedder.encode_queries(questions), atol=1e-6)
    assert len(cached.cache.keys) == 2
    names = {vectors_name(embedder.config.with_(encoder=e)) for e in ("openvino", "onnx", "openvino-bf16", "onnx-int8")}
    assert len(names) == 3  # fp32 runtimes share vectors; bf16 and int8 each get their own
    chunks, sentences = ["青藏铁路电气化外电配套工程总投资149.02亿元。"], [["总投资149.02亿元。"]]
    reported: list[tuple[int, int]] = []
    vectors, pooled = cached.encode_chunks(chunks, sentences, progress=lambda done, total: reported.append((done, total)))
    mine, mine_pooled = embedder.encode_chunks(chunks, sentences)  # as ingest encodes, through the cache
    assert np.allclose(vectors, mine, atol=1e-6) and np.allclose(pooled[0], mine_pooled[0], atol=1e-3)
    assert reported == [(2, 2)]
