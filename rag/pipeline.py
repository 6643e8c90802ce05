"""The public entry point: open or build an index, ingest pages, ask questions."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.answer import select_evidence, should_abstain
from rag.cite import abstention, cited_answer
from rag.config import Config
from rag.embed import Embedder
from rag.index import Index
from rag.ingest import IngestReport, ingest
from rag.retrieve import Retriever, chunk_filter, cjk_share
from rag.types import Answer, Hit


class PaperTrail:
    """A loaded index with its embedder; thread-safe for concurrent ``ask`` calls."""

    def __init__(self, index: Index, config: Config, embedder: Embedder | None = None) -> None:
        self.config = config
        self.index = index
        self.embedder = embedder or Embedder(config)
        self.retriever = Retriever(index, self.embedder, config)
        self.lock = threading.RLock()

    @classmethod
    def open(cls, config: Config | None = None, build_from: Iterable[Path] | None = None) -> PaperTrail:
        """Load ``config.index_dir``; if it does not exist, build it from ``build_from`` (default: the sample pages)."""
        config = config or Config()
        if (config.index_dir / "manifest.json").exists():
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
        """Add pages (files or folders) and save the index."""
        with self.lock:
            report = ingest([Path(p) for p in paths], self.index, self.embedder, self.config)
            if save and report.indexed:
                self.index.save(self.config.index_dir)
        return report

    def search(self, question: str, top_k: int | None = None, papers: list[str] | None = None,
               date_from: str | None = None, date_to: str | None = None) -> list[Hit]:
        return self.retriever.search(question, top_k, chunk_filter(papers, date_from, date_to))

    def ask(self, question: str, papers: list[str] | None = None,
            date_from: str | None = None, date_to: str | None = None) -> Answer:
        """Answer one question from the pages, citing the passages used."""
        question = question.strip()
        if not question:
            raise ValueError("empty question")
        query = self.embedder.encode_queries([question])[0]
        where = chunk_filter(papers, date_from, date_to)
        with self.lock:
            hits = self.retriever.search_vector(question, query, self.config.top_k, where) if len(self.index) else []
        evidence = select_evidence(question, query, hits, self.embedder, self.index.lexical, self.config)
        if should_abstain(question, hits, evidence, self.index, self.config):
            return abstention(question, cjk_share(question) > 0.3)
        return cited_answer(question, evidence)

    def ask_stream(self, question: str, **filters) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are ready, then the finished ``Answer``."""
        answer = self.ask(question, **filters)
        for piece in answer.answer.split(" "):
            yield piece + " "
        yield answer

    def ask_batch(self, questions: Iterable[str]) -> list[Answer]:
        return [self.ask(q) for q in questions]
