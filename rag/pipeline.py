"""The public entry point: open or build an index, ingest pages, ask questions."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.answer import Decision, decide
from rag.answer_model import load_model
from rag.boxes import PageImage, mark
from rag.cite import abstention, cited_answer, lead_with
from rag.config import Config
from rag.embed import Embedder
from rag.ingest import IngestReport, ingest, remove, set_meta
from rag.lock import write_lock
from rag.metadata import checked, write_sidecar
from rag.purge import purge_ocr, purge_uploads
from rag.store import FaissStore, Index, Layout, LexicalStore, QdrantLexicalStore, QdrantStore, SparseStore, VectorStore
from rag.store.qdrant_points import Location
from rag.llm import ChatClient, LLMError, relay
from rag.reader import Reader, open_reader
from rag.prompt import NO_ANSWER, Turn, answer_messages, heuristic_rewrite, rewrite_messages
from rag.retrieve import Retriever
from rag.text import cjk_share, well_formed
from rag.types import Answer, Document, Filters, Hit, Page, PageMeta
from rag.verify import Verifier
from rag.versions import IndexLoadError, prune, read_pointer, versions, write_pointer

UNVERIFIED = "No sentence of the LLM's answer was supported by the sources; showing the extractive answer."


log = logging.getLogger(__name__)


def layout_of(config: Config) -> Layout:
    """How the index's FAISS vectors are kept (``Config.vector_index``)."""
    return Layout(config.vector_index, config.ivf_from, config.ivf_probe_share)


def new_stores(config: Config, dim: int) -> tuple[VectorStore, SparseStore]:
    """The empty dense and BM25 stores of a new index (``Config.store``): FAISS and BM25 in the process, or two
    Qdrant collections, ``Config.collection`` and its ``_bm25`` twin."""
    if config.store == "faiss":
        return FaissStore(dim, layout=layout_of(config)), LexicalStore()
    where, owner = qdrant_location(config), str(config.index_dir.resolve())
    shape = config.qdrant_shards, config.qdrant_replicas
    return (QdrantStore.create(dim, where, config.collection, owner, *shape),
            QdrantLexicalStore.create(where, f"{config.collection}_bm25", owner, *shape))


def qdrant_where(dense: VectorStore, sparse: SparseStore) -> str | None:
    """The Qdrant collection of an index's vectors (and of its BM25 terms when in Qdrant too), as messages name
    them; ``None`` when the vectors are files."""
    if not isinstance(dense, QdrantStore):
        return None
    return dense.where + (f" (BM25 terms in {sparse.collection!r})" if isinstance(sparse, QdrantLexicalStore) else "")


def qdrant_location(config: Config) -> Location:
    """Where a new ``qdrant`` index's collection is: the server ``qdrant_url``, else local mode in ``qdrant_dir``."""
    return Location(url=config.qdrant_url, api_key=config.qdrant_api_key) if config.qdrant_url else \
        Location(path=config.qdrant_dir)


def load_index(config: Config) -> Index:
    """The current version of ``config.index_dir``, its dense store whichever it was saved with."""
    return Index.load(config.index_dir, layout_of(config), config.qdrant_api_key)


def unavailable(err: LLMError) -> str:
    return f"LLM unavailable ({err}); showing the extractive answer."


@dataclass(frozen=True)
class Snapshot:
    """One consistent view of the pages for a request, from start to end: an index and the retriever over it.

    An index is never changed once published: ingest, remove and reloads build a new one and swap it in.
    """

    index: Index
    retriever: Retriever


@dataclass(frozen=True)
class Migration:
    """What ``PaperTrail.migrate`` did: ``moved`` chunks (vectors and BM25 terms) into ``store``; ``left``: the
    Qdrant collections still holding the old version's, to drop once no reader uses it (``None`` for files,
    pruned with their version)."""

    moved: int
    store: str
    left: str | None


class QuestionTooLong(ValueError):
    """A question longer than ``Config.max_question_chars``."""


