"""OCR of generated scans (scripts/make_scans.py): character error rate, reading-order errors, speed, memory.

    .venv/bin/python scripts/bench_ocr.py [--scans embeddings/scans] [--sets clean-300 degraded-200] [--pdf]

Each page goes through the product's path (``rag.scan``: decode, OCR, reading order). OCR results are kept in
``SCANS/bench.ocr`` (``Config.ocr_dir`` of the index ``SCANS/bench``, keyed by file hash as at ingest), so a
rerun scores reading order again at no OCR cost and ``--ingest`` builds that index from them; the seconds and
peak memory of the run that OCR'd a page are kept beside them (``timings-SET.json``).
Both the OCR'd text and the text as set are cleaned as at ingest (``rag.clean``) and NFKC-normalised; the
character error rate is the edit distance over letters, digits and CJK characters divided by the reference's
count; punctuation is scored apart the same way. A sentence of the OCR'd page (``rag.evidence``) is a
reading-order error when its characters come from blocks (headline, column, box) that do not follow one
another in the page's reading order: a sentence running on from the foot of one column to the head of the
next is right, one mixing two columns line by line is not.

``--dev SET`` also asks ``dev.jsonl`` over an index of that set's page images (built from the OCR results
above) and over an index of the text pages they were rendered from, judged as ``scripts/eval_dev.py`` does.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import unicodedata
from bisect import bisect_right
from pathlib import Path

from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.clean import clean  # noqa: E402
from rag.config import PACKAGE, ROOT, Config  # noqa: E402
from rag.evidence import page_sentences  # noqa: E402
from rag.layout import Box, Placed  # noqa: E402
from rag.load import sha256  # noqa: E402
from rag.ocr import OcrCache  # noqa: E402
from rag.scan import Scan, scan_image, scan_pdf  # noqa: E402


def normal(text: str) -> str:
    return unicodedata.normalize("NFKC", clean(text).text)


def error_rates(reference: str, ocr: str) -> tuple[float, float, int]:
    """Character error rate over letters, digits and CJK; the same over punctuation; reference characters."""
    ref, hyp = normal(reference), normal(ocr)
    chars = lambda s: "".join(c for c in s if c.isalnum())  # noqa: E731
    marks = lambda s: "".join(c for c in s if unicodedata.category(c)[0] in "PS")  # noqa: E731
    return (Levenshtein.distance(chars(ref), chars(hyp)) / max(len(chars(ref)), 1),
            Levenshtein.distance(marks(ref), marks(hyp)) / max(len(marks(ref)), 1), len(chars(ref)))


def block_of(box: Box, truth: list[dict]) -> int:
    """The block of the set line that overlaps the OCR line most."""
    def overlap(line: dict) -> float:
        return max(0.0, min(box.x1, line["x1"]) - max(box.x0, line["x0"])) * \
            max(0.0, min(box.y1, line["y1"]) - max(box.y0, line["y0"]))
    return max(truth, key=overlap)["block"]


def order_errors(scan: Scan, truth: list[dict], size: tuple[int, int]) -> tuple[int, int]:
    """Sentences mixing blocks out of reading order, and sentences, of an OCR'd page whose set lines (``truth``)
    are in the pixels of a sheet of ``size`` (a PDF page is OCR'd as rendered at ``Config.ocr_dpi``)."""
    cleaned = clean(scan.text)
    starts = [p.start for p in scan.lines]
    fx, fy = size[0] / scan.width, size[1] / scan.height
    blocks = [block_of(Box(p.box.x0 * fx, p.box.y0 * fy, p.box.x1 * fx, p.box.y1 * fy), truth) for p in scan.lines]

    def block_at(raw: int) -> int | None:
        i = bisect_right(starts, raw) - 1
        line: Placed = scan.lines[i] if i >= 0 else None
        return blocks[i] if line is not None and line.start <= raw < line.end else None

    errors, spans = 0, [s for s in page_sentences(cleaned.text) if s[1] - s[0] > 1]
    for start, end, _ in spans:
        seen = [b for b in (block_at(cleaned.index[i]) for i in range(start, end)) if b is not None]
        steps = [b - a for a, b in zip(seen, seen[1:]) if b != a]
        errors += any(step != 1 for step in steps) or len(steps) > 1
    return errors, len(spans)


def run_set(folder: Path, pdf: bool, config: Config) -> dict:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    timings_file = config.ocr_dir / f"timings-{folder.name}{'-pdf' if pdf else ''}.json"
    timings = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    rows = []
    for stem, page in truth.items():
        path = folder / "pdf" / f"{stem}.pdf" if pdf else next(folder.glob(f"{stem}.*g"))
        data = path.read_bytes()
        digest = sha256(data)
        cached = OcrCache(config.ocr_dir).get(digest, 0) is not None
        began = time.perf_counter()
        scan = scan_pdf(data, digest, stem, [0], config)[0] if pdf else scan_image(data, digest, stem, config)[0]
        if not cached:
            timings[digest] = {"seconds": time.perf_counter() - began,
                               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
            timings_file.write_text(json.dumps(timings, indent=1))
        seconds = timings[digest]["seconds"]
        cer, punct, chars = error_rates(page["text"], scan.text)
        mixed, sentences = order_errors(scan, page["lines"], page["size"])
        rows.append({"page": stem, "seconds": round(seconds, 1), "cer": cer, "punct": punct, "chars": chars,
                     "mixed": mixed, "sentences": sentences, "size": page["size"]})
        print(f"  {folder.name} {stem}: CER {cer:.2%} punct {punct:.2%} mixed {mixed}/{sentences} {seconds:.1f} s",
              file=sys.stderr)
    total = sum(r["chars"] for r in rows)
    return {"set": folder.name + ("/pdf" if pdf else ""), "pages": rows,
            "cer": sum(r["cer"] * r["chars"] for r in rows) / total,
            "punct": sum(r["punct"] * r["chars"] for r in rows) / total,
            "mixed": sum(r["mixed"] for r in rows), "sentences": sum(r["sentences"] for r in rows),
            "seconds_per_page": sum(r["seconds"] for r in rows) / len(rows),
            "peak_mb": max(timings[d]["peak_mb"] for d in timings)}


def dev_over_scans(folder: Path, config: Config, dev: Path) -> dict:
    """dev.jsonl right (and cited) over the scans of ``folder`` and over the sample text pages, and the share of
    questions whose first citation is the same page in both."""
    from eval_dev import judge

    from rag.pipeline import PaperTrail

    rows = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    scans = PaperTrail.create(config)
    scans.ingest(sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg")))
    with tempfile.TemporaryDirectory() as tmp:
        texts = PaperTrail.create(Config(index_dir=Path(tmp) / "index", show_progress=False), scans.embedder)
        texts.ingest([PACKAGE / "sample"])
        right = {"scans": 0, "text": 0}
        same = 0
        for row in rows:
            answers = {"scans": scans.ask(row["q"]), "text": texts.ask(row["q"])}
            for name, answer in answers.items():
                for c in answer.citations:  # a scan cites 000_….png for the text page 000_….txt
                    c.source = Path(c.source).stem + ".txt"
                right[name] += judge(row, answer) == "ok"
            firsts = [a.citations[0].source if a.citations else None for a in answers.values()]
            same += firsts[0] == firsts[1]
    return {"questions": len(rows), "right_scans": right["scans"], "right_text": right["text"],
            "same_first_citation": same / len(rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=Path, default=ROOT / "embeddings" / "scans")
    parser.add_argument("--sets", nargs="*", default=["clean-300", "degraded-200"])
    parser.add_argument("--pdf", action="store_true", help="read the image-only PDFs instead of the images")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--dev", metavar="SET", help="ask dev.jsonl over this set's scans and over the text pages")
    parser.add_argument("--dev-set", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    args = parser.parse_args()
    config = Config(index_dir=args.scans / "bench", show_progress=False)
    results = [run_set(args.scans / name, args.pdf, config) for name in args.sets]
    for r in results:
        print(f"{r['set']}: CER {r['cer']:.2%} (punctuation {r['punct']:.2%}), {r['mixed']} of {r['sentences']} "
              f"sentences mixed across columns, {r['seconds_per_page']:.1f} s/page, peak {r['peak_mb']:.0f} MB")
    if args.dev:
        dev = dev_over_scans(args.scans / args.dev, config.with_(show_progress=True), args.dev_set)
        print(f"dev over {args.dev} scans: {dev['right_scans']}/{dev['questions']} right and cited, over the text "
              f"pages {dev['right_text']}/{dev['questions']}; same first citation {dev['same_first_citation']:.0%}")
        results.append({"dev": args.dev, **dev})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
