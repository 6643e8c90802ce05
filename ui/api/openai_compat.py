"""OpenAI-compatible routes, so any OpenAI client or chat front end can use PaperTrail as a model.

``GET /v1/models`` lists the one model, ``papertrail``; ``POST /v1/chat/completions`` answers the last user
message, earlier turns being the history, with or without ``stream``. The message is the answer with its [n]
markers, then the sources as the CLI prints them (paper · date · 第N版 · headline) and any notes; the response
(or the last stream chunk) also carries ``citations``, the citations of ``POST /api/ask``. Optional extra body
fields ``papers``, ``date_from``, ``date_to`` and ``page`` filter the pages, as in ``/api/ask``.

A stream sends the answer once it is checked against the sources: an LLM's raw reply is never streamed, since
its [n] markers are renumbered and unsupported sentences replaced by the check. So a streamed message is the
non-streamed one, in pieces.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rag.cli import format_sources
from rag.prompt import Turn
from rag.types import Answer
from ui.api.base import Api, ApiError, body
from ui.api.rest import asked, question_filters

MODEL = "papertrail"
SOURCES = "\n\nSources:\n"
MARKUP = re.compile(r"([\\\[\]<>])")
log = logging.getLogger(__name__)


class Part(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str
    content: str | list[Part] | None = None

    def text(self) -> str:
        """The text of the message (text parts joined; images and other parts ignored)."""
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """The fields of a chat-completions request that PaperTrail reads; the rest (temperature, …) is ignored."""

    model_config = ConfigDict(extra="ignore")
    messages: list[Message] = Field(min_length=1)
    model: str | None = None
    stream: bool = False
    papers: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None
    page: int | None = None


def conversation(messages: list[Message]) -> tuple[str, list[Turn]]:
    """The question (the last message, which must be the user's) and the earlier (user, assistant) turns.

    System messages are skipped (PaperTrail has its own instructions); the sources list is cut off earlier
    answers, so the history holds what was said."""
    if messages[-1].role != "user":
        raise ApiError(400, "The last message must be the user's question.")
    turns, pending = [], None
    for message in messages[:-1]:
        if message.role == "user":
            pending = message.text()
        elif message.role == "assistant" and pending is not None:
            turns.append((pending, message.text().split(SOURCES)[0]))
            pending = None
    return asked(messages[-1].text()), turns


def appendix(answer: Answer) -> str:
    """What follows the answer text in a message: the sources as the CLI prints them, then any notes."""
    notes = [f"note: removed as unsupported by the sources: {s}" for s in answer.unsupported]
    notes += [f"note: {answer.notice}"] if answer.notice else []
    lines = format_sources(answer) + (["", *notes] if notes else [])
    return "\n" + "\n".join(lines) if lines else ""


def shown(text: str) -> str:
    """``text`` for a chat client that renders Markdown (Open WebUI, Chatbox, LobeChat …): brackets and angle
    brackets escaped, so that page text can make no link, no image fetched from elsewhere, and no HTML."""
    return MARKUP.sub(r"\\\1", text)


def citations(answer: Answer) -> list[dict[str, Any]]:
    return answer.to_dict()["citations"]


def envelope(kind: Literal["chat.completion", "chat.completion.chunk"], reply_id: str, choice: dict[str, Any],
             **extra: Any) -> dict[str, Any]:
    return {"id": reply_id, "object": kind, "created": int(time.time()), "model": MODEL, "choices": [choice], **extra}


def routes(api: Api) -> list[Route]:
    rag = api.rag

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0,
                                                         "owned_by": "papertrail"}]})

    async def completions(request: Request) -> Response:
        req = await body(request, ChatRequest)
        question, history = conversation(req.messages)
        options = {"history": history, **question_filters(req.papers, req.date_from, req.date_to, req.page)}
        reply_id = f"chatcmpl-{uuid.uuid4().hex}"
        ask = functools.partial(api.answer, rag.ask, question, **options)
        if req.stream:
            return StreamingResponse(sse(ask, reply_id), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        answer = await ask()
        message = {"role": "assistant", "content": shown(answer.answer + appendix(answer))}
        return JSONResponse(envelope("chat.completion", reply_id,
                                     {"index": 0, "message": message, "finish_reason": "stop"},
                                     citations=citations(answer)))

    return [api.route("/v1/models", models, ["GET"]), api.route("/v1/chat/completions", completions, ["POST"])]


async def sse(ask: Callable[[], Awaitable[Answer]], reply_id: str) -> AsyncIterator[str]:
    """``chat.completion.chunk`` events: the role at once; the answer, then its sources, once it is checked; a
    last chunk with ``citations``; ``[DONE]``."""
    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk = envelope("chat.completion.chunk", reply_id,
                         {"index": 0, "delta": delta, "finish_reason": finish}, **extra)
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    try:
        done = await ask()
    except Exception:  # headers are sent: the failure goes in the stream, as OpenAI's servers do
        log.exception("streamed answer failed")
        failure = {"message": "The server failed on this request; the reason is in its log.", "type": "server_error"}
        yield f"data: {json.dumps({'error': failure})}\n\n"
    else:
        for text in filter(None, [done.answer, appendix(done)]):
            yield event({"content": shown(text)})
        yield event({}, "stop", citations=citations(done))
    yield "data: [DONE]\n\n"
