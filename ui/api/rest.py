"""The REST routes: ``POST /api/ask``, ``GET``/``POST /api/pages``, ``DELETE /api/pages/{id}`` and
``GET /api/pages/{id}/image`` (a scanned page's image)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from rag.types import Page
from ui.api.base import Api, ApiError, body
from ui.filters import filters
from ui.uploads import UploadError, add_upload, page_meta

FORM_OVERHEAD = 64 * 1024
"""Bytes a multipart upload may carry beyond the page file itself (boundaries, headers, metadata fields)."""
OUTCOME_STATUS = {"added": 201, "skipped": 409, "failed": 422, "refused": 400}


class AskRequest(BaseModel):
    """The body of ``POST /api/ask``; unknown fields are refused, so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")
    question: str
    papers: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None
    page: int | None = None


def question_filters(papers: list[str] | None, date_from: str | None, date_to: str | None,
                     page: int | None = None) -> dict[str, Any]:
    """``ui.filters.filters``, its refusals as 400s."""
    try:
        return filters(papers, date_from, date_to, page)
    except ValueError as err:
        raise ApiError(400, str(err)) from err


def asked(question: str) -> str:
    question = question.strip()
    if not question:
        raise ApiError(400, "The question is empty: ask something about the pages.")
    return question


def page_json(page: Page) -> dict[str, Any]:
    """A page as the API lists it (without its path on the server)."""
    return {k: v for k, v in asdict(page).items() if k != "path"}


def routes(api: Api) -> list[Route]:
    rag = api.rag

    async def ask(request: Request) -> JSONResponse:
        """Answer one question; the answer JSON of ``python -m rag ask --json``."""
        req = await body(request, AskRequest)
        question = asked(req.question)
        answer = await api.answer(rag.ask, question, **question_filters(req.papers, req.date_from, req.date_to, req.page))
        return JSONResponse(answer.to_dict())

    async def pages(request: Request) -> JSONResponse:
        return JSONResponse({"pages": [page_json(p) for p in await run_in_threadpool(rag.pages)]})

    async def delete(request: Request) -> JSONResponse:
        """Delete one page (its chunks, and its stored copy if it was uploaded)."""
        page_id = request.path_params["page_id"]
        page = next((p for p in await run_in_threadpool(rag.pages) if p.id == page_id), None)
        if page is None or not await run_in_threadpool(rag.remove, page.id):
            raise ApiError(404, f"No indexed page has the id {page_id!r} (see GET /api/pages).", "not_found_error")
        return JSONResponse({"removed": page_json(page)})

    async def image(request: Request) -> Response:
        """The image of a scanned page (its display copy, JPEG), from the index's OCR folder only."""
        page_id = request.path_params["page_id"]
        found = await run_in_threadpool(rag.page_image, page_id)
        if found is None:
            raise ApiError(404, f"No indexed page with an image has the id {page_id!r}.", "not_found_error")
        return Response(await anyio.Path(found.path).read_bytes(), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})

    async def upload(request: Request) -> JSONResponse:
        """Add one page: a multipart form with the file as ``file`` and optional ``paper``, ``date``, ``page``."""
        limit = rag.config.max_file_bytes + FORM_OVERHEAD
        async with api.receiving, bounded(request, limit).form(max_files=1, max_fields=8) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise ApiError(400, "Send the page as a multipart/form-data file field named 'file'.")
            try:  # one file at most, and it is 'file': the other fields are text
                meta = page_meta(*(form.get(name) for name in ("paper", "date", "page")))
            except UploadError as err:
                raise ApiError(400, str(err)) from err
            with tempfile.TemporaryDirectory() as folder:
                received = Path(folder) / "upload"
                with received.open("wb") as out:
                    await run_in_threadpool(shutil.copyfileobj, file.file, out)
                done = await anyio.to_thread.run_sync(add_upload, rag, received, file.filename or "page", meta,
                                                      limiter=api.uploading)
        if done.stored is None:
            raise ApiError(OUTCOME_STATUS[done.outcome], " ".join(done.reasons), done.outcome)
        where = os.path.abspath(done.stored)
        added = [page_json(p) for p in await run_in_threadpool(rag.pages) if p.path == where]
        return JSONResponse({"added": added, "stored_as": done.stored.name, "chunks": done.chunks,
                             "warnings": done.warnings}, OUTCOME_STATUS[done.outcome])

    return [api.route("/api/ask", ask, ["POST"]), api.route("/api/pages", pages, ["GET"]),
            api.route("/api/pages", upload, ["POST"]), api.route("/api/pages/{page_id}", delete, ["DELETE"]),
            api.route("/api/pages/{page_id}/image", image, ["GET"])]



class TooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The upload is over the {limit:,}-byte limit.", "request_too_large")


def bounded(request: Request, limit: int) -> Request:
    """The request with its body cut off at ``limit`` bytes (413), whether or not it declares its length."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(limit)
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise TooLarge(limit)
        return message

    return Request(request.scope, receive)
