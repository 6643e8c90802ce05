import json
import logging
import os
import shutil
import time

import numpy as np
import pytest

from rag.config import ROOT
from rag.store import SENTENCES, Index, IndexLoadError
from rag.lock import IndexBusyError, write_lock
from rag.pipeline import PaperTrail
from rag.store import LexicalQuery
from rag.versions import leased, prune, versions
from rag.versions import read_pointer as current_version


@pytest.fixture
def saved(sample_rag, tmp_path):
    """A private copy of the sample index folder."""
    folder = tmp_path / "index"
    shutil.copytree(sample_rag.config.index_dir, folder)
    return folder


def live(folder):
    return folder / current_version(folder)


def test_save_and_load_round_trip_with_links(sample_rag, saved):
    index = Index.load(saved)
    assert index.version == current_version(saved) and (saved / "CURRENT").read_text().strip() == index.version
    assert list(index.documents) == list(sample_rag.index.documents)
    assert [(c.doc_id, c.start, c.end, c.reprint_group) for c in index.chunks] == \
           [(c.doc_id, c.start, c.end, c.reprint_group) for c in sample_rag.index.chunks]
    assert len(index.dense) == len(index) == len(index.sparse) == len(index.sentences)
    assert list(index.dense.ids()) == list(index.sparse.ids()) == [c.chunk_id for c in index.chunks]
    assert any(c.reprint_group for c in index.chunks)


def test_remove_keeps_every_other_chunk_its_id_vector_and_bm25_row(saved):
    index = Index.load(saved)
    gone = next(d for d in index.documents.values() if d.source.startswith("001_"))
    ids = [c.chunk_id for c in index.chunks]
    query = np.random.default_rng(0).standard_normal(index.dim).astype(np.float32)
    before = {c.chunk_id: (c.doc_id, c.start) for c in index.chunks}
    dense, lexical = index.dense.score(query, ids), index.sparse.score(LexicalQuery(("北京", "技术")), ids)
    assert index.remove([gone.doc_id]) == [gone]
    assert gone.doc_id not in index.documents and all(c.doc_id != gone.doc_id for c in index.chunks)
    assert len(index.dense) == len(index) == len(index.sparse) == len(index.sentences)
    kept = [i for i in ids if before[i][0] != gone.doc_id]
    assert [c.chunk_id for c in index.chunks] == kept and kept != list(range(len(kept)))
    assert all((index.chunk(i).doc_id, index.chunk(i).start) == before[i] for i in kept)
    rows = [ids.index(i) for i in kept]
    assert np.allclose(index.dense.score(query, kept), dense[rows], atol=1e-5)
    idf_changed = index.sparse.score(LexicalQuery(("北京", "技术")), kept)
    assert np.array_equal(idf_changed > 0, lexical[rows] > 0)
    index.save(saved)
    again = Index.load(saved)
    assert gone.doc_id not in again.documents and [c.chunk_id for c in again.chunks] == kept
    assert again.next_id == index.next_id == ids[-1] + 1


def test_leftovers_of_a_killed_writer_are_ignored_then_cleaned(saved):
    version = current_version(saved)
    partial = saved / ".tmp-v000099-dead"
    partial.mkdir()
    (partial / "chunks.jsonl").write_text('{"chunk_id": 0', encoding="utf-8")
    (saved / ".CURRENT.tmp").write_text("v000099", encoding="utf-8")
    index = Index.load(saved)
    assert index.version == version
    index.save(saved)
    assert not partial.exists() and current_version(saved) != version
    index.save(saved)
    assert versions(saved) == [current_version(saved)]


@pytest.mark.parametrize(("damage", "named"), [
    ("truncate-vectors", "vectors.faiss"),
    ("garbage-chunks", "chunks.jsonl"),
    ("future-format", "manifest.json"),
    ("pickled-lexical", "lexical.npz"),
])
def test_corrupt_or_incompatible_index_names_the_file(saved, damage, named):
    folder = live(saved)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if damage == "truncate-vectors":
        data = (folder / "vectors.faiss").read_bytes()
        (folder / "vectors.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "garbage-chunks":
        (folder / "chunks.jsonl").write_bytes(b"\x00\xff not json\n")
        manifest.pop("sizes")
        manifest.pop("sha256")
    elif damage == "future-format":
        manifest["format"] = 99
    elif damage == "pickled-lexical":
        np.savez(folder / "lexical.npz", data=np.array([{"x": 1}], dtype=object), indices=np.zeros(1),
                 indptr=np.zeros(1), shape=np.array([1, 1]))
        manifest.pop("sizes")
        manifest.pop("sha256")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexLoadError, match=named):
        Index.load(saved)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexLoadError, match="no index here"):
        Index.load(tmp_path)
    assert not Index.exists(tmp_path)


