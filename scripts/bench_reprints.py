"""Reprint linking at ingest: the pages an ingest adds, against the whole archive regrouped each time.

    .venv/bin/python scripts/bench_reprints.py [--every 10] [--json]

The DRCD passages (2,000, each one page; ``evallib.passage_index``, cached) are the archive. Every ``--every``-th
passage is reprinted as another page (full-width digits and commas, spaces between some characters, as OCR and
other papers print it), and the reprints are added in two ingests: all but the last, then the last alone. Timed, in one run:

* ``relink_reprints`` for each ingest's pages (what ingest does now);
* the reference, every article against every earlier one over the whole index (what each ingest did before),
  at a quarter, half and all of the archive;

and whether the two give every chunk the same group.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evallib import EVAL_DIR, CachedEmbedder, passage_index, qa_passages  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.ingest import embedded_sentences, to_document  # noqa: E402
from rag.load import RawPage  # noqa: E402
from rag.reprints import find_reprints, relink_reprints  # noqa: E402
from rag.split import split_document  # noqa: E402
from rag.types import PageMeta  # noqa: E402


def reprinted(text: str) -> str:
    """Another paper's print of ``text``: full-width digits and commas, a space after every 40th character."""
    wide = text.translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))
    return " ".join(wide[i:i + 40] for i in range(0, len(wide), 40))


def added(index, docs, embedder, config) -> None:
    """Split, embed and add the pages ``docs`` to ``index`` (as ingest does before linking)."""
    chunks = []
    for d in docs:
        chunks += split_document(d, config, first_id=index.next_id + len(chunks))
    texts = {d.doc_id: d.text for d in docs}
    vectors, sentences = embedder.encode_chunks([c.embed_text() for c in chunks],
                                                [embedded_sentences(c, texts[c.doc_id]) for c in chunks])
    index.add(docs, chunks, vectors, sentences)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    config = Config(show_progress=False)
    embedder = CachedEmbedder(config)
    passages = qa_passages(args.eval_dir / "drcd_train_corpus.jsonl")
    index = passage_index(passages, embedder, config, "zh").copy()
    find_reprints(list(index.documents.values()), index.chunks, config.reprint_similarity)  # a linked archive
    docs = []
    for p in passages[:: args.every]:
        text = reprinted(p.text)
        docs.append(to_document(RawPage(Path(f"reprint-{p.pid}"), text, PageMeta(),
                                        hashlib.sha256(text.encode()).hexdigest(), doc_id=f"reprint-{p.pid}")))
    added(index, docs[:-1], embedder, config)
    started = time.perf_counter()
    relink_reprints(index, config.reprint_similarity, docs[:-1], set())
    batch = time.perf_counter() - started
    added(index, docs[-1:], embedder, config)
    embedder.cache.flush()
    started = time.perf_counter()
    relink_reprints(index, config.reprint_similarity, docs[-1:], set())
    single = time.perf_counter() - started
    ours = {c.chunk_id: c.reprint_group for c in index.chunks}
    all_docs = list(index.documents.values())
    row = {"pages": len(all_docs), "chunks": len(index),
           f"ingest_of_{len(docs) - 1}_reprints_s": batch, "ingest_of_1_reprint_ms": 1000 * single}
    for share in (4, 2, 1):
        part = all_docs[: len(all_docs) // share]
        kept = {d.doc_id for d in part}
        chunks = [replace(c) for c in index.chunks if c.doc_id in kept]
        started = time.perf_counter()
        find_reprints(part, chunks, config.reprint_similarity)
        row[f"reference_s_{len(part)}_pages"] = time.perf_counter() - started
        theirs = {c.chunk_id: c.reprint_group for c in chunks}
    row["grouped_chunks"] = sum(g is not None for g in ours.values())
    row["chunks_grouped_differently"] = sum(ours[i] != theirs[i] for i in ours)
    row["speedup_one_page_ingest"] = row[f"reference_s_{len(all_docs)}_pages"] / single
    if args.json:
        print(json.dumps(row, indent=1))
    else:
        for key, value in row.items():
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
