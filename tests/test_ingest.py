import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.clean import clean
from rag.articles import split_articles
from rag.config import ROOT, Config
from rag.store import Index
from rag.ingest import to_document
from rag.load import IngestError, RawPage
from rag.lock import IndexBusyError, write_lock
from rag.pipeline import PaperTrail
from rag.split import split_document
from rag.types import PageMeta

from tests.pdfgen import column_pdf
from tests.test_reprints import CORRECTED, WIRE

TEA = "梵净山茶园喜迎春茶开采\n\n本报讯 近日，梵净山脚下的万亩生态茶园迎来春茶开采，今年首批春茶的收购价格为每斤一百八十元。\n"
BRIDGE = "长江大桥正式通车\n\n本报讯 长江大桥今天上午正式通车，大桥全长二千四百米，总投资三十五亿元。\n"
PAGE1 = ("梵净山茶园喜迎春茶开采\n\n本报讯 近日，梵净山脚下的万亩生态茶园迎来春茶开采，茶农们忙着采摘明前茶，"
         "今年首批春茶的收购价格为每斤一百八十元，比去年同期上涨了百分之十二。\n\n"
         "当地茶叶合作社负责人介绍，合作社今年共带动周边三百二十户茶农增收，茶园面积扩大到一万二千亩……（下转第三版）\n")
PAGE3 = ("梵净山茶园喜迎春茶开采\n\n（上接第一版）合作社还引进了两条全自动绿茶生产线，每天可加工鲜叶二十吨，"
         "产品远销上海、广州等地。\n\n今年合作社计划新建茶旅融合观光步道五公里，预计年接待游客八万人次。\n")
PAGE5 = ("梵净山茶园喜迎春茶开采\n\n（上接第三版）合作社负责人表示，明年将在梵净山东麓再建一座有机茶加工厂，"
         "总投资六千万元，投产后可新增就业岗位三百个。\n")


def write_pages(tmp_path, pages):
    """A folder of page files from ``{name: (text, encoding)}``."""
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, (text, encoding) in pages.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


def fresh(tmp_path, embedder, **changes):
    config = Config(index_dir=tmp_path / "index", show_progress=False, **changes)
    return PaperTrail.create(config, embedder)


def indexed(tmp_path, embedder, pages):
    """A fresh index of the UTF-8 page files ``{name: text}``."""
    rag = fresh(tmp_path, embedder)
    rag.ingest([write_pages(tmp_path, {name: (text, "utf-8") for name, text in pages.items()})])
    return rag


def cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_reingest_skips_unchanged_replaces_changed_and_never_duplicates(tmp_path, embedder):
    pages = write_pages(tmp_path, {"tea.txt": (TEA, "utf-8"), "bridge.txt": (BRIDGE, "gbk")})
    rag = fresh(tmp_path, embedder)
    first = rag.ingest([pages])
    assert sorted(first.indexed) == ["bridge.txt", "tea.txt"] and not first.failed
    version, size = rag.index.version, len(rag.index)

    again = rag.ingest([pages])
    assert not again.indexed and len(again.skipped) == 2 and rag.index.version == version and len(rag.index) == size

    (pages / "tea.txt").write_text(TEA.replace("一百八十元", "二百元"), encoding="utf-8")
    shutil.copy(pages / "bridge.txt", pages / "bridge copy.txt")
    changed = rag.ingest([pages])
    assert changed.indexed == ["tea.txt"] and changed.replaced == [str(pages / "tea.txt")]
    assert any("bridge copy.txt (same content as bridge.txt)" in s for s in changed.skipped)
    assert sorted(d.source for d in rag.index.documents.values()) == ["bridge.txt", "tea.txt"]
    assert len(rag.index.dense) == len(rag.index) == len(rag.index.sparse)
    texts = " ".join(c.text for c in rag.index.chunks)
    assert "二百元" in texts and "一百八十元" not in texts
    reloaded = Index.load(rag.config.index_dir)
    assert [c.text for c in reloaded.chunks] == [c.text for c in rag.index.chunks]