class PaperTrail:
    """A loaded index with its embedder; thread-safe for concurrent ``ask`` calls."""

    def __init__(self, index: Index, config: Config, embedder: Embedder | None = None) -> None:
        self.config = config
        self.embedder = embedder or Embedder(config)
        self.llm = ChatClient(config) if config.llm_base_url else None
        self.answer_model = load_model(config.answer_model) if config.answer_model else load_model()
        self.lock = threading.RLock()
        """Guards the swap of the current snapshot; held only for an instant, never while embedding or loading."""
        self._writer = threading.Lock()
        self._reloading = threading.Lock()
        self._checked = float("-inf")
        self._publish(index)

    @cached_property
    def reader(self) -> Reader:
        """The reader (``rag.reader``), loaded on the first question."""
        return open_reader(self.config.models_dir, self.config.encoder)

    @property
    def index(self) -> Index:
        return self._snapshot.index

    @property
    def retriever(self) -> Retriever:
        return self._snapshot.retriever

    def snapshot(self) -> Snapshot:
        """The current index and retriever, to use for one whole request even if a new version is swapped in."""
        return self._snapshot

    def _publish(self, index: Index) -> None:
        with self.lock:
            self._snapshot = Snapshot(index, Retriever(index, self.embedder, self.config))

    @classmethod
    def open(cls, config: Config | None = None, build_from: Iterable[Path] | None = None) -> PaperTrail:
        """Load ``config.index_dir`` with the model it was built with; if it does not exist, build it from
        ``build_from``. Without ``build_from`` only the default index is built (from the sample pages): any other
        missing folder is an ``IndexLoadError``, so a mistyped path never quietly becomes a new index."""
        config = config or Config()
        if Index.exists(config.index_dir):
            index = load_index(config)
            return cls(index, config.with_(model=index.model) if index.model != config.model else config)
        if build_from is None and not config.default_index:
            raise IndexLoadError(f"{config.index_dir}: no index here (create one with `papertrail ingest PAGES... "
                                 f"--index {config.index_dir}`)")
        rag = cls.create(config)
        rag.ingest(list(build_from) if build_from is not None else [config.sample_dir])
        return rag

    @classmethod
    def create(cls, config: Config | None = None, embedder: Embedder | None = None) -> PaperTrail:
        """An empty index for ``config.model`` (saved on the first ingest)."""
        config = config or Config()
        embedder = embedder or Embedder(config)
        dense, sparse = new_stores(config, embedder.dim)
        return cls(Index(config.model, embedder.dim, dense, sparse=sparse), config, embedder)

    def ingest(self, paths: Iterable[Path], save: bool = True, progress: Callable[[int, int], None] | None = None,
               ocr_progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Add pages (files or folders) and save the index (one writer at a time: ``IndexBusyError``).

        The new version is built on a copy, so questions keep being answered from the current one, and swapped
        in when saved. ``progress(done, total)`` follows the embedding of the passages and their sentences,
        ``ocr_progress(done, total)`` the OCR of a scanned file's pages.
        """
        with self._writer, write_lock(self.config.index_dir) if save else nullcontext():
            work = (self._reload_if_stale() if save else self.index).copy()
            report = ingest([Path(p) for p in paths], work, self.embedder, self.config, progress, ocr_progress)
            if report.indexed or report.removed:
                if save:
                    work.save(self.config.index_dir)
                self._publish(work)
            # a changed scan's old OCR and page images, and those of files read but not indexed
            purge_ocr({d.sha256 for d in report.removed} | report.digests, work, self.config.ocr_dir)
        return report

    def remove(self, key: str) -> list[Document]:
        """Delete the documents named by ``key`` (source, doc id or path) and save; returns them.

        Their text is gone from disk once saved: older versions are pruned (see ``rag.versions``) and uploaded
        copies under ``<index>.uploads/`` and OCR results under ``<index>.ocr/`` deleted.
        """
        with self._writer, write_lock(self.config.index_dir):
            work = self._reload_if_stale().copy()
            removed = remove(work, key, self.config)
            if removed:
                work.save(self.config.index_dir)
                self._publish(work)
                purge_uploads(removed, work, self.config.uploads_dir)
                purge_ocr({d.sha256 for d in removed}, work, self.config.ocr_dir)
        return removed

    def edit(self, page_id: str, meta: PageMeta) -> Page:
        """Set the paper, date and page number of the page ``page_id`` (``None``: unknown) and save; returns it.

        Only that page changes (another page of the same PDF keeps its own). The edit is saved as a new version,
        like an ingest, so a kill at any moment leaves the old metadata or the new, whole; an uploaded single-file
        page's sidecar under ``<index>.uploads/`` is then replaced atomically too, so an index rebuilt from the
        uploads keeps the edit. Raises ``ValueError`` for a bad field (``rag.metadata.checked``) and
        ``UnknownPage`` when no page has that id (in the version saved last, whoever saved it).
        """
        meta = checked(meta)
        with self._writer, write_lock(self.config.index_dir):
            work = self._reload_if_stale().copy()
            doc = set_meta(work, page_id, meta)
            work.save(self.config.index_dir)
            self._publish(work)
            page = next(p for p in self.pages() if p.id == page_id)
            if page.uploaded and "#" not in doc.source:
                write_sidecar(Path(doc.path), meta)
        return page

    def migrate(self, to: Config, progress: Callable[[int, int], None] | None = None) -> Migration:
        """Move the dense vectors and the BM25 terms into the stores ``to`` names for a new index (``store``,
        ``qdrant_*``, ``vector_index``) and save that as a new version.

        Questions keep being answered from the current version until the new one is swapped in. The old store
        keeps its vectors (older versions use them): FAISS files are pruned with their version, a Qdrant
        collection left behind can be dropped once no reader uses the old version. Moving into the collection the
        vectors are already in is a ``ValueError`` (creating it would empty it).
        """
        with self._writer, write_lock(self.config.index_dir):
            current = self._reload_if_stale()
            target = to.with_(index_dir=self.config.index_dir)
            dense = current.dense
            if target.store == "qdrant" and isinstance(dense, QdrantStore) and \
                    (qdrant_location(target).to_json(), target.collection) == (dense.location.to_json(),
                                                                                dense.collection):
                raise ValueError(f"the vectors are already in {dense.where}")
            moved, sparse = new_stores(target, current.dim)
            work = current.moved_to(moved, sparse, progress)
            work.save(self.config.index_dir)
            self._publish(work)
        return Migration(len(work), qdrant_where(moved, sparse) or target.store, qdrant_where(dense, current.sparse))

    def pages(self) -> list[Page]:
        """The indexed pages, in ingest order, from the current version; each page's ``id`` is a key for ``remove``."""
        return self.snapshot().index.pages(self.config.uploads_dir)

    def _reload_if_stale(self) -> Index:
        """The saved current version to build on (the writer lock is held): ours if up to date, else loaded.

        Loaded when another process saved since we loaded, or ours is an empty stand-in for a folder that has an
        index. If ``CURRENT`` was lost, the newest complete version is loaded and ``CURRENT`` pointed at it again,
        so an ingest never starts empty over saved pages.
        """
        folder, current = self.config.index_dir, self.index
        if not Index.exists(folder):
            return current
        live = read_pointer(folder)
        if live == current.version and (live is not None or current.documents):
            return current
        if live is None and current.version is not None and versions(folder)[-1:] == [current.version]:
            write_pointer(folder, current.version)  # ours was recovered on open: the newest complete version
            return current
        loaded = load_index(self.config)
        if live is None and loaded.version is not None:
            write_pointer(folder, loaded.version)
        self._publish(loaded)
        return loaded

    def refresh(self) -> bool:
        """Swap in the version another process saved (``rag ingest``/``remove``) since ours; returns whether it did.

        A cheap look at ``CURRENT``, at most once per ``Config.reload_interval``; a changed one is loaded outside any
        lock (requests keep answering from their snapshot meanwhile), then older versions are pruned. A version
        that fails to load is logged and the current one kept.
        """
        now = time.monotonic()
        if now - self._checked < self.config.reload_interval or not self._reloading.acquire(blocking=False):
            return False
        try:
            self._checked = now
            folder = self.config.index_dir
            live = read_pointer(folder)
            if live is None or live == self.index.version:
                return False
            loaded = load_index(self.config)
            with self.lock:  # an ingest in this process may have swapped in a newer version meanwhile
                if (loaded.version or "") <= (self.index.version or ""):
                    return False
                self._publish(loaded)
            prune(folder, loaded.version)
            return True
        except IndexLoadError as err:
            log.warning("keeping version %s: %s", self.index.version, err)
            return False
        finally:
            self._reloading.release()

    def search(self, question: str, top_k: int | None = None, papers: list[str] | None = None,
               date_from: str | None = None, date_to: str | None = None, page: int | None = None) -> list[Hit]:
        return self.retriever.search(question, top_k, Filters(papers or None, date_from or None, date_to or None, page))

    def ask(self, question: str, history: list[Turn] | None = None, papers: list[str] | None = None,
            date_from: str | None = None, date_to: str | None = None, page: int | None = None) -> Answer:
        """Answer one question (a follow-up to ``history``, a list of (user, assistant) turns), citing the passages used."""
        *_, answer = self.ask_stream(question, history, papers=papers, date_from=date_from, date_to=date_to, page=page)
        return answer

    def ask_stream(self, question: str, history: list[Turn] | None = None, papers: list[str] | None = None,
                   date_from: str | None = None, date_to: str | None = None,
                   page: int | None = None) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are ready, then the finished, verified ``Answer``.

        With an LLM configured the pieces are its raw reply; the final ``Answer`` (markers checked and
        renumbered, unsupported sentences replaced) is what to show. If the LLM fails, the extractive
        answer follows with a one-line ``notice``.
        """
        question = well_formed(question).strip()
        if not question:
            raise ValueError("empty question")
        history = [(well_formed(q), well_formed(a)) for q, a in history or []]
        papers = [well_formed(p) for p in papers] if papers else None
        limit = self.config.max_question_chars
        if len(question) > limit:
            raise QuestionTooLong(f"the question is {len(question):,} characters long; ask one of at most {limit:,}")
        standalone, notice = self.standalone(question, history)
        standalone = standalone[-limit:]  # a rewrite from long earlier turns is read up to the same length
        filters = Filters(papers or None, date_from or None, date_to or None, page)
        decision = self.decide(standalone, filters)
        written = None
        if self.llm and decision.answer and notice is None:
            try:
                written = yield from self._written(question, standalone, decision)
            except LLMError as err:
                notice = unavailable(err)
        if written is not None and written.answer:
            self._mark(written)
            yield written
            return
        answer = self.extractive(question, decision, filters)
        answer.notice = UNVERIFIED if written is not None else notice
        answer.unsupported = written.unsupported if written is not None else []
        for piece in answer.answer.split(" "):
            yield piece + " "
        self._mark(answer)
        yield answer

    def page_image(self, page_id: str) -> PageImage | None:
        """The image of the scanned page ``page_id`` (its display copy, JPEG), when it has one: always a file in
        ``Config.ocr_dir``, never a path elsewhere."""
        boxes = self.snapshot().index.boxes.get(page_id)
        if boxes is None:
            return None
        folder = self.config.ocr_dir.resolve()
        path = (folder / boxes.image).resolve()
        return PageImage(path, boxes.width, boxes.height) if path.parent == folder and path.is_file() else None

    def _mark(self, answer: Answer) -> None:
        """The page image and box of each citation of a scanned page (``rag.boxes``)."""
        index = self.snapshot().index
        mark(answer.citations, index.documents, index.boxes)

    def decide(self, question: str, filters: Filters | None = None) -> Decision:
        """Retrieve and run the answer stage on one version of the index: the evidence, and answer or refuse."""
        filters = filters or Filters()
        query = self.embedder.encode_query(question)
        view = self.snapshot()
        hits = view.retriever.search_vector(question, query, self.config.top_k, filters) if len(view.index) else []
        return decide(question, query, hits, self.embedder, view.index, self.config, self.answer_model, self.reader)

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
