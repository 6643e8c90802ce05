"""Requests from other sites refused: an ASGI middleware in front of the whole server (chat and HTTP API).

A web page on another site can make the user's browser send a form or a plain-text POST to this server
(no preflight is needed) and so add, remove or ask with the user's pages. A browser names the page that sent a
request in its ``Origin`` header: a request whose ``Origin`` is not this server (its ``Host``, or the
``X-Forwarded-Host`` a reverse proxy passes) is answered 403, whatever its method. Programs (the CLI's clients,
OpenAI clients, curl) send no ``Origin`` and pass.

A server listening on a loopback address also refuses a ``Host`` that is not a loopback name (421): a site
whose name was made to resolve to 127.0.0.1 (DNS rebinding) would otherwise be "this server" to the browser.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, without port) names this machine only."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(authority: str) -> str:
    """The host of a ``Host`` header value (``127.0.0.1:7860``, ``[::1]:7860``), without its port."""
    return urlsplit(f"//{authority}").hostname or ""


class SameOrigin:
    """Wraps an ASGI app; see the module docstring. ``loopback``: the server listens on a loopback address."""

    def __init__(self, app: Any, loopback: bool) -> None:
        self.app = app
        self.loopback = loopback

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.loopback and host and not is_loopback(host_name(host)):
            await refuse(scope, send, 421, f"This server answers on this machine only, not as {host!r}.")
            return
        origin = headers.get("origin")
        if origin is not None:
            ours = {h.strip().lower() for h in (host, *headers.get("x-forwarded-host", "").split(",")) if h.strip()}
            if urlsplit(origin).netloc.lower() not in ours:
                await refuse(scope, send, 403, "Requests sent by pages of other sites are refused.")
                return
        await self.app(scope, receive, send)


async def refuse(scope: dict[str, Any], send: Any, status: int, message: str) -> None:
    """Answer ``status`` with the API's JSON error (a WebSocket is closed instead)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": status}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
