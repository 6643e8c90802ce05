import threading

import numpy as np
import pytest

from rag.batching import Coalescer


def test_questions_asked_together_are_encoded_in_few_batches_and_each_gets_its_own_vector(embedder):
    questions = [f"第{i}版报道了哪些企业？" for i in range(12)]
    batches: list[int] = []
    gate = threading.Event()

    def encode(texts: list[str]) -> np.ndarray:
        batches.append(len(texts))
        gate.wait(5)  # the first caller's batch stays busy until every question has arrived
        return embedder.encode_queries(texts)

    coalescer = Coalescer(encode, max_batch=8)
    out: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, coalescer(questions[i]))) for i in range(12)]
    for t in threads:
        t.start()
    while sum(1 for t in threads if t.is_alive()) and len(coalescer._waiting) < 11:
        threading.Event().wait(0.01)
    gate.set()
    for t in threads:
        t.join(10)
    assert batches == [1, 8, 3]
    alone = embedder.encode_queries(questions)
    for i in range(12):
        assert np.allclose(out[i], alone[i], atol=1e-4)


def test_a_lone_question_is_encoded_at_once_and_errors_reach_every_caller(embedder):
    calls: list[list[str]] = []
    coalescer = Coalescer(lambda texts: calls.append(texts) or embedder.encode_queries(texts), max_batch=8)
    assert np.allclose(coalescer("北京技术合同成交额增长了多少？"), embedder.encode_query("北京技术合同成交额增长了多少？"),
                       atol=1e-5)
    assert calls == [["北京技术合同成交额增长了多少？"]]

    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("encoder failed")

    failing = Coalescer(broken, max_batch=8)
    with pytest.raises(RuntimeError, match="encoder failed"):
        failing("问题")
    with pytest.raises(RuntimeError, match="encoder failed"):  # and it is not left busy
        failing("问题")
