"""A chat-completions client for any OpenAI-compatible endpoint: one deadline, retries with backoff, streaming."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from rag.config import Config

if TYPE_CHECKING:
    import openai

T = TypeVar("T")
Messages = list[dict[str, str]]


class LLMError(Exception):
    """The endpoint failed, timed out or answered an error; the message is one line for the user."""


class ChatClient:
    """Sends chat messages to ``config.llm_base_url``; every call ends within ``config.llm_timeout`` seconds.

    ``openai`` is imported here, when an endpoint is configured, not when ``rag`` is (half a second of a cold start).
    """

    def __init__(self, config: Config) -> None:
        import openai

        self.config = config
        self.openai = openai
        self.retryable = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError,
                          openai.ConflictError)
        self.client = openai.OpenAI(base_url=config.llm_base_url, api_key=config.llm_api_key or "no-key",
                                    timeout=config.llm_timeout, max_retries=0)

    def complete(self, messages: Messages) -> str:
        """The whole reply text (a JSON response)."""
        deadline = time.monotonic() + self.config.llm_timeout
        reply = self._retry(lambda timeout: self._create(messages, timeout, stream=False), deadline)
        return (reply.choices[0].message.content or "") if reply.choices else ""

    def stream(self, messages: Messages) -> Iterator[str]:
        """The reply as text deltas (server-sent events); only the opening request is retried."""
        deadline = time.monotonic() + self.config.llm_timeout
        chunks = self._retry(lambda timeout: self._create(messages, timeout, stream=True), deadline)
        with chunks:
            try:
                for chunk in chunks:
                    if time.monotonic() > deadline:
                        raise LLMError(f"the LLM did not finish within {self.config.llm_timeout:g}s")
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        yield delta
            except self.openai.OpenAIError as err:
                raise LLMError(self.describe(err)) from err

    def _create(self, messages: Messages, timeout: float, stream: bool) -> Any:
        return self.client.chat.completions.create(
            model=self.config.llm_model or "default", messages=messages, stream=stream, timeout=timeout,
            temperature=self.config.llm_temperature, max_tokens=self.config.llm_max_tokens)

    def _retry(self, call: Callable[[float], T], deadline: float) -> T:
        """Run ``call(seconds_left)``, retrying passing failures with exponential backoff until the deadline."""
        attempt = 0
        while True:
            try:
                return call(max(deadline - time.monotonic(), 0.001))
            except self.retryable as err:
                pause = self.config.llm_backoff * 2**attempt
                if attempt == self.config.llm_retries or time.monotonic() + pause >= deadline:
                    raise LLMError(self.describe(err)) from err
                time.sleep(pause)
                attempt += 1
            except self.openai.OpenAIError as err:
                raise LLMError(self.describe(err)) from err

    def describe(self, err: openai.OpenAIError) -> str:
        """One line saying what went wrong with the endpoint."""
        openai, config = self.openai, self.config
        if isinstance(err, openai.APITimeoutError):
            return f"the LLM at {config.llm_base_url} did not answer within {config.llm_timeout:g}s"
        if isinstance(err, openai.APIConnectionError):
            return f"cannot reach the LLM at {config.llm_base_url}"
        if isinstance(err, openai.APIStatusError):
            return f"the LLM at {config.llm_base_url} answered HTTP {err.status_code}"
        return f"the LLM failed: {str(err).splitlines()[0] if str(err) else type(err).__name__}"


def relay(deltas: Iterator[str], withhold: str) -> Generator[str, None, str]:
    """Pass deltas on, except a reply that is or starts with ``withhold`` (held back); return the full text."""
    text, sent = "", 0
    for delta in deltas:
        text += delta
        head = text.lstrip()
        if withhold.startswith(head) or head.startswith(withhold):
            continue
        yield text[sent:]
        sent = len(text)
    if sent < len(text) and not text.lstrip().startswith(withhold):
        yield text[sent:]
    return text
