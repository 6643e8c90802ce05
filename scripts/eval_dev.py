"""Score answers on a dev set: answer contains a gold answer and cites a gold source; abstain when unanswerable.

    .venv/bin/python scripts/eval_dev.py [--set ../shared/eval/dev.jsonl] [--index DIR] [-v]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import ROOT, Config  # noqa: E402
from rag.pipeline import PaperTrail  # noqa: E402
from rag.types import Answer  # noqa: E402


def judge(row: dict, answer: Answer) -> str:
    """'ok', or why the answer is wrong."""
    if row.get("unanswerable"):
        return "ok" if answer.abstained and not answer.citations else "answered an unanswerable question"
    if answer.abstained:
        return "abstained"
    text = re.sub(r"\s+", "", answer.answer)
    if not any(re.sub(r"\s+", "", gold) in text for gold in row["answers"]):
        return "no gold answer in the text"
    cited = {c.source for c in answer.citations} | {a["source"] for c in answer.citations for a in c.also}
    return "ok" if cited & set(row["sources"]) else "no gold source cited"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: the default index)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    rag = PaperTrail.open(Config(index_dir=args.index) if args.index else Config())
    counts = {"answerable": 0, "answered_right": 0, "unanswerable": 0, "abstained_right": 0}
    for row in rows:
        answer = rag.ask(row["q"])
        verdict = judge(row, answer)
        kind = "unanswerable" if row.get("unanswerable") else "answerable"
        counts[kind] += 1
        counts["abstained_right" if kind == "unanswerable" else "answered_right"] += verdict == "ok"
        if args.verbose or verdict != "ok":
            print(f"{row['id']} {verdict}: {row['q']}\n    → {answer.answer[:160]}"
                  f" {[c.source[:3] for c in answer.citations]}", file=sys.stderr)
    print(f"answerable: {counts['answered_right']}/{counts['answerable']} right; "
          f"unanswerable: {counts['abstained_right']}/{counts['unanswerable']} abstained")
    print(json.dumps(counts))
    return 0 if counts["answered_right"] == counts["answerable"] and counts["abstained_right"] == counts["unanswerable"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
