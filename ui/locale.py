"""The language chosen with the web chat's toggle, for Gradio's own words too.

Gradio's front end sets the language of its own words (the file drop zone, "Clear", "Loading…") once, from
``navigator.language``, as it starts: before any script of the page's ``head`` runs. ``ChosenLanguage`` is an
ASGI middleware that puts a first script into every HTML page Gradio serves. The script makes the language
chosen with the toggle (kept in the browser's localStorage by ``ui/assets/app.js``) the browser's language for
that page, so Gradio's words and the chat's own (``ui.i18n``) follow the same choice.
"""

from __future__ import annotations

from typing import Any

STORAGE_KEY = "papertrail-locale"
SCRIPT = (
    "<script>(() => { const chosen = localStorage.getItem(%r); if (!chosen) return;"
    " Object.defineProperty(navigator, 'language', { get: () => chosen, configurable: true });"
    " Object.defineProperty(navigator, 'languages', { get: () => [chosen], configurable: true }); })();</script>"
    % STORAGE_KEY
).encode()


class ChosenLanguage:
    """Wraps an ASGI app; see the module docstring. Every response other than an HTML page passes untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        body: list[bytes] = []

        async def page(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {key.lower(): value for key, value in message.get("headers", [])}
                if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                    start = message  # held until the whole page is read
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                html = b"".join(body).replace(b"<head>", b"<head>" + SCRIPT, 1)
                headers = [(key, value) for key, value in start.get("headers", []) if key.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(html)).encode())]})
                await send({"type": "http.response.body", "body": html})
                return
            await send(message)

        await self.app(scope, receive, page)
