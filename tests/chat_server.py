"""A real HTTP server on 127.0.0.1 speaking OpenAI chat completions (JSON and SSE) with scripted replies."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply: ``text`` (or a function of the request body), an HTTP ``status``, a ``delay`` first."""

    text: str | Callable[[dict[str, Any]], str] = ""
    status: int = 200
    delay: float = 0.0


class ChatServer:
    """Serves ``POST /v1/chat/completions``; replies are used in order, the last one repeats; requests are kept."""

    def __init__(self, *replies: Reply | str) -> None:
        self.replies = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        self.requests: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        """``time.monotonic()`` of each request."""
        self.released = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_reply(self, body: dict[str, Any]) -> Reply:
        self.requests.append(body)
        self.arrived.append(time.monotonic())
        return self.replies[min(len(self.requests), len(self.replies)) - 1]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = server.next_reply(body)
                if reply.delay and server.released.wait(reply.delay):
                    return
                if reply.status != 200:
                    self._send(reply.status, "application/json",
                               json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}))
                    return
                text = reply.text(body) if callable(reply.text) else reply.text
                if body.get("stream"):
                    self._send(200, "text/event-stream", "".join(sse(body["model"], text)))
                else:
                    self._send(200, "application/json", json.dumps(completion(body["model"], text)))

            def _send(self, status: int, kind: str, payload: str) -> None:
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def completion(model: str, text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


def sse(model: str, text: str, size: int = 4) -> list[str]:
    """The text as chat.completion.chunk events of ``size`` characters, then ``[DONE]``."""
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    deltas = [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]
    chunks = [{"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
               "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks[-1]["choices"][0]["finish_reason"] = "stop"
    return [f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]


SOURCE = re.compile(r'<source n="(\d+)" label="([^"]*)">\n(.*?)\n</source>', re.S)


def sources(body: dict[str, Any]) -> dict[int, str]:
    """The numbered source texts of a chat request, as the prompt gives them."""
    user = body["messages"][-1]["content"]
    return {int(n): text for n, _, text in SOURCE.findall(user)}


def source_with(body: dict[str, Any], needle: str) -> int:
    """The number of the first source holding ``needle``."""
    return next(n for n, text in sources(body).items() if needle in text)
