"""The Qdrant store beyond the conformance suite: its versions in one collection (a reader keeps its view while a
writer commits the next), abandoned writers, purging, filters against the FAISS payload masks, the payload that
describes each chunk through ingest, linking and edits, and its errors.
All on Qdrant's local mode (the real engine), a folder per test."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rag.config import ROOT, Config
from rag.pipeline import PaperTrail
from rag.store import FaissStore, IndexLoadError
from rag.store.qdrant_points import KEEP, Location, client
from rag.store.qdrant_store import FILE, HNSW_EF, QdrantStore
from rag.store.vectors import about
from rag.types import Filters, PageMeta

from tests.store.qdrant_local import qdrant
from tests.store.test_conformance import IDS, meta, unit
from tests.test_reprints import OCR_COPY, OTHER, WIRE


def filled(ids: list[int]) -> QdrantStore:
    store = qdrant(16)
    store.add(ids, np.stack([unit(i) for i in ids]), [meta(i) for i in ids])
    return store


def answers(store: QdrantStore) -> list:
    """What a reader sees: ids, a search per id, a filtered count and search, the vectors."""
    paper = Filters(papers=["拉萨日报"])
    return [store.ids().tolist(), [store.search(unit(i), 3) for i in IDS], store.count(paper),
            store.search(unit(3), 100, paper), store.vectors(store.ids()).tolist()]


def points(store: QdrantStore) -> int:
    """Every point of the collection, of any version."""
    return store.client.count(store.collection, exact=True).count


def test_a_reader_keeps_its_version_while_a_writer_commits_the_next(tmp_path):
    reader = filled(IDS)
    reader.commit(tmp_path)
    before = answers(reader)
    writer = reader.copy()
    writer.delete([3, 40])
    writer.set_meta([10, 11], PageMeta("高原晚报", "2026-05-01", 9))
    writer.add([100], unit(100)[None], [PageMeta("拉萨日报", "2026-05-02", 1)])
    assert answers(reader) == before  # writes are at the next version: not seen here, before or after commit
    next_folder = tmp_path / "next"
    next_folder.mkdir()
    writer.commit(next_folder)
    assert answers(reader) == before
    assert answers(QdrantStore.load(tmp_path, reader.ids(), 16)) == before  # the old version still loads
    after = QdrantStore.load(next_folder, writer.ids(), 16)
    assert after.version == reader.version + 1 and answers(after) == answers(writer)
    assert after.ids().tolist() == [10, 11, 41, 42, 90, 91, 100]
    assert {i for i, _ in after.search(unit(10), 100, Filters(papers=["高原晚报"], page=9))} == {10, 11}
    assert reader.count(Filters(papers=["高原晚报"])) == 0
    assert after.search(unit(100), 1)[0][0] == 100 and 100 not in {i for i, _ in reader.search(unit(100), 100)}


def test_an_abandoned_writer_leaves_nothing_for_the_next(tmp_path):
    reader = filled(IDS)
    before = answers(reader)
    abandoned = reader.copy()
    abandoned.delete([3])
    abandoned.set_meta([10], PageMeta("高原晚报"))
    abandoned.add([100], unit(100)[None], [meta(100)])  # its save failed: never committed
    writer = reader.copy()
    assert answers(writer) == before and points(writer) == len(IDS)
    writer.commit(tmp_path)
    assert answers(QdrantStore.load(tmp_path, reader.ids(), 16)) == before


def test_a_new_index_never_empties_a_collection_another_holds(tmp_path):
    reader = filled(IDS)
    reader.commit(tmp_path)
    location, name = reader.location, reader.collection
    with pytest.raises(IndexLoadError, match=f"holds the index {name}"):
        QdrantStore.create(16, location, name, "/another/index")
    assert answers(QdrantStore.load(tmp_path, reader.ids(), 16)) == answers(reader)
    foreign = reader.client.create_collection("foreign", reader.client.get_collection(name).config.params.vectors)
    assert foreign
    reader.client.upsert("foreign", [__import__("qdrant_client").models.PointStruct(id=1, vector=unit(1).tolist())])
    with pytest.raises(IndexLoadError, match="points PaperTrail did not write"):
        QdrantStore.create(16, location, "foreign", "/another/index")
    assert reader.client.count("foreign").count == 1
    again = QdrantStore.create(16, location, name, name)  # its own index, never saved there: unsaved points go
    assert len(again) == 0 and points(again) == 0


def test_points_no_recent_reader_sees_are_purged_on_commit(tmp_path):
    store = filled(IDS)
    views, seen = [], []
    for n in range(KEEP + 2):
        store = store.copy() if n else store
        if n:
            store.delete([store.ids()[0]])
            store.set_meta(store.ids()[:1], PageMeta(f"报{n}"))
        store.commit(tmp_path)
        views.append(store)
        seen.append(answers(store))
    for view, answered in list(zip(views, seen))[-KEEP - 1:]:  # readers up to KEEP versions behind: unchanged
        assert answers(view) == answered
    # Left: the live points and, for each of the last KEEP versions, the two it deleted or replaced.
    assert len(store) == len(IDS) - KEEP - 1 and points(store) == len(store) + 2 * KEEP


DAYS = [PageMeta("拉萨日报", "2026-03-31", 1), PageMeta("拉萨日报", "2026-04-01", 2), PageMeta("西藏日报", "2026-04-15", 1),
        PageMeta("西藏日报", "2026-05-01", 3), PageMeta(None, None, None), PageMeta("", "2026-04-02", 2)]


@pytest.mark.parametrize("filters", [
    Filters(papers=["拉萨日报"]), Filters(papers=["西藏日报", "人民日报"]), Filters(papers=[""]),
    Filters(date_from="2026-04-01"), Filters(date_to="2026-04-01"), Filters(date_from="2026-04-01", date_to="2026-04-15"),
    Filters(date_from="2026-04", date_to="2026-04"), Filters(date_from="2026-05-02"),
    Filters(page=1), Filters(page=2, date_from="2026-04-02"), Filters(papers=["西藏日报"], date_to="2026-04-30", page=1),
])
def test_filters_pass_what_the_payload_masks_pass(filters):
    ids = list(range(1, 25))
    metas = [DAYS[i % len(DAYS)] for i in ids]
    vectors = np.stack([unit(i) for i in ids])
    store, reference = qdrant(16), FaissStore(16)
    for s in (store, reference):
        s.add(ids, vectors, metas)
    assert store.count(filters) == reference.count(filters)
    for key in ids[:6]:
        assert [i for i, _ in store.search(unit(key), 5, filters)] == [i for i, _ in reference.search(unit(key), 5, filters)]
    got = store.search(unit(1), 100, filters)
    assert [i for i, _ in got] == [i for i, _ in reference.search(unit(1), 100, filters)]
    assert np.allclose([s for _, s in got], [s for _, s in reference.search(unit(1), 100, filters)], atol=1e-6)


def test_one_client_per_folder_and_a_missing_collection_is_a_clear_error(tmp_path):
    store = filled([1, 2])
    assert client(Location(path=store.location.path)) is store.client  # local mode locks its folder
    store.commit(tmp_path)
    store.client.delete_collection(store.collection)
    with pytest.raises(IndexLoadError, match="no collection"):
        QdrantStore.load(tmp_path, store.ids(), 16)
    (tmp_path / FILE).write_text("{", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="unreadable"):
        QdrantStore.load(tmp_path, store.ids(), 16)


def test_a_wrong_count_or_dimension_is_an_error(tmp_path):
    store = filled([1, 2, 3])
    store.commit(tmp_path)
    with pytest.raises(IndexLoadError, match="2 chunks"):
        QdrantStore.load(tmp_path, np.array([1, 2]), 16)
    with pytest.raises(IndexLoadError, match="dimensions"):
        QdrantStore.load(tmp_path, store.ids(), 8)


def test_without_qdrant_client_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # as if not installed
    with pytest.raises(IndexLoadError, match=r"pip install 'papertrail\[qdrant\]'"):
        QdrantStore.create(16, Location(path=tmp_path / "elsewhere"), "c", "idx")


def test_the_default_store_never_imports_qdrant_client(sample_rag):
    code = ("import sys; from rag.cli import main; from rag.store import Index; "
            f"Index.load(__import__('pathlib').Path({str(sample_rag.config.index_dir)!r})); "
            "assert 'qdrant_client' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_a_server_is_asked_for_the_measured_search_width_and_local_mode_for_none(tmp_path):
    server = QdrantStore(16, Location(url="http://127.0.0.1:9"), "c", 1, np.zeros(0, np.int64))  # never contacted
    assert server._width(50).hnsw_ef == HNSW_EF == 512 and server._width(600).hnsw_ef == 600
    assert filled([1])._width(50) is None


def test_each_point_carries_what_describes_its_chunk_as_ingest_and_linking_leave_it(tmp_path, embedder):
    config = Config(index_dir=tmp_path / "index", store="qdrant", qdrant_path=tmp_path / "qdrant",
                    show_progress=False)
    rag = PaperTrail.create(config, embedder)
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, text in (("人民日报_2026-04-02_04.txt", WIRE), ("拉萨日报_2026-04-03_02.txt", OCR_COPY),
                       ("拉萨日报_2026-04-03_03.txt", OTHER)):
        (pages / name).write_text(text, encoding="utf-8")
        rag.ingest([pages / name])  # the reprint is linked by the second ingest, to a point the first wrote

    def payloads() -> list[dict]:
        index = rag.index
        stored = []
        for store in (index.dense, index.sparse):
            found = {p.payload["chunk"]: p.payload for p in store._points(index.ids(), vectors=False, payload=True)}
            stored.append([{k: found[c.chunk_id].get(k) for k in about(c)} for c in index.chunks])
        return stored

    expected = [about(c) for c in rag.index.chunks]
    assert sum(bool(a["reprint_group"]) for a in expected) >= 2 and all(a["title"] for a in expected)
    assert payloads() == [expected, expected]
    rag.remove("人民日报_2026-04-02_04.txt")
    page = next(p for p in rag.pages() if p.file == "拉萨日报_2026-04-03_02.txt")
    rag.edit(page.id, PageMeta("高原晚报", "2026-04-04", 5))
    expected = [about(c) for c in rag.index.chunks]
    assert not any(a["reprint_group"] for a in expected) and payloads() == [expected, expected]
