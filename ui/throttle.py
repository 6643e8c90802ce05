"""Per-client backoff on wrong passwords: after a few, each try must wait, doubling each time.

An ASGI middleware in front of Gradio's ``POST /login`` and the HTTP API (``/api/…``, ``/v1/…``, where a wrong
or missing password is a 401): a client (by address) that has failed ``Config.login_free_attempts`` times in a
row is answered 429 with ``Retry-After`` until its wait (``Config.login_backoff`` seconds, doubled per further
failure, at most ``Config.login_backoff_max``) is over; a right password resets it. Every other request passes
untouched.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from rag.config import Config

Scope = dict[str, Any]
MAX_CLIENTS = 10_000
"""Clients remembered at most (the oldest are forgotten first)."""
API_PATHS = ("/api/", "/v1/")


@dataclass
class Failures:
    count: int = 0
    until: float = 0.0


class LoginBackoff:
    """Wraps an ASGI app; see the module docstring."""

    def __init__(self, app: Any, config: Config) -> None:
        self.app = app
        self.config = config
        self.clients: dict[str, Failures] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        login = scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/") == "/login"
        if not (login or scope["type"] == "http" and scope["path"].startswith(API_PATHS)):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.wait(client)
        if wait > 0:
            await refuse(send, wait)
            return
        status = 0

        async def watch(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        self.record(client, ok=status < 400 if login else status != 401)

    def wait(self, client: str) -> float:
        """Seconds ``client`` must still wait before its next try."""
        with self.lock:
            failures = self.clients.get(client)
            return max(0.0, failures.until - time.monotonic()) if failures else 0.0

    def record(self, client: str, ok: bool) -> None:
        with self.lock:
            if ok:
                self.clients.pop(client, None)
                return
            failures = self.clients.pop(client, None) or Failures()
            failures.count += 1
            extra = failures.count - self.config.login_free_attempts
            if extra >= 0:
                delay = min(self.config.login_backoff * 2 ** extra, self.config.login_backoff_max)
                failures.until = time.monotonic() + delay
            self.clients[client] = failures
            while len(self.clients) > MAX_CLIENTS:
                del self.clients[next(iter(self.clients))]


async def refuse(send: Any, wait: float) -> None:
    body = json.dumps({"detail": f"Too many wrong passwords; try again in {math.ceil(wait)} s."}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", str(math.ceil(wait)).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
