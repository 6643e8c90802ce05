"""The public entry point: open or build an index, ingest pages, ask questions."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from rag.answer import Decision, decide
from rag.answer_model import load_model
from rag.cite import abstention, cited_answer, lead_with
from rag.config import Config
from rag.embed import Embedder
from rag.index import Index, current_version
from rag.ingest import IngestReport, ingest, remove
from rag.lock import write_lock
from rag.llm import ChatClient, LLMError, relay
from rag.prompt import NO_ANSWER, Turn, answer_messages, heuristic_rewrite, rewrite_messages
from rag.retrieve import Retriever, chunk_filter, cjk_share
from rag.types import Answer, Document, Filters, Hit
from rag.verify import Verifier

UNVERIFIED = "No sentence of the LLM's answer was supported by the sources; showing the extractive answer."


def unavailable(err: LLMError) -> str:
    return f"LLM unavailable ({err}); showing the extractive answer."


class PaperTrail:
    """A loaded index with its embedder; thread-safe for concurrent ``ask`` calls."""

    def __init__(self, index: Index, config: Config, embedder: Embedder | None = None) -> None:
        self.config = config
        self.index = index
        self.embedder = embedder or Embedder(config)
        self.retriever = Retriever(index, self.embedder, config)
        self.llm = ChatClient(config) if config.llm_base_url else None
        self.answer_model = load_model(config.answer_model) if config.answer_model else load_model()
        self.lock = threading.RLock()

    @classmethod
    def open(cls, config: Config | None = None, build_from: Iterable[Path] | None = None) -> PaperTrail:
        """Load ``config.index_dir``; if it does not exist, build it from ``build_from`` (default: the sample pages)."""
        config = config or Config()
        if Index.exists(config.index_dir):
            return cls(Index.load(config.index_dir), config)
        rag = cls.create(config)
        rag.ingest(list(build_from) if build_from is not None else [config.sample_dir])
        return rag

    @classmethod
    def create(cls, config: Config | None = None, embedder: Embedder | None = None) -> PaperTrail:
        """An empty index for ``config.model`` (saved on the first ingest)."""
        config = config or Config()
        embedder = embedder or Embedder(config)
        return cls(Index(config.model, embedder.dim), config, embedder)

    def ingest(self, paths: Iterable[Path], save: bool = True) -> IngestReport:
        """Add pages (files or folders) and save the index (one writer at a time: ``IndexBusyError``)."""
        with self.lock, write_lock(self.config.index_dir) if save else nullcontext():
            self._reload_if_stale()
            report = ingest([Path(p) for p in paths], self.index, self.embedder, self.config)
            if save and (report.indexed or report.removed):
                self.index.save(self.config.index_dir)
        return report

    def remove(self, key: str) -> list[Document]:
        """Delete the documents named by ``key`` (source, doc id or path) and save; returns them."""
        with self.lock, write_lock(self.config.index_dir):
            self._reload_if_stale()
            removed = remove(self.index, key, self.config)
            if removed:
                self.index.save(self.config.index_dir)
        return removed

    def _reload_if_stale(self) -> None:
        """Load the saved index again if another process saved a newer version since we loaded ours."""
        if self.index.version is not None and current_version(self.config.index_dir) != self.index.version:
            self.index = Index.load(self.config.index_dir)
            self.retriever = Retriever(self.index, self.embedder, self.config)

    def search(self, question: str, top_k: int | None = None, papers: list[str] | None = None,
               date_from: str | None = None, date_to: str | None = None) -> list[Hit]:
        return self.retriever.search(question, top_k, chunk_filter(papers, date_from, date_to))

    def ask(self, question: str, history: list[Turn] | None = None, papers: list[str] | None = None,
            date_from: str | None = None, date_to: str | None = None) -> Answer:
        """Answer one question (a follow-up to ``history``, a list of (user, assistant) turns), citing the passages used."""
        *_, answer = self.ask_stream(question, history, papers=papers, date_from=date_from, date_to=date_to)
        return answer

    def ask_stream(self, question: str, history: list[Turn] | None = None, papers: list[str] | None = None,
                   date_from: str | None = None, date_to: str | None = None) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are ready, then the finished, verified ``Answer``.

        With an LLM configured the pieces are its raw reply; the final ``Answer`` (markers checked and
        renumbered, unsupported sentences replaced) is what to show. If the LLM fails, the extractive
        answer follows with a one-line ``notice``.
        """
        question = question.strip()
        if not question:
            raise ValueError("empty question")
        standalone, notice = self.standalone(question, history or [])
        filters = Filters(papers or None, date_from or None, date_to or None)
        decision = self.decide(standalone, filters)
        written = None
        if self.llm and decision.answer and notice is None:
            try:
                written = yield from self._written(question, standalone, decision)
            except LLMError as err:
                notice = unavailable(err)
        if written is not None and written.answer:
            yield written
            return
        answer = self.extractive(question, decision, filters)
        answer.notice = UNVERIFIED if written is not None else notice
        answer.unsupported = written.unsupported if written is not None else []
        for piece in answer.answer.split(" "):
            yield piece + " "
        yield answer

    def decide(self, question: str, filters: Filters | None = None) -> Decision:
        """Retrieve and run the answer stage on one version of the index: the evidence, and answer or refuse."""
        filters = filters or Filters()
        query = self.embedder.encode_queries([question])[0]
        where = chunk_filter(filters.papers, filters.date_from, filters.date_to)
        with self.lock:
            index, retriever = self.index, self.retriever
        hits = retriever.search_vector(question, query, self.config.top_k, where) if len(index) else []
        return decide(question, query, hits, self.embedder, index, self.config, self.answer_model)

    def extractive(self, question: str, decision: Decision, filters: Filters | None = None) -> Answer:
        """The extractive answer of a decision: its evidence sentences cited, or the refusal naming the filters."""
        if not decision.answer:
            answer = abstention(question, cjk_share(question) > 0.3, filters)
        else:
            answer = cited_answer(question, decision.evidence, decision.short_answer)
        answer.confidence = round(decision.confidence, 4)
        return answer

    def standalone(self, question: str, history: list[Turn]) -> tuple[str, str | None]:
        """The question made standalone from the chat history, and a notice if the LLM failed doing so."""
        if not history:
            return question, None
        if self.llm is None:
            return heuristic_rewrite(question, history), None
        try:
            lines = self.llm.complete(rewrite_messages(question, history)).strip().splitlines()
        except LLMError as err:
            return heuristic_rewrite(question, history), unavailable(err)
        return (lines[0].strip(' "“”') if lines else "") or question, None

    def _written(self, question: str, standalone: str, decision: Decision) -> Generator[str, None, Answer]:
        """Stream the LLM's answer, then check it against the sources."""
        reply = yield from relay(self.llm.stream(answer_messages(standalone, decision.hits)), NO_ANSWER)
        if reply.strip().startswith(NO_ANSWER):
            return abstention(question, cjk_share(question) > 0.3)
        checked = Verifier(decision.hits, decision.evidence, self.embedder, self.config).check(reply)
        return Answer(question, lead_with(decision.short_answer, checked.text), False, checked.citations,
                      checked.unsupported, short_answer=decision.short_answer,
                      confidence=round(decision.confidence, 4))

    def ask_batch(self, questions: Iterable[str]) -> list[Answer]:
        return [self.ask(q) for q in questions]
