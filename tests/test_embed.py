import numpy as np

from rag.config import Config
from rag.embed import Embedder


def test_vectors_are_normalised_and_queries_get_their_prompt(embedder):
    q = embedder.encode_queries(["北京技术合同成交额"])
    p = embedder.encode_passages(["北京技术合同成交额"], progress=False)
    assert q.shape == (1, embedder.dim) == (1, 384)
    assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-5)
    assert not np.allclose(q, p)
    assert embedder._prompt("query") == "query: " and embedder._prompt("passage") == "passage: "


def test_cross_lingual_similarity(embedder):
    q = embedder.encode_queries(["How many high-tech enterprises did Tibet have?"])[0]
    p = embedder.encode_passages(["2019年，我区高新技术企业达69家。", "拉萨市工会系统重点工作推进会议召开。"], progress=False)
    assert p[0] @ q > p[1] @ q


def test_prompt_overrides_come_from_config(embedder):
    custom = Embedder(Config(query_prompt="", passage_prompt="doc: "))
    custom.__dict__["model"] = embedder.model
    assert custom._prompt("query") == "" and custom._prompt("passage") == "doc: "


def test_chunk_encoding_also_encodes_each_sentence_alone(embedder):
    text = "青藏铁路电气化外电配套工程\n总投资149.02亿元。全线平均海拔4500米。"
    sentences = ["总投资149.02亿元。", "全线平均海拔4500米。"]
    vectors, stored = embedder.encode_chunks([text, "全线平均海拔4500米。"], [sentences, sentences[1:]])
    assert float(vectors[0] @ embedder.encode_passages([text], progress=False)[0]) > 0.9999
    assert stored[0].shape == (2, embedder.dim) and stored[1].shape == (1, embedder.dim)
    alone = embedder.encode_passages(sentences, progress=False)
    assert np.allclose(stored[0].astype(np.float32), alone, atol=2e-3)
    query = embedder.encode_queries(["平均海拔多少米？"])[0]
    assert stored[0][1] @ query > stored[0][0] @ query