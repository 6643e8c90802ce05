"""The NumPy encoder must give the vectors sentence-transformers gives for the same offline model."""

from pathlib import Path

import numpy as np

from rag.bert import BertEncoder
from rag.embed import QUICK_TEXTS

TEXTS = ["青藏铁路电气化外电配套工程总投资多少亿元？", "How many high-tech enterprises did Tibet have in 2019?",
         "“一带一路”倡议提出十周年（2013—2023），合作成果丰硕。", "全年财政收入达到9800多亿元，比上年增长40.8%。" * 40]
"""Chinese, English, full-width punctuation, and a text over the 512-token limit (truncated alike)."""


def test_numpy_vectors_match_sentence_transformers(embedder):
    bert = BertEncoder(Path(embedder._source))
    assert bert.prompts.items() <= embedder.model.prompts.items() and bert.dim == embedder.model.get_embedding_dimension()
    assert len(bert.tokenizer.encode(TEXTS[-1]).ids) == 512
    for prompt in ("query: ", "passage: "):
        mine = bert.encode(TEXTS, prompt)
        theirs = embedder.model.encode(TEXTS, prompt=prompt, normalize_embeddings=True, convert_to_numpy=True)
        assert mine.dtype == np.float32 and mine.shape == (len(TEXTS), 384)
        assert np.abs(mine - theirs).max() < 1e-5, prompt


def test_embedder_uses_numpy_for_a_few_texts_and_the_model_for_many(embedder):
    few = embedder.encode_queries(TEXTS[:2])
    many = embedder.encode_queries(TEXTS[:2] * (QUICK_TEXTS // 2 + 1))
    assert np.abs(few - many[:2]).max() < 1e-5
    assert np.abs(few - embedder.bert.encode(TEXTS[:2], "query: ")).max() == 0