def sources(rag):
    return sorted(d.source for d in rag.index.documents.values())


def test_content_moved_to_a_new_file_while_its_old_file_gets_new_content_keeps_both(tmp_path, embedder):
    pages = write_pages(tmp_path, {"today.txt": (TEA, "utf-8")})
    rag = fresh(tmp_path, embedder)
    rag.ingest([pages])
    (pages / "today.txt").rename(pages / "2026-04-01.txt")
    (pages / "today.txt").write_text(BRIDGE, encoding="utf-8")
    report = rag.ingest([pages])
    assert sorted(report.indexed) == ["2026-04-01.txt", "today.txt"] and not report.skipped
    assert sources(rag) == ["2026-04-01.txt", "today.txt"]
    texts = " ".join(c.text for c in Index.load(rag.config.index_dir).chunks)
    assert "一百八十元" in texts and "二千四百米" in texts


def test_two_files_that_swap_contents_are_both_kept(tmp_path, embedder):
    pages = write_pages(tmp_path, {"a.txt": (TEA, "utf-8"), "b.txt": (BRIDGE, "utf-8")})
    rag = fresh(tmp_path, embedder)
    rag.ingest([pages])
    (pages / "a.txt").write_text(BRIDGE, encoding="utf-8")
    (pages / "b.txt").write_text(TEA, encoding="utf-8")
    report = rag.ingest([pages])
    assert sorted(report.indexed) == ["a.txt", "b.txt"] and len(report.replaced) == 2
    by_source = {d.source: d.text for d in rag.index.documents.values()}
    assert "二千四百米" in by_source["a.txt"] and "一百八十元" in by_source["b.txt"]
    assert len(rag.index.dense) == len(rag.index) == len(rag.index.sparse)


def test_a_new_version_that_cleans_to_nothing_keeps_the_indexed_one(tmp_path, embedder):
    pages = write_pages(tmp_path, {"c.txt": (TEA, "utf-8")})
    rag = fresh(tmp_path, embedder)
    rag.ingest([pages])
    (pages / "c.txt").write_bytes(b"\xef\xbb\xbf" * 3)
    report = rag.ingest([pages])
    assert not report.replaced and any("its indexed version is kept" in f for f in report.failed)
    assert sources(rag) == ["c.txt"]
    assert "一百八十元" in " ".join(c.text for c in Index.load(rag.config.index_dir).chunks)


def test_jump_line_joins_two_pages_and_the_answer_cites_both(tmp_path, embedder):
    rag = indexed(tmp_path, embedder, {"铜仁日报_2026-04-02_01.txt": PAGE1, "铜仁日报_2026-04-02_03.txt": PAGE3})
    linked = {c.meta.page for c in rag.index.chunks if c.jump}
    assert linked == {1, 3} and len({c.jump for c in rag.index.chunks if c.jump}) == 1
    answer = rag.ask("今年首批春茶的收购价格是每斤多少元？")
    assert not answer.abstained and "一百八十元" in answer.answer
    cited = {answer.citations[0].page} | {a["page"] for a in answer.citations[0].also if a.get("continued")}
    assert cited == {1, 3}
    hit = rag.search("合作社引进了几条全自动绿茶生产线？")[0]
    assert hit.chunk.meta.page == 3 and {c.meta.page for c in hit.continued} == {1}


def test_an_article_jumping_over_three_pages_is_one_chain_and_every_answer_cites_all_three(tmp_path, embedder):
    rag = indexed(tmp_path, embedder, {"铜仁日报_2026-04-02_01.txt": PAGE1,
                                       "铜仁日报_2026-04-02_03.txt": PAGE3.replace("人次。", "人次。（下转5版）"),
                                       "铜仁日报_2026-04-02_05.txt": PAGE5, "铜仁日报_2026-04-02_02.txt": BRIDGE})
    assert {c.meta.page for c in rag.index.chunks if c.jump} == {1, 3, 5}
    assert len({c.jump for c in rag.index.chunks if c.jump}) == 1
    for question, page in (("有机茶加工厂总投资多少元？", 5), ("今年首批春茶的收购价格是每斤多少元？", 1)):
        answer = rag.ask(question)
        assert not answer.abstained and answer.citations[0].page == page
        continued = {a["page"] for a in answer.citations[0].also if a.get("continued")}
        assert continued == {1, 3, 5} - {page}


