"""Encode questions that arrive together in one batch.

Under load, several chats ask at once. One encoder run over a batch of questions costs far less than a run for
each (the matrix products fill the cores), so ``Coalescer`` gathers the questions that arrive while the encoder
is busy and encodes them together when it is free. A question that arrives alone is encoded at once: there is no
waiting window, so a lone question is not slowed.

The work runs in the callers' threads: the first caller encodes the batch its question is in, then hands over to
the next waiting caller, whose batch holds every question that arrived meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np


class _Call:
    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.ready = threading.Event()

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        assert self.vector is not None
        return self.vector


class Coalescer:
    """``coalescer(text)`` is ``encode([text])[0]``, with concurrent calls encoded ``max_batch`` at a time."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._encode = encode
        self._max = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Call] = []
        self._busy = False

    def __call__(self, text: str) -> np.ndarray:
        call = _Call(text)
        with self._lock:
            self._waiting.append(call)
            call.lead = not self._busy
            self._busy = True
        if not call.lead:
            call.ready.wait()
            if not call.lead:
                return call.result()
        self._run_batch()
        return call.result()

    def _run_batch(self) -> None:
        """Encode the first ``max_batch`` waiting calls (the leader's is first), then hand over or go idle."""
        with self._lock:
            batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
        try:
            vectors = self._encode([c.text for c in batch])
            for c, vector in zip(batch, vectors):
                c.vector = vector
        except BaseException as error:  # every caller in the batch gets the encoder's error, then it goes on
            for c in batch:
                c.error = error
        finally:
            for c in batch[1:]:
                c.ready.set()
            with self._lock:
                if self._waiting:
                    nxt = self._waiting[0]
                    nxt.lead = True
                    nxt.ready.set()
                else:
                    self._busy = False
