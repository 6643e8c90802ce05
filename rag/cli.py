"""Command line: ``papertrail ingest|ask|batch|serve|list|remove|migrate`` (also ``python -m rag``)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rag.config import ENCODERS, OFFLINE_MODEL, STORES, Config, default_index_dir
from rag.store import Index, IndexLoadError
from rag.store.faiss_store import KINDS
from rag.load import IngestError
from rag.lock import IndexBusyError
from rag.metadata import iso_date
from rag.pipeline import PaperTrail, QuestionTooLong, load_index
from rag.text import well_formed
from rag.types import Answer, page_label

UNPRINTABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Characters that would break a tab-separated row (or hide in it): escaped as ``\\n``, ``\\t``, ``\\x1b``, ``\\\\``."""
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal obeys rather than shows (escape sequences that recolour, retitle or hide text; bidi
overrides): written escaped (``\\x1b``) wherever page text or metadata is printed."""
LIST_COLUMNS = ("doc_id", "source", "paper", "date", "page", "chunks")
"""The columns of ``list``'s table (its first row names them); ``--json`` adds ``path``."""


def read_questions(path: Path) -> list[str]:
    """Questions from JSONL (``q`` or ``question`` field) or plain text, one a line."""
    questions = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise SystemExit(f"{path}: not UTF-8 text (byte {err.start:,}); save it as UTF-8") from err
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise SystemExit(f"{path}:{n}: invalid JSON ({err.msg})") from err
            question = row.get("q") or row.get("question")
            if not question:
                raise SystemExit(f"{path}:{n}: no 'q' or 'question' field")
            questions.append(str(question))
        else:
            questions.append(line)
    return questions


def shown(text: str) -> str:
    """``text`` as a terminal should print it: control characters escaped, line breaks and tabs kept."""
    return CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode(), text)


def format_answer(answer: Answer) -> str:
    """Answer text, then one line per source: [n] paper · date · 第N版 · headline."""
    return "\n".join([shown(answer.answer), *format_sources(answer)])


def format_sources(answer: Answer) -> list[str]:
    """A blank line, "Sources:" and one line per source (none when nothing is cited)."""
    if not answer.citations:
        return []
    lines = ["", "Sources:"]
    for c in answer.citations:
        lines.append(shown(f"[{c.n}] {c.label()}"))
        lines.extend(shown(f"    also: {page_label(a)}") for a in c.also)
    return lines


def print_stream(pieces: Iterator[str | Answer]) -> Answer:
    """Print answer text as it arrives, then the checked answer if it differs, the sources and any notes."""
    streamed = ""
    for piece in pieces:
        if isinstance(piece, Answer):
            answer = piece
            break
        streamed += piece
        print(shown(piece), end="", flush=True)
    if streamed.strip() != answer.answer.strip():
        print("\n\nChecked against the sources:\n" + shown(answer.answer), end="")
    print("\n".join(["", *format_sources(answer)]))
    for sentence in answer.unsupported:
        print(f"note: removed as unsupported by the sources: {shown(sentence)}", file=sys.stderr)
    if answer.notice:
        print(f"note: {shown(answer.notice)}", file=sys.stderr)
    return answer


def iso_day(value: str) -> str:
    """An ``--from``/``--to`` argument as an ISO date (2026-04-02, 20260402 or 2026年4月2日)."""
    day = iso_date(value)
    if day is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (use YYYY-MM-DD)")
    return day


