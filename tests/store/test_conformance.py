"""The one conformance suite every store backend passes (txtai-style): add, remove, re-add, filters, copies,
commit and reload at the store level; fusion, versioned swap and reload through a whole ``Index``.

A backend joins by adding a ``Backend`` to ``BACKENDS`` (and, for a dense backend, to ``DENSE``): the tests are
the same for all.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rag.config import Config
from rag.pipeline import PaperTrail
from rag.retrieve import Retriever, fuse
from rag.store import FaissStore, Index, LexicalQuery, LexicalStore, QdrantLexicalStore, VectorStore
from rag.store.faiss_store import Layout
from rag.store.qdrant_store import QdrantStore
from rag.text import cjk_share
from rag.types import Filters, PageMeta
from rag.versions import read_pointer, versions

from tests.store.qdrant_local import qdrant, qdrant_bm25
from tests.test_ingest import BRIDGE, PAGE1, PAGE3, TEA, write_pages

WORDS = "北京 技术 合同 茶园 春茶 大桥 通车 投资 合作社 游客 工资 岗位 高原 铁路 电气化 医院".split()
METAS = [PageMeta("拉萨日报", "2026-04-01", 1), PageMeta("拉萨日报", "2026-04-02", 2), PageMeta("西藏日报", None, 1),
         PageMeta(None, "2026-04-03", None)]


@dataclass
class Backend:
    """How the suite drives one store: a new empty store, one loaded from a folder, the item stored for a key
    (a vector, or a token list) and the query that finds it."""

    name: str
    new: Callable[[], object]
    load: Callable[[Path, np.ndarray, list[PageMeta]], object]
    item: Callable[[int], object]
    query: Callable[[int], object]

    def add(self, store, ids: list[int]) -> None:
        items = [self.item(i) for i in ids]
        store.add(ids, np.stack(items) if isinstance(items[0], np.ndarray) else items, [meta(i) for i in ids])


def unit(key: int) -> np.ndarray:
    v = np.random.default_rng(key).standard_normal(16).astype(np.float32)
    return v / np.linalg.norm(v)


def tokens(key: int) -> list[str]:
    """Three words that no other key of the suite has together, the first one the key's own."""
    return [f"w{key}", WORDS[key % len(WORDS)], WORDS[(key // len(WORDS)) % len(WORDS)]]


def meta(key: int) -> PageMeta:
    return METAS[key % len(METAS)]


IVF = Layout("ivf", probe_share=1.0)
"""IVF from the first chunk, every list probed: the suite checks ids, filters and copies, not approximation."""
BACKENDS = [
    Backend("faiss", lambda: FaissStore(16), lambda folder, ids, metas: FaissStore.load(folder, ids, metas, 16),
            unit, unit),
    Backend("faiss-ivf", lambda: FaissStore(16, layout=IVF),
            lambda folder, ids, metas: FaissStore.load(folder, ids, metas, 16, IVF), unit, unit),
    Backend("qdrant", lambda: qdrant(16), lambda folder, ids, metas: QdrantStore.load(folder, ids, 16), unit, unit),
    Backend("bm25", LexicalStore, LexicalStore.load, tokens, lambda key: LexicalQuery((f"w{key}",))),
    Backend("qdrant-bm25", qdrant_bm25, lambda folder, ids, metas: QdrantLexicalStore.load(folder, ids), tokens,
            lambda key: LexicalQuery((f"w{key}",))),
]
DENSE = [pytest.param(FaissStore, id="faiss"), pytest.param(lambda dim: FaissStore(dim, layout=IVF), id="faiss-ivf"),
         pytest.param(qdrant, id="qdrant")]


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def backend(request) -> Backend:
    return request.param


def filled(backend: Backend, ids: list[int]):
    store = backend.new()
    backend.add(store, ids)
    return store


IDS = [3, 10, 11, 40, 41, 42, 90, 91]


def test_each_added_item_is_found_first_by_its_own_query_under_its_id(backend):
    store = filled(backend, IDS)
    assert len(store) == len(IDS) and list(store.ids()) == IDS
    for key in IDS:
        hits = store.search(backend.query(key), 3)
        assert hits[0][0] == key and len(hits) == 3 and hits[0][1] >= hits[1][1] >= hits[2][1]
    scores = store.score(backend.query(IDS[0]), [IDS[2], IDS[0]])
    assert scores[1] > scores[0] and scores[1] == pytest.approx(store.search(backend.query(IDS[0]), 1)[0][1])
    assert len(store.search(backend.query(3), 100)) == len(IDS)


def test_removing_leaves_the_others_their_ids_and_scores(backend):
    store = filled(backend, IDS)
    query, kept = backend.query(91), [3, 11, 41, 42, 91]
    before = store.score(query, kept)
    store.delete([10, 40, 90, 12345])
    assert list(store.ids()) == kept and len(store) == len(kept)
    assert {i for i, _ in store.search(query, 100)} == set(kept)
    if not backend.name.endswith("bm25"):  # a dense store scores by the vectors it holds
        assert np.array_equal(store.score(query, kept), before)
    else:  # BM25 weights follow the corpus statistics: the ranking of the kept rows stays
        assert store.search(query, 1)[0][0] == 91 and (store.score(query, kept) > 0).tolist() == (before > 0).tolist()
    with pytest.raises(KeyError):
        store.score(query, [10])


def test_re_adding_takes_new_ids_and_never_an_old_or_duplicate_one(backend):
    store = filled(backend, IDS)
    store.delete([91, 42])
    backend.add(store, [92, 93])
    assert list(store.ids()) == [3, 10, 11, 40, 41, 90, 92, 93]
    assert store.search(backend.query(92), 1)[0][0] == 92
    for ids in ([91], [93], [95, 95]):
        with pytest.raises(ValueError):
            backend.add(store, ids)
    assert list(store.ids()) == [3, 10, 11, 40, 41, 90, 92, 93]


@pytest.mark.parametrize(("filters", "passing"), [
    (Filters(papers=["拉萨日报"]), {key for key in IDS if key % 4 in (0, 1)}),
    (Filters(papers=["拉萨日报", "西藏日报"], page=1), {key for key in IDS if key % 4 in (0, 2)}),
    (Filters(date_from="2026-04-02"), {key for key in IDS if key % 4 in (1, 3)}),
    (Filters(date_to="2026-04-01"), {key for key in IDS if key % 4 == 0}),
    (Filters(page=2, papers=["拉萨日报"]), {key for key in IDS if key % 4 == 1}),
    (Filters(papers=["人民日报"]), set()),
    (Filters(), set(IDS)),
])
def test_filters_are_pushed_down(backend, filters, passing):
    store = filled(backend, IDS)
    assert store.count(filters) == len(passing)
    for key in IDS:
        hits = store.search(backend.query(key), 3, filters)
        assert {i for i, _ in hits} <= passing and len(hits) == min(3, len(passing))
        if key in passing:
            assert hits[0][0] == key
    assert {i for i, _ in store.search(backend.query(3), 100, filters)} == passing


def test_new_metadata_changes_what_a_filter_passes(backend):
    store = filled(backend, IDS)
    store.set_meta([10, 11], PageMeta("高原晚报", "2026-05-01", 9))
    assert {i for i, _ in store.search(backend.query(10), 100, Filters(papers=["高原晚报"]))} == {10, 11}
    assert store.count(Filters(page=9)) == 2


def test_a_copy_changes_without_touching_the_original(backend):
    store = filled(backend, IDS)
    other = store.copy()
    other.delete([3])
    backend.add(other, [100])
    other.set_meta([10], PageMeta("高原晚报"))
    assert list(store.ids()) == IDS and store.search(backend.query(3), 1)[0][0] == 3
    assert store.count(Filters(papers=["高原晚报"])) == 0 and 100 not in {i for i, _ in store.search(backend.query(100), 100)}


def test_commit_and_reload_give_the_same_answers(backend, tmp_path):
    store = filled(backend, IDS)
    store.delete([11])
    store.commit(tmp_path)
    ids = store.ids()
    again = backend.load(tmp_path, ids, [meta(i) for i in ids])
    assert list(again.ids()) == list(ids)
    for key in ids:
        assert again.search(backend.query(key), 4) == store.search(backend.query(key), 4)
        filters = Filters(papers=["拉萨日报"])
        assert again.search(backend.query(key), 4, filters) == store.search(backend.query(key), 4, filters)


@pytest.mark.parametrize("make", DENSE)
def test_a_dense_store_is_a_vector_store_and_gives_back_its_vectors(make):
    store, ids = make(16), [2, 5, 9]
    given = np.stack([unit(i) for i in ids])
    store.add(ids, given, [meta(i) for i in ids])
    assert isinstance(store, VectorStore)
    assert np.array_equal(store.vectors([9, 2]), given[[2, 0]])
    store.delete([5])
    with pytest.raises(KeyError):
        store.vectors([5])


# Through a whole index, with the real model and pages: fusion, versioned swap, reload.

PAGES = {"铜仁日报_2026-04-02_01.txt": PAGE1, "铜仁日报_2026-04-02_02.txt": BRIDGE, "铜仁日报_2026-04-02_03.txt": PAGE3,
         "茶报_2026-04-05_01.txt": TEA}


@pytest.fixture(params=[pytest.param(lambda dim: (FaissStore(dim), LexicalStore()), id="faiss"),
                        pytest.param(lambda dim: (FaissStore(dim, layout=IVF), LexicalStore()), id="faiss-ivf"),
                        pytest.param(lambda dim: (qdrant(dim), qdrant_bm25()), id="qdrant")])
def papers(request, tmp_path, embedder) -> PaperTrail:
    """The pages ingested into an index over each pair of backends, saved."""
    config = Config(index_dir=tmp_path / "index", show_progress=False)
    dense, sparse = request.param(embedder.dim)
    rag = PaperTrail(Index(config.model, embedder.dim, dense, sparse=sparse), config, embedder)
    rag.ingest([write_pages(tmp_path, {name: (text, "utf-8") for name, text in PAGES.items()})])
    return rag


def reference(index: Index, query: np.ndarray, weight: float, lexical: LexicalQuery, filters: Filters) -> list[int]:
    """Fusion by hand over every chunk passing ``filters`` (a small index: all are candidates), in dense order."""
    ids = [i for i, _ in index.dense.search(query, len(index), filters)]
    fused = fuse(index.dense.score(query, ids), index.sparse.score(lexical, ids), weight)
    return [ids[i] for i in np.argsort(-fused, kind="stable")]


@pytest.mark.parametrize("question", ["今年首批春茶的收购价格是每斤多少元？", "How long is the Yangtze bridge?"])
@pytest.mark.parametrize("filters", [Filters(), Filters(papers=["铜仁日报"]), Filters(page=3),
                                     Filters(date_from="2026-04-03")])
def test_the_retriever_fuses_the_stores_lists_by_language(papers, question, filters):
    index, retriever = papers.index, papers.retriever
    query = papers.embedder.encode_queries([question])[0]
    weight, lexical = retriever.lexical_query(question)
    chinese = cjk_share(question)
    assert weight == pytest.approx(0.4 * chinese if chinese >= 0.5 else 0.2 * (1 - chinese))
    assert (lexical.concepts is None) == (chinese >= 0.5)  # English words go through their translations
    hits = retriever.search_vector(question, query, 10, filters)
    order = reference(index, query, weight, lexical, filters)
    ranked = [h.chunk.chunk_id for h in hits]
    folded = {r.chunk_id for h in hits for r in h.reprints}
    assert [i for i in order if i not in folded] == ranked
    passing = {c.chunk_id for c in index.chunks
               if c.meta.paper in (filters.papers or [c.meta.paper]) and (filters.page is None or c.meta.page == filters.page)
               and (filters.date_from is None or (c.meta.date or "") >= filters.date_from)}
    assert set(ranked) | folded == passing


def test_a_versioned_swap_keeps_readers_on_their_version_and_ids_stable(papers, tmp_path):
    folder = papers.config.index_dir
    first, reader = read_pointer(folder), Index.load(folder)
    ids = {c.chunk_id: (c.doc_id, c.start) for c in reader.chunks}
    removed = papers.remove("铜仁日报_2026-04-02_02.txt")
    second = read_pointer(folder)
    assert removed and second > first and versions(folder) == [second]
    hits = Retriever(reader, papers.embedder, papers.config).search("长江大桥全长多少米？")
    assert hits[0].chunk.source == "铜仁日报_2026-04-02_02.txt"  # the reader's version still has the page
    after = Index.load(folder)
    assert after.version == second and {c.chunk_id: (c.doc_id, c.start) for c in after.chunks} == \
        {i: v for i, v in ids.items() if v[0] != removed[0].doc_id}
    assert all(h.chunk.source != "铜仁日报_2026-04-02_02.txt" for h in papers.search("长江大桥全长多少米？"))


def test_a_reloaded_index_answers_as_the_one_in_memory(papers, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(papers.config.index_dir, copy)
    again = PaperTrail(Index.load(copy), papers.config.with_(index_dir=copy), papers.embedder)
    for question in ("合作社引进了几条全自动绿茶生产线？", "How long is the Yangtze bridge?"):
        for filters in (None, Filters(papers=["铜仁日报"])):
            mine = papers.retriever.search(question, 5, filters)
            theirs = again.retriever.search(question, 5, filters)
            assert [(h.chunk.chunk_id, h.score) for h in mine] == [(h.chunk.chunk_id, h.score) for h in theirs]
    assert again.ask("今年首批春茶的收购价格是每斤多少元？").answer == papers.ask("今年首批春茶的收购价格是每斤多少元？").answer