def test_reprints_are_grouped_at_ingest_and_folded_at_query_time(sample_rag):
    grouped = {c.source for c in sample_rag.index.chunks if c.reprint_group}
    assert {s[:3] for s in grouped} == {"002", "004"}
    hit = next(h for h in sample_rag.search("三部门发文推动员工录用一件事高效办理") if h.chunk.reprint_group)
    assert hit.reprints and all(r.reprint_group == hit.chunk.reprint_group for r in hit.reprints)
    assert {hit.chunk.source[:3], *(r.source[:3] for r in hit.reprints)} == {"002", "004"}


def test_a_reprint_with_a_corrected_figure_is_answered_with_both_figures(tmp_path, embedder):
    rag = indexed(tmp_path, embedder, {"人民日报_2026-04-02_04.txt": WIRE, "光明日报_2026-04-03_02.txt": CORRECTED})
    assert not any(c.reprint_group for c in rag.index.chunks)
    answer = rag.ask("北京技术合同成交额增长至多少亿元？")
    assert not answer.abstained and "9800多亿元" in answer.answer and "9900多亿元" in answer.answer
    assert {(c.paper, c.date) for c in answer.citations} == {("人民日报", "2026-04-02"), ("光明日报", "2026-04-03")}
    assert answer.short_answer is None  # neither figure alone is the answer


def test_the_sample_reprints_answer_with_both_of_their_figures(sample_rag):
    answer = sample_rag.ask("《2025全球工程前沿》报告发布时，多少场论坛深入探讨了6G、脑机接口等话题？")
    assert not answer.abstained and "6场论坛" in answer.answer and "60场论坛" in answer.answer
    assert {c.source[:3] for c in answer.citations} == {"002", "004"}


def test_second_writer_is_refused(tmp_path, embedder):
    rag = fresh(tmp_path, embedder)
    with write_lock(rag.config.index_dir), pytest.raises(IndexBusyError):
        rag.ingest([ROOT / "tests" / "fixtures" / "tiny_page.txt"])


@pytest.mark.slow
def test_bad_files_are_reported_by_name_and_good_ones_indexed_then_listed_and_removed(tmp_path, embedder):
    index = tmp_path / "index"
    pages = write_pages(tmp_path, {"good gbk.txt": (TEA, "gbk"), "桥 '引号\".txt": (BRIDGE, "utf-16")})
    column_pdf(pages / "rmrb2026040201.pdf", [("长江大桥正式通车", [["大桥全长二千四百米，", "总投资三十五亿元。"]])])
    bad = {"empty.txt": b"", "garbage.txt": os.urandom(3000) + b"\x00" * 50, "cut.pdf": b"%PDF-1.7\n1 0 obj"}
    for name, data in bad.items():
        (pages / name).write_bytes(data)
    column_pdf(pages / "locked.pdf", [("保密", [["内容。"]])], encrypt="pw")
    (pages / "folder.txt").mkdir()
    (pages / "dangling.txt").symlink_to(pages / "gone.txt")
    with (pages / "huge.txt").open("wb") as f:
        f.truncate(Config.max_file_bytes + 1)
    result = cli("ingest", "--index", str(index), str(pages))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failed) == 6
    for name in [*bad, "locked.pdf", "dangling.txt", "huge.txt"]:
        assert any(name in line for line in failed), name
    assert "indexed 3 page(s)" in result.stdout and "failed 6" in result.stdout
    assert "folder.txt" not in result.stdout + result.stderr

    listed = cli("list", "--index", str(index))
    assert listed.returncode == 0
    assert "rmrb2026040201.pdf#p1\t人民日报\t2026-04-02\t1" in listed.stdout and "good gbk.txt" in listed.stdout

    removed = cli("remove", "--index", str(index), "桥 '引号\".txt", "nothing.txt")
    assert removed.returncode == 1 and "removed  桥 '引号\".txt" in removed.stdout and "nothing.txt" in removed.stderr
    rag = PaperTrail(Index.load(index), Config(index_dir=index, show_progress=False), embedder)
    assert all(d.source != "桥 '引号\".txt" for d in rag.index.documents.values())
    sources = {h.chunk.source for h in rag.search("长江大桥全长多少米？", top_k=10)}
    assert "rmrb2026040201.pdf#p1" in sources and "桥 '引号\".txt" not in sources


