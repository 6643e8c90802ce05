"""The HTTP API, served beside the web chat by the same server and behind the same credentials.

REST (``ui.api.rest``): ``POST /api/ask``, ``GET /api/pages``, ``POST /api/pages``, ``DELETE /api/pages/{id}``.
OpenAI-compatible (``ui.api.openai_compat``): ``GET /v1/models``, ``POST /v1/chat/completions``.
"""

from __future__ import annotations

from starlette.routing import Route

from rag.pipeline import PaperTrail
from ui.api import openai_compat, rest
from ui.api.base import Api


def routes(rag: PaperTrail, auth: tuple[str, str] | None) -> list[Route]:
    """Every API route over ``rag``; with ``auth`` (user, password) each requires those credentials."""
    api = Api(rag, auth)
    return [*rest.routes(api), *openai_compat.routes(api)]
