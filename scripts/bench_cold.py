"""Cold start: ``papertrail ask`` from a new process to its first output, against loading the model alone.

    .venv/bin/python scripts/bench_cold.py [--rounds 5] [--index DIR] [--json]

Each round starts fresh processes, one after the other so they see the same load: ``papertrail ask`` over a
warm (already built) index, timed to the first byte it prints and to its exit; then model load alone, in two
forms: what ``ask`` uses now (the exported graph on the default runtime, ``rag.onnx_encoder``: loading it and
encoding one question) and what it would use without it (importing sentence-transformers and loading the model
folder). Prints medians and ``ask``'s ratio to each. The OS file cache is warm in every case (the model and index were read before).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rag.config import Config
from rag.embed import Embedder
from rag.pipeline import PaperTrail

QUESTION = "青藏铁路电气化外电配套工程总投资多少亿元？"
ONNX_LOAD = ("import sys; from rag.config import Config; from rag.embed import Embedder; "
             "Embedder(Config()).encode_queries([sys.argv[2]])")
TORCH_LOAD = ("import sys; from sentence_transformers import SentenceTransformer; "
              "SentenceTransformer(sys.argv[1], device='cpu').encode([sys.argv[2]], prompt='query: ')")


def first_output(command: list[str]) -> tuple[float, float]:
    """Seconds from starting ``command`` to its first byte on stdout, and to its exit (which must be 0)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.read(1)
    first = time.perf_counter() - start
    proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"{command[0]} failed")
    return first, time.perf_counter() - start


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of interleaved runs (default: %(default)s)")
    parser.add_argument("--index", type=Path, help="a built index (default: the default index, built if missing)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    config = Config(index_dir=args.index) if args.index else Config()
    PaperTrail.open(config)  # builds the default index if missing: "warm index" means already built
    model = Embedder(config)._source
    papertrail = Path(sys.executable).with_name("papertrail")
    ask = [str(papertrail), "ask", QUESTION, "--index", str(config.index_dir)]
    runs: dict[str, list[float]] = {"ask_first_output_s": [], "ask_exit_s": [], "onnx_model_load_s": [],
                                    "torch_model_load_s": []}
    for _ in range(args.rounds):
        first, total = first_output(ask)
        runs["ask_first_output_s"].append(first)
        runs["ask_exit_s"].append(total)
        runs["onnx_model_load_s"].append(timed([sys.executable, "-c", ONNX_LOAD, model, QUESTION]))
        runs["torch_model_load_s"].append(timed([sys.executable, "-c", TORCH_LOAD, model, QUESTION]))
    out: dict[str, float | list[float]] = {k: round(statistics.median(v), 2) for k, v in runs.items()}
    out["ratio_to_onnx_load"] = round(out["ask_first_output_s"] / out["onnx_model_load_s"], 2)
    out["ratio_to_torch_load"] = round(out["ask_first_output_s"] / out["torch_model_load_s"], 2)
    out["runs"] = {k: [round(x, 2) for x in v] for k, v in runs.items()}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"papertrail ask, first output  {out['ask_first_output_s']:.2f} s (exit {out['ask_exit_s']:.2f} s), "
          f"median of {args.rounds}")
    print(f"model load alone, export      {out['onnx_model_load_s']:.2f} s  → ask / load = "
          f"{out['ratio_to_onnx_load']:.2f}×")
    print(f"model load alone, torch (s-t) {out['torch_model_load_s']:.2f} s  → ask / load = "
          f"{out['ratio_to_torch_load']:.2f}×")


if __name__ == "__main__":
    main()
