"""What the HTTP API's routes share: the credentials check, JSON bodies, errors as JSON, work off the event loop.

Every error is ``{"error": {"message", "type", "code"}}`` (the OpenAI shape, so OpenAI clients show the message),
never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rag.lock import IndexBusyError
from rag.pipeline import PaperTrail, QuestionTooLong

Endpoint = Callable[[Request], Awaitable[Response]]
RECEIVING = 4
"""Upload bodies read at once at most: each may spool ``Config.max_file_bytes`` to a temporary file."""
MAX_JSON_BYTES = 1024 * 1024
"""A JSON body's size at most: a question and its chat history, with room to spare."""
Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")
log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request refused with ``status``; the message is meant for the caller."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status, headers)


def allowed(auth: tuple[str, str] | None, header: str | None) -> bool:
    """Whether an ``Authorization`` header carries the server's credentials: HTTP Basic with the user name and
    password, or ``Bearer <password>`` (an OpenAI client's ``api_key``). Without ``auth`` everyone is allowed."""
    if auth is None:
        return True
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return same(value, auth[1])
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return bool(sep) & same(user, auth[0]) & same(password, auth[1])  # both compared, in constant time


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Api:
    """The state the routes share: the ``PaperTrail``, the credentials and limits on concurrent work.

    Answers run ``Config.serve_concurrency`` at a time and uploads one at a time, in worker threads, as in the
    web chat's queue (the two keep separate counts); at most ``RECEIVING`` upload bodies are read (spooled to
    temporary files) at once, the others wait unread.
    """

    def __init__(self, rag: PaperTrail, auth: tuple[str, str] | None) -> None:
        self.rag = rag
        self.auth = auth
        self.answering = anyio.CapacityLimiter(rag.config.serve_concurrency)
        self.uploading = anyio.CapacityLimiter(1)
        self.receiving = anyio.CapacityLimiter(RECEIVING)

    def route(self, path: str, endpoint: Endpoint, methods: list[str]) -> Route:
        """``endpoint`` at ``path``, behind the credentials check, with every failure answered as JSON."""
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            if not allowed(self.auth, request.headers.get("authorization")):
                return error(401, "Give the server's credentials: HTTP Basic user:password, or Bearer <password>.",
                             "authentication_error", {"WWW-Authenticate": 'Basic realm="PaperTrail"'})
            try:
                return await endpoint(request)
            except ApiError as err:
                return error(err.status, err.message, err.kind)
            except HTTPException as err:  # Starlette's refusal of a malformed body, e.g. a bad multipart form
                return error(err.status_code, str(err.detail), "invalid_request_error")
            except QuestionTooLong as err:
                return error(400, f"{str(err)[0].upper()}{str(err)[1:]}.", "invalid_request_error")
            except IndexBusyError as err:
                return error(503, str(err), "server_error", {"Retry-After": "1"})
            except Exception:  # the API boundary: the trace goes to the server log, never to the caller
                log.exception("%s %s failed", request.method, request.url.path)
                return error(500, "The server failed on this request; the reason is in its log.", "server_error")

        return Route(path, guarded, methods=methods)

    async def answer(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread, at most ``Config.serve_concurrency`` at once."""
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=self.answering)


async def body(request: Request, model: type[Model]) -> Model:
    """The request's JSON body as ``model``; a malformed or mistyped one is a 400 naming the fields, one over
    ``MAX_JSON_BYTES`` a 413 (read no further)."""
    received = bytearray()
    async for part in request.stream():
        received += part
        if len(received) > MAX_JSON_BYTES:
            raise ApiError(413, f"The body is over the {MAX_JSON_BYTES // 1024} KiB a request may carry.")
    try:
        data = json.loads(received)
    except ValueError as err:
        raise ApiError(400, "The body must be a JSON object.") from err
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors())
        raise ApiError(400, f"Invalid request: {problems}.") from err