@pytest.mark.slow
def test_kill_9_during_ingest_leaves_the_previous_index_answering(tmp_path, sample_rag):
    index, pages = tmp_path / "index", tmp_path / "pages"
    shutil.copytree(sample_rag.config.index_dir, index)
    before = Index.load(index)
    pages.mkdir()
    for i in range(240):  # enough to be still embedding 3 s in where the CPU computes in bf16 (AMX)
        (pages / f"p{i:03d}.txt").write_text(f"第{i}篇\n\n" + TEA * 30 + BRIDGE * 30, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", "--index", str(index), str(pages)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while f"process {proc.pid}" not in (index / ".lock").read_text(encoding="utf-8") and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = Index.load(index)
    assert after.version == before.version and list(after.documents) == list(before.documents)
    assert len(after.dense) == len(after) == len(before)
    rag = PaperTrail(after, sample_rag.config.with_(index_dir=index), sample_rag.embedder)
    answer = rag.ask("三部门发文推动什么事项高效办理？")
    assert not answer.abstained and answer.citations
    report = rag.ingest([ROOT / "tests" / "fixtures" / "tiny_page.txt"])
    assert report.indexed == ["tiny_page.txt"] and Index.load(index).version != before.version


@pytest.mark.slow
def test_five_megabyte_single_line_is_cleaned_and_split_in_seconds():
    line = (TEA + BRIDGE).replace("\n", "") * (5_000_000 // len(TEA + BRIDGE))
    started = time.perf_counter()
    doc = to_document(RawPage(ROOT / "big.txt", line, PageMeta(), "0" * 64))
    chunks = split_document(doc, Config())
    assert chunks and chunks[-1].end <= len(doc.text)
    assert time.perf_counter() - started < 60


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("新华社本报讯电。，（）下转上接第三版1 \n\u3000长江")) | st.characters(), max_size=300))
def test_any_text_cleans_and_splits_with_offsets_into_the_page(text):
    doc = to_document(RawPage(ROOT / "x.txt", text, PageMeta(), "0" * 64))
    assert all(0 <= a.start <= a.end <= len(doc.text) for a in split_articles(doc.doc_id, doc.text))
    for chunk in split_document(doc, Config(chunk_size=40, chunk_overlap=8)):
        assert doc.text[chunk.start : chunk.end] == chunk.text
        raw = doc.raw_offset(chunk.start)
        assert 0 <= raw < len(doc.raw)
        assert doc.raw[raw] == chunk.text[0] or chunk.text[0].isspace()
    assert clean(text).text == doc.text


def test_remove_needs_a_path_when_a_file_name_is_shared(tmp_path, embedder):
    rag = fresh(tmp_path, embedder)
    for folder, text in (("a", TEA), ("b", BRIDGE)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "page.txt").write_text(text, encoding="utf-8")
        rag.ingest([tmp_path / folder])
    with pytest.raises(IngestError, match="page.txt: names pages of 2 files"):
        rag.remove("page.txt")
    assert [d.source for d in rag.remove(str(tmp_path / "b" / "page.txt"))] == ["page.txt"]
    assert "长江大桥" not in " ".join(c.text for c in Index.load(rag.config.index_dir).chunks)


