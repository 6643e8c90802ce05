"""Indexes saved before stable chunk ids (format 2) load, answer as before, are never written to, and upgrade on
the next save."""

import hashlib
import json
import shutil

import faiss
import numpy as np
import pytest

from rag.config import ROOT, Config
from rag.pipeline import PaperTrail
from rag.store import FORMAT, Index, IndexLoadError
from rag.versions import read_pointer

from tests.test_ingest import TEA

OLD = ROOT / "tests" / "fixtures" / "index_format2"


def digests(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lease"}


@pytest.fixture
def old(tmp_path):
    """A private copy of the index saved by the old code (never loaded in place)."""
    folder = tmp_path / "index"
    shutil.copytree(OLD, folder)
    return folder


def test_an_old_index_loads_with_its_row_numbers_as_ids_and_is_not_written_to(old):
    before = digests(old)
    manifest = json.loads((old / "v000002" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 2 and "next_id" not in manifest
    assert isinstance(faiss.read_index(str(old / "v000002" / "vectors.faiss")), faiss.IndexFlatIP)
    index = Index.load(old)
    assert index.version == "v000002" and len(index) == 3
    assert [c.chunk_id for c in index.chunks] == [0, 1, 2] and index.next_id == 3
    assert list(index.dense.ids()) == list(index.sparse.ids()) == [0, 1, 2] and len(index.sentences) == 3
    assert {c.source for c in index.chunks if c.jump} == {"铜仁日报_2026-04-02_01.txt", "铜仁日报_2026-04-02_03.txt"}
    assert digests(old) == before


def test_an_old_index_answers_and_its_next_save_is_format_3_with_the_same_ids(old, embedder):
    rag = PaperTrail(Index.load(old), Config(index_dir=old, show_progress=False), embedder)
    answer = rag.ask("今年首批春茶的收购价格是每斤多少元？")
    assert not answer.abstained and "一百八十元" in answer.answer
    tea = next(c.chunk_id for c in rag.index.chunks if c.source == "tea.txt")
    kept = {c.chunk_id: (c.doc_id, c.start) for c in rag.index.chunks if c.source != "tea.txt"}
    assert [d.source for d in rag.remove("tea.txt")] == ["tea.txt"]
    new = read_pointer(old)
    manifest = json.loads((old / new / "manifest.json").read_text(encoding="utf-8"))
    assert new != "v000002" and manifest["format"] == FORMAT and manifest["next_id"] == 3
    assert not (old / "v000002").exists()  # pruned as any older version is: a removed page leaves no copy behind
    page = old.parent / "tea.txt"
    page.write_text(TEA, encoding="utf-8")
    rag.ingest([page])
    again = Index.load(old)
    assert {c.chunk_id: (c.doc_id, c.start) for c in again.chunks if c.source != "tea.txt"} == kept
    assert [c.chunk_id for c in again.chunks if c.source == "tea.txt"] == [3] != [tea]  # ids are never reused


def test_an_old_index_whose_ids_are_not_its_rows_is_refused(old):
    version = old / "v000002"
    rows = [json.loads(line) for line in (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    rows[1]["chunk_id"] = 7
    (version / "chunks.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    del manifest["sizes"], manifest["sha256"]
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexLoadError, match="inconsistent documents/chunks"):
        Index.load(old)


def test_format_3_files_are_keyed_by_id(old, tmp_path):
    index = Index.load(old)
    index.remove([index.chunks[0].doc_id])
    folder = tmp_path / "new"
    index.save(folder)
    version = folder / read_pointer(folder)
    assert list(faiss.vector_to_array(faiss.read_index(str(version / "vectors.faiss")).id_map)) == [1, 2]
    with np.load(version / "lexical.npz") as z:
        assert list(z["ids"]) == [1, 2]
    with np.load(version / "sentence_vectors.npz") as z:
        assert list(z["ids"]) == [1, 2]