def page_number(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a page number (1, 2, …)")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="papertrail", description="Cited answers from Chinese newspaper pages.")
    index = argparse.ArgumentParser(add_help=False)
    index.add_argument("--index", type=Path, metavar="DIR",
                       help=f"index folder (default: {default_index_dir()}, built from the sample pages if missing; "
                            "a folder named here must already hold an index)")
    encoder = argparse.ArgumentParser(add_help=False)
    encoder.add_argument("--encoder", choices=ENCODERS, help=f"how vectors are computed (default: {Config.encoder}, the exported model on "
                         "OpenVINO, in bfloat16 where the CPU has it natively; openvino: the same in fp32 everywhere; onnx: the fp32 "
                         "graph on ONNX Runtime; onnx-int8: its weights in int8; torch: sentence-transformers)")
    key = argparse.ArgumentParser(add_help=False)
    key.add_argument("--qdrant-api-key", default=os.environ.get("QDRANT_API_KEY"), metavar="KEY",
                     help="API key of the Qdrant server an index's vectors are on (env QDRANT_API_KEY; never saved)")
    store = argparse.ArgumentParser(add_help=False, parents=[key])
    group = store.add_argument_group("dense store of a new index (an existing index keeps its own)")
    group.add_argument("--store", choices=STORES, help=f"where the vectors are kept (default: {Config.store}, files in "
                       "the index folder; qdrant: a Qdrant collection, needs papertrail[qdrant]; implied by "
                       "--qdrant-url or --qdrant-path)")
    qdrant_arguments(group)
    llm = argparse.ArgumentParser(add_help=False)
    group = llm.add_argument_group("LLM answers (default: offline extractive answers)")
    group.add_argument("--llm-base-url", default=os.environ.get("RAG_LLM_BASE_URL"), metavar="URL",
                       help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (env RAG_LLM_BASE_URL)")
    group.add_argument("--llm-model", default=os.environ.get("RAG_LLM_MODEL"), metavar="NAME",
                       help="model name (env RAG_LLM_MODEL)")
    group.add_argument("--llm-api-key", default=os.environ.get("RAG_LLM_API_KEY"), metavar="KEY",
                       help="API key (env RAG_LLM_API_KEY)")
    group.add_argument("--llm-timeout", type=float, default=Config.llm_timeout, metavar="SECONDS",
                       help="seconds before falling back to the extractive answer (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[index, encoder, store], help="add page files or folders to the index (creating it)",
                       description="Add .txt/.md/.pdf pages and page scans (.png/.jpg/.tif, read by OCR: "
                                   "papertrail[ocr]) to an index, creating the index if the folder has none.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a page file or a folder of them")
    p.add_argument("--model", help="embedding model of a new index: a sentence-transformers name or path "
                                   f"(default: {OFFLINE_MODEL}, the offline multilingual-e5-small); "
                                   "an existing index keeps its own")
    p.add_argument("--vector-index", choices=KINDS, help="FAISS index (default: auto: exact under "
                   f"{Config.ivf_from:,} chunks, IVF above, retrained as the archive grows; ivf-sq8: 8-bit vectors)")
    p = sub.add_parser("ask", parents=[index, encoder, store, llm], help="answer one question, citing its sources")
    p.add_argument("question", help="the question, in Chinese or English")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--paper", action="append", metavar="NAME", help="only pages of this paper (repeat for several)")
    p.add_argument("--from", dest="date_from", type=iso_day, metavar="DATE", help="only pages dated on or after DATE")
    p.add_argument("--to", dest="date_to", type=iso_day, metavar="DATE", help="only pages dated on or before DATE")
    p.add_argument("--page", type=page_number, metavar="N", help="only pages printed as page N (第N版)")
    p = sub.add_parser("batch", parents=[index, encoder, store, llm], help="answer a file of questions, writing JSONL")
    p.add_argument("file", type=Path, help="JSONL with a 'q' or 'question' field, or plain text, one question a line")
    p.add_argument("--out", type=Path, metavar="FILE", help="output JSONL (default: standard output)")
    p = sub.add_parser("serve", parents=[index, encoder, store, llm], help="open the web chat")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    p.add_argument("--auth", metavar="USER:PASS", default=os.environ.get("PAPERTRAIL_AUTH") or None,
                   help="require this user name and password (env PAPERTRAIL_AUTH, which other users of this "
                        "machine cannot read from the process list)")
    p = sub.add_parser("list", parents=[index, key], help="show the indexed pages with their metadata")
    p.add_argument("--json", action="store_true", help="one JSON object per page instead of a table")
    p = sub.add_parser("remove", parents=[index, key], help="delete pages (and their chunks) from the index")
    p.add_argument("keys", nargs="+", metavar="SOURCE_OR_ID", help="file name, NAME.pdf#p3, path or document id")
    p = sub.add_parser("migrate", parents=[index, key], help="move an index's vectors into another store",
                       description="Move the index's dense vectors into FAISS files or a Qdrant collection, saved as "
                                   "a new version; questions are answered from the old one meanwhile.")
    group = p.add_argument_group("where to")
    group.add_argument("--to", dest="store", choices=STORES, required=True, help="faiss: files in the index folder; "
                       "qdrant: a Qdrant collection (needs papertrail[qdrant])")
    qdrant_arguments(group)
    group.add_argument("--vector-index", choices=KINDS, help="FAISS index (default: auto)")
    return parser


def qdrant_arguments(group: argparse._ArgumentGroup) -> None:
    """Where a Qdrant collection is: ``--qdrant-url``, ``--qdrant-path``, ``--qdrant-collection``."""
    group.add_argument("--qdrant-url", metavar="URL", help="Qdrant server, e.g. http://localhost:6333 (default: "
                       "local mode in --qdrant-path, one process at a time)")
    group.add_argument("--qdrant-path", type=Path, metavar="DIR",
                       help="folder of Qdrant's local mode (default: the index folder's name + .qdrant beside it)")
    group.add_argument("--qdrant-collection", metavar="NAME",
                       help="Qdrant collection (default: the index folder's name and a hash of its path)")
    group.add_argument("--qdrant-shards", type=int, metavar="N",
                       help="shards of a new collection on a Qdrant cluster (default: the server's)")
    group.add_argument("--qdrant-replicas", type=int, metavar="N",
                       help="copies of each shard on a Qdrant cluster (default: the server's, 1)")


def make_config(args: argparse.Namespace) -> Config:
    """The configuration the arguments ask for (settings a command has no flag for keep their defaults)."""
    given = {"index_dir": args.index, "model": getattr(args, "model", None), "encoder": getattr(args, "encoder", None),
             "vector_index": getattr(args, "vector_index", None), "qdrant_api_key": args.qdrant_api_key}
    if hasattr(args, "store"):
        qdrant = args.qdrant_url or args.qdrant_path
        given |= {"store": args.store or ("qdrant" if qdrant else None), "qdrant_url": args.qdrant_url,
                  "qdrant_path": args.qdrant_path, "qdrant_collection": args.qdrant_collection,
                  "qdrant_shards": args.qdrant_shards, "qdrant_replicas": args.qdrant_replicas}
    if hasattr(args, "llm_base_url"):
        given |= {"llm_base_url": args.llm_base_url or None, "llm_model": args.llm_model,
                  "llm_api_key": args.llm_api_key, "llm_timeout": args.llm_timeout}
    return Config(**{k: v for k, v in given.items() if v is not None})


def tsv_cell(value: object) -> str:
    """A value as one cell of a ``list`` row: ``-`` when unknown, control characters and backslashes escaped."""
    return "-" if value is None else UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode(), str(value))


def dash_hint(argv: list[str]) -> str | None:
    """Advice when a file whose name starts with '-' was taken for an option."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    dashed = [w for w in words if w.startswith("-") and w != "-" and Path(w).exists()]
    return (f"hint: {dashed[0]} is a file, not an option; put -- before file names that start with '-': "
            f"papertrail {words[0] if words else 'ingest'} [options] -- {dashed[0]}") if dashed else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        hint = dash_hint(argv) if exit_.code == 2 else None
        if hint:
            print(hint, file=sys.stderr)
        raise
    try:
        return COMMANDS[args.command](args, make_config(args))
    except (IndexLoadError, IndexBusyError, QuestionTooLong) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `papertrail list | head`: the reader left; exit quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:  # a full disk, a folder that cannot be written: the index stays as it was
        print(f"error: {err}", file=sys.stderr)
        return 2


def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    rag = PaperTrail.open(config, build_from=[]) if Index.exists(config.index_dir) else PaperTrail.create(config)
    if args.model and rag.config.model != args.model:
        print(f"error: {config.index_dir} was built with {rag.config.model}, not {args.model}; an index keeps "
              "its model (ingest into a new --index for another)", file=sys.stderr)
        return 2
    report = rag.ingest(args.paths)
    for name in report.indexed:
        print(f"indexed  {name}")
    for name in report.replaced:
        print(f"replaced {name} (changed since the last ingest)")
    for name in report.skipped:
        print(f"skipped  {name}")
    for warning in report.warnings:
        print(f"warning  {warning}", file=sys.stderr)
    for reason in report.failed:
        print(f"failed   {reason}", file=sys.stderr)
    print(f"{report.summary()} → {config.index_dir}")
    return 1 if report.failed else 0


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    question = args.question.strip()
    if not question:
        print("error: the question is empty", file=sys.stderr)
        return 2
    if args.date_from and args.date_to and args.date_from > args.date_to:
        print(f"error: --from {args.date_from} is after --to {args.date_to}", file=sys.stderr)
        return 2
    rag = PaperTrail.open(config)
    filters = {"papers": args.paper, "date_from": args.date_from, "date_to": args.date_to, "page": args.page}
    if args.json:
        print(json.dumps(rag.ask(question, **filters).to_dict(), ensure_ascii=False, indent=2))
    else:
        print_stream(rag.ask_stream(question, **filters))
    return 0


def cmd_batch(args: argparse.Namespace, config: Config) -> int:
    if not args.file.is_file():
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 2
    questions = read_questions(args.file)
    rag = PaperTrail.open(config)
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    try:
        for question in questions:
            try:
                row = rag.ask(question).to_dict()
            except ValueError as err:  # empty, too long: this question's row says why, the others are answered
                row = {"question": well_formed(question), "answer": "", "abstained": True, "citations": [],
                       "error": str(err)}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"answered {len(questions)} question(s) → {args.out}", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    user, sep, password = (args.auth or "").partition(":")
    if args.auth is not None and not (sep and user and password):
        print("error: --auth must be USER:PASS", file=sys.stderr)
        return 2
    rag = PaperTrail.open(config)
    rag.reader  # noqa: B018 (exported and loaded now, not on the first question)
    # Gradio loads only for this command, once the index is known to be there.
    from ui.app import launch

    try:
        launch(rag, args.host, args.port, (user, password) if args.auth else None)
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port} ({err.strerror or 'port in use'}); "
              "choose another with --port", file=sys.stderr)
        return 2
    return 0


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    pages = load_index(config).pages(config.uploads_dir)
    if not args.json:
        print("\t".join(LIST_COLUMNS))
    for page in pages:
        row = {"doc_id": page.id, "source": page.file, "paper": page.paper, "date": page.date, "page": page.page,
               "chunks": page.chunks, "path": page.path}
        print(json.dumps(row, ensure_ascii=False) if args.json else "\t".join(tsv_cell(row[k]) for k in LIST_COLUMNS))
    print(f"{len(pages)} page(s), {sum(p.chunks for p in pages)} chunks in {config.index_dir}", file=sys.stderr)
    return 0


def cmd_remove(args: argparse.Namespace, config: Config) -> int:
    if not Index.exists(config.index_dir):
        print(f"error: {config.index_dir}: no index here", file=sys.stderr)
        return 2
    rag = PaperTrail.open(config)
    failures = 0
    for key in args.keys:
        try:
            removed = rag.remove(key)
        except IngestError as err:
            print(f"error: {err}", file=sys.stderr)
            failures += 1
            continue
        for doc in removed:
            print(f"removed  {doc.source} ({doc.doc_id})")
        if not removed:
            print(f"error: {key}: no indexed page has this source, path or id (see `papertrail list`)",
                  file=sys.stderr)
            failures += 1
    return 1 if failures else 0


def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    if not Index.exists(config.index_dir):
        print(f"error: {config.index_dir}: no index here", file=sys.stderr)
        return 2
    rag = PaperTrail.open(config)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"moved {done:,} of {total:,} chunks ({time.monotonic() - started:.0f} s)", file=sys.stderr)

    try:
        done = rag.migrate(config, progress)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"moved {done.moved:,} chunks (vectors and BM25 terms) into {done.store} → {config.index_dir}")
    if done.left:
        print(f"the old version's chunks stay in {done.left}; drop it once no reader uses that version",
              file=sys.stderr)
    return 0


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "batch": cmd_batch, "serve": cmd_serve, "list": cmd_list,
            "remove": cmd_remove, "migrate": cmd_migrate}