@pytest.mark.slow
def test_a_huge_one_line_page_is_cut_to_the_passage_limit_and_progress_moves(tmp_path, embedder):
    pages = tmp_path / "pages"
    pages.mkdir()
    line = (TEA + BRIDGE).replace("\n", "")
    (pages / "huge.txt").write_text(line * (15_000_000 // len(line.encode())), encoding="utf-8")
    assert (pages / "huge.txt").stat().st_size > 14_000_000
    rag = fresh(tmp_path, embedder, max_chunks_per_page=96)
    seen: list[tuple[int, int]] = []
    started = time.perf_counter()
    report = rag.ingest([pages], progress=lambda done, total: seen.append((done, total)))
    assert report.indexed == ["huge.txt"] and report.chunks == 96 == len(rag.index)
    assert len(report.warnings) == 1 and "huge.txt: too long for one page; indexed only its first 96 passages" \
        in report.warnings[0] and "Config.max_chunks_per_page = 96" in report.warnings[0]
    total = seen[-1][1]  # the 96 passages and their distinct sentences, each encoded once
    done = [d for d, _ in seen]  # a report as each batch finishes (two may run side by side)
    assert total > 96 and {t for _, t in seen} == {total} and done[-1] == total
    assert done == sorted(set(done)) and len(seen) == -(-total // embedder.config.batch_size) >= 3
    assert time.perf_counter() - started < 120
    assert Config().max_chunks_per_page * Config().chunk_size * 2 < 1_000_000  # the default cut bounds clean/split


@pytest.mark.slow
def test_cli_ingest_after_current_vanished_keeps_the_saved_pages_or_stops(tmp_path, sample_rag):
    index = tmp_path / "index"
    shutil.copytree(sample_rag.config.index_dir, index)
    before = Index.load(index)
    (index / "CURRENT").unlink()
    tiny = ROOT / "tests" / "fixtures" / "tiny_page.txt"
    result = cli("ingest", "--index", str(index), str(tiny))
    assert result.returncode == 0, result.stderr
    assert "the newest complete version" in result.stderr
    after = Index.load(index)
    assert set(before.documents) < set(after.documents) and len(after.documents) == len(before.documents) + 1

    (index / "CURRENT").unlink()
    version = index / after.version
    (version / "vectors.faiss").write_bytes(b"\0" * (version / "vectors.faiss").stat().st_size)
    refused = cli("ingest", "--index", str(index), str(Config().sample_dir))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "no saved version is complete" in refused.stderr and "restore the folder from a backup" in refused.stderr
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("v")) == [after.version]
    assert not (index / "CURRENT").exists()


def test_jump_lines_are_relinked_only_in_the_editions_that_changed_and_agree_with_a_full_relink(tmp_path, embedder,
                                                                                                monkeypatch):
    from rag import jumps

    rag = indexed(tmp_path, embedder, {"铜仁日报_2026-04-02_01.txt": PAGE1, "铜仁日报_2026-04-02_03.txt": PAGE3})
    split = []
    monkeypatch.setattr(jumps, "split_articles", lambda doc_id, text: split.append(doc_id) or split_articles(doc_id, text))
    other = tmp_path / "other"
    other.mkdir()
    (other / "铜仁日报_2026-04-03_01.txt").write_text(PAGE1.replace("一百八十元", "一百九十元"), encoding="utf-8")
    (other / "铜仁日报_2026-04-03_03.txt").write_text(PAGE3.replace("二十吨", "三十吨"), encoding="utf-8")
    rag.ingest([other])
    new = {d.doc_id for d in rag.index.documents.values() if d.meta.date == "2026-04-03"}
    assert split and set(split) == new  # the pages of 2026-04-02 were not split again
    index = rag.index
    linked = {c.chunk_id: c.jump for c in index.chunks}
    assert len({j for j in linked.values() if j}) == 2
    jumps.link_jumps(list(index.documents.values()), index.chunks)
    assert {c.chunk_id: c.jump for c in index.chunks} == linked
    page3 = next(d for d in index.documents.values() if d.meta == PageMeta("铜仁日报", "2026-04-02", 3))
    rag.edit(page3.doc_id, PageMeta("铜仁日报", "2026-04-02", 4))  # its jump line no longer points at it
    assert {c.meta.date for c in rag.index.chunks if c.jump} == {"2026-04-03"}
