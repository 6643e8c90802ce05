"""Chat throughput under load: servers side by side in one run, 50 chats at once, rounds alternated.

    .venv/bin/python scripts/bench_serve.py [--chats 50] [--rounds 3] [--concurrency 4 8 16] [--encoders openvino ...]
                                            [--baseline-src DIR [--baseline-index DIR]] [--index DIR] [--json]

Each configuration is a ``serve`` process on 127.0.0.1 over the same index: the current code at each
``--concurrency`` (``Config.serve_concurrency``), and, with ``--baseline-src``, another checkout's code (e.g. a
``git worktree`` of an older commit, imported through ``PYTHONPATH``) at its defaults, over
``--baseline-index`` when that code cannot read the current index format. The chat clients connect
first; then every round sends ``--chats`` questions at once to each server in turn (so all see the same machine
load) and records the wall time until the last answer, the server's CPU seconds and this process's (the clients',
all in one Python process). Printed: answers per second (best and median round), server and client CPU per answer,
and the ratio of answers per second to the first configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gradio_client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import MAX_CLIENTS, QUESTIONS, burst  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVE = ("import sys; from rag.config import Config; from rag.pipeline import PaperTrail; from ui.app import launch; "
         "c = Config(show_progress=False{extra}); launch(PaperTrail.open(c.with_(index_dir=__import__('pathlib')"
         ".Path(sys.argv[1]))), port=int(sys.argv[2]))")


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    clients: list[Client] = field(default_factory=list)
    rounds: list[dict] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name: str, index: Path, src: Path, concurrency: int | None, encoder: str | None = None) -> Server:
    port = free_port()
    extra = (f", serve_concurrency={concurrency}" if concurrency else "") + (f", encoder={encoder!r}" if encoder else "")
    env = {**os.environ, "PYTHONPATH": str(src)}
    process = subprocess.Popen([sys.executable, "-c", SERVE.format(extra=extra), str(index), str(port)], cwd=src,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Server(name, process, port)


def wait_up(server: Server, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"error: server {server.name} exited with {server.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), 1):
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"error: server {server.name} not up after {timeout} s")


def chat_round(server: Server, chats: int, timeout: float) -> dict:
    cpu, clients, started = server.cpu_seconds(), time.process_time(), time.perf_counter()
    phase, _ = burst("chat", chats, lambda i: server.clients[i].predict(QUESTIONS[i % len(QUESTIONS)],
                                                                       api_name="/chat"), timeout)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "server_cpu_s": server.cpu_seconds() - cpu, "client_cpu_s": time.process_time() - clients,
            "ok": len(phase.seconds), "errors": len(phase.errors), "p50_ms": phase.summary()["p50_ms"]}


def summary(server: Server, chats: int) -> dict:
    rates = [r["ok"] / r["wall_s"] for r in server.rounds]
    return {"server": server.name, "chats": chats, "rounds": len(rates), "answers_per_s_best": max(rates),
            "answers_per_s_median": statistics.median(rates),
            "cpu_ms_per_answer": 1000 * statistics.median(r["server_cpu_s"] / max(r["ok"], 1) for r in server.rounds),
            "client_cpu_ms_per_answer": 1000 * statistics.median(r["client_cpu_s"] / max(r["ok"], 1)
                                                                 for r in server.rounds),
            "p50_ms_median": statistics.median(r["p50_ms"] or 0 for r in server.rounds),
            "errors": sum(r["errors"] for r in server.rounds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[0],
                        help="serve_concurrency values for the current code (0: the default)")
    parser.add_argument("--encoders", nargs="*", default=[""],
                        help="Config.encoder values for the current code (\"\": the default), each at each concurrency")
    parser.add_argument("--baseline-src", type=Path, help="another checkout to serve at its defaults, compared first")
    parser.add_argument("--baseline-index", type=Path, help="the index the baseline serves (default: --index)")
    parser.add_argument("--index", type=Path, default=ROOT / "embeddings" / "index")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.chats <= MAX_CLIENTS:
        raise SystemExit(f"error: need 1 ≤ chats ≤ {MAX_CLIENTS}")
    servers = []
    if args.baseline_src:
        servers.append(start(f"baseline {args.baseline_src.name}", args.baseline_index or args.index,
                             args.baseline_src.resolve(), None))
    servers += [start(f"current, concurrency {c or 'default'}, encoder {e or 'default'}", args.index, ROOT, c, e)
                for e in args.encoders for c in args.concurrency]
    try:
        for server in servers:
            wait_up(server)
            server.clients = [Client(server.url, verbose=False) for _ in range(args.chats)]
            chat_round(server, min(args.chats, 4), args.timeout)  # warm: model loaded, first answers cached
        for _ in range(args.rounds):
            for server in servers:
                server.rounds.append(chat_round(server, args.chats, args.timeout))
    finally:
        for server in servers:
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(30)
    rows = [summary(s, args.chats) for s in servers]
    for row in rows:
        row["ratio"] = row["answers_per_s_median"] / rows[0]["answers_per_s_median"]
        print(json.dumps(row, ensure_ascii=False) if args.json else
              f"{row['server']:32} {row['answers_per_s_median']:6.2f} answers/s (best {row['answers_per_s_best']:.2f})"
              f"  {row['cpu_ms_per_answer']:5.0f} ms server CPU/answer  {row['client_cpu_ms_per_answer']:5.0f} ms "
              f"client CPU/answer  p50 {row['p50_ms_median']:7.0f} ms  "
              f"{row['ratio']:.2f}×  errors {row['errors']}")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
