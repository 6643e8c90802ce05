"""A bounded connection and chat burst against a local PaperTrail server, to check it copes.

    .venv/bin/python scripts/load.py --url http://127.0.0.1:7860/ [--clients 50] [--chats 50] [--json]

Phase ``connect``: ``--clients`` gradio_client ``Client``s connect at the same moment. Phase ``chat``:
``--chats`` of them ask ``/chat`` at the same moment. Each phase prints its errors and p50/p95 latency.
Traffic goes to 127.0.0.1 only; counts are capped at ``MAX_CLIENTS`` and each phase at ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from urllib.parse import urlparse

from gradio_client import Client

MAX_CLIENTS = 200
LOCAL = {"127.0.0.1", "localhost"}
QUESTIONS = ["北京技术合同成交额增长了多少？", "how much did Beijing's technology contract volume grow",
             "2019年西藏高新技术企业有多少家？", "1月份社会融资规模增量是多少？"]


@dataclass
class Phase:
    """Latencies (seconds) of the calls that succeeded and the reasons of those that failed."""

    name: str
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        ms = sorted(s * 1000 for s in self.seconds)
        pct = (lambda q: round(statistics.quantiles(ms, n=100, method="inclusive")[q - 1], 1)) if len(ms) > 1 \
            else (lambda q: round(ms[0], 1) if ms else None)
        return {"phase": self.name, "ok": len(ms), "errors": len(self.errors), "p50_ms": pct(50), "p95_ms": pct(95),
                "max_ms": round(ms[-1], 1) if ms else None, "first_errors": sorted(set(self.errors))[:3]}


def burst(name: str, n: int, call: Callable[[int], object], timeout: float) -> tuple[Phase, list[object]]:
    """Run ``call(i)`` for i < n in n threads released together; calls left after ``timeout`` count as errors."""
    phase, results = Phase(name), [None] * n
    start = threading.Barrier(n)

    def one(i: int) -> None:
        start.wait()
        t = time.perf_counter()
        try:
            results[i] = call(i)
        except Exception as err:  # every failure is a finding to report, whatever its type
            phase.errors.append(f"{type(err).__name__}: {str(err)[:120]}")
            return
        phase.seconds.append(time.perf_counter() - t)

    pool = ThreadPoolExecutor(n)
    futures = [pool.submit(one, i) for i in range(n)]
    _, late = wait(futures, timeout=timeout)
    phase.errors.extend(["timeout"] * len(late))
    pool.shutdown(wait=False, cancel_futures=True)
    return phase, results


def run(url: str, clients: int, chats: int, timeout: float) -> list[Phase]:
    """The connect burst, then the chat burst over the connected clients."""
    host = urlparse(url).hostname
    if host not in LOCAL:
        raise SystemExit(f"error: {url}: only a server on 127.0.0.1 may be loaded")
    if not 1 <= chats <= clients <= MAX_CLIENTS:
        raise SystemExit(f"error: need 1 ≤ chats ≤ clients ≤ {MAX_CLIENTS}")
    connect, made = burst("connect", clients, lambda i: Client(url, verbose=False), timeout)
    ready = [c for c in made if c is not None]
    if len(ready) < chats:
        return [connect, Phase("chat", errors=["not enough clients connected"] * chats)]
    chat, _ = burst("chat", chats, lambda i: ready[i].predict(QUESTIONS[i % len(QUESTIONS)], api_name="/chat"),
                    timeout)
    return [connect, chat]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per phase (default: %(default)s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    phases = run(args.url, args.clients, args.chats, args.timeout)
    for phase in phases:
        row = phase.summary()
        print(json.dumps(row, ensure_ascii=False) if args.json else
              f"{row['phase']:8} ok {row['ok']:3}  errors {row['errors']:3}  p50 {row['p50_ms']} ms  "
              f"p95 {row['p95_ms']} ms  max {row['max_ms']} ms  {'; '.join(row['first_errors'])}")
    return 1 if any(p.errors for p in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