def test_older_flat_format_loads_and_is_upgraded_on_save(saved, tmp_path):
    flat = tmp_path / "flat"
    shutil.copytree(live(saved), flat)
    manifest = json.loads((flat / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = 1
    del manifest["sizes"], manifest["sha256"]
    (flat / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    rows = [json.loads(line) for line in (flat / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    (flat / "chunks.jsonl").write_text("".join(json.dumps({k: r[k] for k in ("chunk_id", "doc_id", "start", "end", "title")}) + "\n"
                                               for r in rows), encoding="utf-8")
    index = Index.load(flat)
    assert index.version is None and len(index) == len(rows) and all(c.reprint_group is None for c in index.chunks)
    index.save(flat)
    assert current_version(flat) and not (flat / "manifest.json").exists() and len(Index.load(flat)) == len(rows)


def test_saving_into_a_folder_of_other_files_keeps_them(saved, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in ("documents.jsonl", "boxes.json", "vectors.faiss", "notes.txt"):
        (folder / name).write_text(f"the user's own {name}", encoding="utf-8")
    index = Index.load(saved)
    index.save(folder)
    assert current_version(folder) and len(Index.load(folder)) == len(index)
    for name in ("documents.jsonl", "boxes.json", "vectors.faiss", "notes.txt"):
        assert (folder / name).read_text(encoding="utf-8") == f"the user's own {name}"


def test_second_writer_gets_a_clear_error(tmp_path):
    with write_lock(tmp_path):
        with pytest.raises(IndexBusyError, match=f"{tmp_path}: the index is being changed by process"):
            with write_lock(tmp_path):
                pass
    with write_lock(tmp_path):
        pass


def test_sentence_vectors_survive_save_remove_and_old_indexes(sample_rag, tmp_path):
    index = Index.load(sample_rag.config.index_dir)
    assert all(index.sentence_vectors(c.chunk_id) is not None for c in index.chunks)
    first = index.chunks[0].doc_id
    kept = [c.chunk_id for c in index.chunks if c.doc_id != first]
    expected = [index.sentence_vectors(i) for i in kept]
    index.remove([first])
    assert len(index.sentences) == len(index.chunks) == len(expected)
    assert all(np.array_equal(index.sentence_vectors(i), e) for i, e in zip(kept, expected))
    folder = tmp_path / "copy"
    index.save(folder)
    again = Index.load(folder)
    assert all(np.array_equal(again.sentence_vectors(i), e) for i, e in zip(kept, expected))
    version = folder / current_version(folder)
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    del manifest["sizes"][SENTENCES], manifest["sha256"][SENTENCES]
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (version / SENTENCES).unlink()
    assert [Index.load(folder).sentence_vectors(i) for i in kept] == [None] * len(expected)


@pytest.mark.parametrize("name", ["vectors.faiss", "documents.jsonl"])
def test_altered_bytes_of_the_same_size_are_caught_by_the_checksum(saved, name):
    path = live(saved) / name
    data = bytearray(path.read_bytes())
    if name == "vectors.faiss":
        data[len(data) // 2 :] = os.urandom(len(data) - len(data) // 2)  # the header survives: FAISS reads garbage
    else:
        at = data.index(b"\xe4\xba\xba")  # the first 人 of the page text becomes 入
        data[at : at + 3] = "入".encode()
    path.write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match=f"{name}: SHA-256 differs from the manifest"):
        Index.load(saved)


def test_checksums_cover_every_file_and_cost_little_to_verify(saved):
    manifest = json.loads((live(saved) / "manifest.json").read_text(encoding="utf-8"))
    files = {p.name for p in live(saved).iterdir()} - {"manifest.json", ".lease"}
    assert set(manifest["sha256"]) == files and all(len(h) == 64 for h in manifest["sha256"].values())
    started = time.perf_counter()
    Index.load(saved)
    assert time.perf_counter() - started < 5


def test_a_lost_current_falls_back_to_the_newest_complete_version(saved, caplog):
    version = current_version(saved)
    documents = list(Index.load(saved).documents)
    broken = saved / "v999999"
    shutil.copytree(saved / version, broken)
    (broken / "chunks.jsonl").write_text("", encoding="utf-8")
    (saved / "CURRENT").unlink()
    assert Index.exists(saved)
    with caplog.at_level(logging.WARNING, logger="rag.store.disk"):
        index = Index.load(saved)
    assert index.version == version and list(index.documents) == documents
    assert f"using {version}, the newest complete version" in caplog.text
    (saved / "CURRENT").write_text("v000777\n", encoding="utf-8")  # names no saved version
    assert Index.load(saved).version == version
    shutil.rmtree(saved / version)
    with pytest.raises(IndexLoadError, match="CURRENT is missing and no saved version is complete.*restore the folder"):
        Index.load(saved)


def test_ingest_after_current_vanished_keeps_every_saved_page(saved, sample_rag):
    before = Index.load(saved)
    (saved / "CURRENT").unlink()
    rag = PaperTrail.create(sample_rag.config.with_(index_dir=saved), sample_rag.embedder)
    report = rag.ingest([ROOT / "tests" / "fixtures" / "tiny_page.txt"])
    assert report.indexed == ["tiny_page.txt"]
    after = Index.load(saved)
    assert set(after.documents) == set(before.documents) | {d.doc_id for d in rag.index.documents.values()
                                                             if d.source == "tiny_page.txt"}
    assert current_version(saved) == after.version and versions(saved) == [after.version]


def test_a_version_being_loaded_is_not_pruned_until_its_reader_is_done(saved):
    old = current_version(saved)
    index = Index.load(saved)
    with leased(saved, old):
        index.save(saved)
        assert versions(saved) == [old, index.version]
        assert prune(saved, index.version) == []
    assert prune(saved, index.version) == [old] and versions(saved) == [index.version]


def test_an_index_saved_before_sentence_names_loads_and_answers_alike(sample_rag, saved):
    version = live(saved)
    rows = [json.loads(line) for line in (version / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(len(r["names"]) > 0 for r in rows)
    (version / "documents.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k != "names"},
                                                                ensure_ascii=False) + "\n" for r in rows),
                                             encoding="utf-8")
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = 2
    del manifest["sizes"]["documents.jsonl"], manifest["sha256"]["documents.jsonl"]
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    old = Index.load(saved)
    assert all(d.names is None for d in old.documents.values())
    tagged_now = PaperTrail(old, sample_rag.config, sample_rag.embedder)
    for question in ("北京技术合同成交额增长了多少？", "谁出席了联组会？"):
        assert tagged_now.ask(question).to_dict() == sample_rag.ask(question).to_dict()
