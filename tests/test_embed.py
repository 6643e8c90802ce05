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
