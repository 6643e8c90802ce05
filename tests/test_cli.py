import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rag.cli import build_parser, format_answer, main, read_questions
from rag.config import ROOT, Config
from rag.pipeline import PaperTrail
from rag.store import Index, LexicalStore, QdrantLexicalStore
from rag.store.qdrant_store import QdrantStore
from rag.versions import read_pointer

PAGE = "梵净山茶园喜迎春茶开采\n\n本报讯 今年首批春茶的收购价格为每斤一百八十元。\n"
PAPERTRAIL = Path(sys.executable).with_name("papertrail")
"""The console command the package installs beside this Python."""
QUESTION = "青藏铁路电气化外电配套工程总投资多少亿元？"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def papertrail(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(PAPERTRAIL), *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_argument_has_help_and_llm_flags_only_where_they_apply():
    commands = subcommands()
    assert set(commands) == {"ingest", "ask", "batch", "serve", "list", "remove", "migrate"}
    for name, sub in commands.items():
        assert all(action.help for action in sub._actions), name
        flags = {flag for action in sub._actions for flag in action.option_strings}
        assert ("--llm-base-url" in flags) == (name in {"ask", "batch", "serve"}), name
        assert ("--model" in flags) == (name == "ingest"), name
        assert ("--store" in flags) == (name in {"ingest", "ask", "batch", "serve"}), name
        assert ("--qdrant-path" in flags) == (name in {"ingest", "ask", "batch", "serve", "migrate"}), name
        assert "--index" in flags
    ask = {flag for action in commands["ask"]._actions for flag in action.option_strings}
    assert {"--paper", "--from", "--to"} <= ask


def test_console_command_runs_the_cli():
    out = papertrail("--help")
    assert out.returncode == 0 and out.stdout.startswith("usage: papertrail")
    assert all(name in out.stdout for name in ("ingest", "ask", "batch", "serve", "list", "remove"))


def test_ask_filters_by_paper_and_date(sample_rag, capsys):
    index = str(sample_rag.config.index_dir)
    assert main(["ask", QUESTION, "--index", index, "--json", "--paper", "拉萨日报",
                 "--from", "2026-04-03", "--to", "20260403"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert "149.02" in found["answer"] and found["citations"][0]["paper"] == "拉萨日报"
    assert main(["ask", QUESTION, "--index", index, "--json", "--paper", "铜仁日报"]) == 0
    other_paper = json.loads(capsys.readouterr().out)
    assert other_paper["abstained"] and not other_paper["citations"] and "铜仁日报" in other_paper["answer"]
    assert main(["ask", QUESTION, "--index", index, "--json", "--from", "2026-04-04"]) == 0
    assert json.loads(capsys.readouterr().out)["abstained"]
    assert main(["ask", QUESTION, "--index", index, "--json", "--page", "1"]) == 0
    front = json.loads(capsys.readouterr().out)
    assert "149.02" in front["answer"] and {c["page"] for c in front["citations"]} == {1}
    assert main(["ask", QUESTION, "--index", index, "--json", "--page", "7"]) == 0
    inside = json.loads(capsys.readouterr().out)
    assert inside["abstained"] and "第7版" in inside["answer"]
    with pytest.raises(SystemExit):
        main(["ask", QUESTION, "--index", index, "--page", "0"])
    assert "'0' is not a page number" in capsys.readouterr().err


def test_bad_dates_are_clear_errors(sample_rag, capsys):
    index = str(sample_rag.config.index_dir)
    with pytest.raises(SystemExit) as exit_:
        main(["ask", QUESTION, "--index", index, "--from", "April"])
    assert exit_.value.code == 2 and "'April' is not a date" in capsys.readouterr().err
    assert main(["ask", QUESTION, "--index", index, "--from", "2026-04-05", "--to", "2026-04-01"]) == 2
    assert capsys.readouterr().err == "error: --from 2026-04-05 is after --to 2026-04-01\n"


def test_a_missing_explicit_index_is_an_error_not_a_new_index(tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(QUESTION + "\n", encoding="utf-8")
    typo = tmp_path / "indx"
    for args in (["ask", QUESTION], ["batch", str(questions)], ["serve", "--port", "1"], ["list"], ["remove", "x"]):
        out = papertrail(*args, "--index", str(typo))
        assert out.returncode == 2, (args, out.stderr)
        assert out.stderr.count("\n") == 1 and str(typo) in out.stderr and "no index here" in out.stderr, args
        assert out.stdout == "" and not typo.exists(), args


def test_ask_list_and_remove_load_neither_gradio_nor_torch(sample_rag, tmp_path):
    """A cold ``ask`` encodes the question with ONNX Runtime; ``list`` and ``remove`` embed nothing."""
    copy = tmp_path / "index"
    shutil.copytree(sample_rag.config.index_dir, copy)
    script = textwrap.dedent(f"""
        import json, sys
        from rag.cli import main
        codes = [main(["ask", {QUESTION!r}, "--index", {str(copy)!r}]),
                 main(["list", "--index", {str(copy)!r}]),
                 main(["remove", "000_e94829f5f5b76ea6.txt", "--index", {str(copy)!r}])]
        heavy = ["gradio", "torch", "sentence_transformers", "transformers", "openai", "langchain_text_splitters"]
        print(json.dumps({{"codes": codes, "loaded": [m for m in heavy if m in sys.modules]}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "149.02" in lines[0] and "removed  000_e94829f5f5b76ea6.txt" in out.stdout
    assert json.loads(lines[-1]) == {"codes": [0, 0, 0], "loaded": []}


def test_read_questions_from_jsonl_and_text(tmp_path):
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"q": "甲？"}\n\n{"question": "乙？"}\n', encoding="utf-8")
    plain = tmp_path / "q.txt"
    plain.write_text("甲？\n乙？\n", encoding="utf-8")
    assert read_questions(jsonl) == read_questions(plain) == ["甲？", "乙？"]


def test_ask_json(sample_rag):
    out = run("ask", "2019年西藏高新技术企业有多少家？", "--index", str(sample_rag.config.index_dir), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "69" in data["answer"] and data["abstained"] is False
    assert data["citations"][0]["paper"] == "西藏日报"


def test_ask_prints_sources(sample_rag):
    answer = sample_rag.ask("第五届“天宫画展”线下展览持续到什么时候？")
    text = format_answer(answer)
    assert "5月24日" in text and "Sources:" in text and "[1] " in text


def test_batch_writes_one_line_per_question_in_order(sample_rag, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"q": "青藏铁路电气化外电配套工程总投资多少亿元？"}\n{"question": "深圳港2025年集装箱吞吐量是多少？"}\n',
                         encoding="utf-8")
    out_file = tmp_path / "answers.jsonl"
    out = run("batch", str(questions), "--index", str(sample_rag.config.index_dir), "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [r["question"] for r in rows] == ["青藏铁路电气化外电配套工程总投资多少亿元？", "深圳港2025年集装箱吞吐量是多少？"]
    assert "149.02" in rows[0]["answer"] and rows[1]["abstained"] is True


def test_batch_answers_every_question_and_gives_a_bad_one_an_error_row(sample_rag, tmp_path):
    questions = tmp_path / "q.jsonl"
    too_long = "北京" * 1500
    questions.write_text("\n".join(json.dumps({"q": q}) for q in (QUESTION, too_long, "\ud800坏", QUESTION)) + "\n",
                         encoding="utf-8")
    out_file = tmp_path / "answers.jsonl"
    out = run("batch", str(questions), "--index", str(sample_rag.config.index_dir), "--out", str(out_file))
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 and "149.02" in rows[0]["answer"] and "149.02" in rows[3]["answer"]
    assert "at most 2,000" in rows[1]["error"] and rows[1]["abstained"]
    assert rows[2]["question"] == "\ufffd坏" and "error" not in rows[2]
    (tmp_path / "latin1.txt").write_bytes("caf\xe9?\n".encode("latin-1"))
    bad = run("batch", str(tmp_path / "latin1.txt"), "--index", str(sample_rag.config.index_dir))
    assert bad.returncode != 0 and "not UTF-8" in bad.stderr and "Traceback" not in bad.stderr


def test_ask_refuses_a_question_over_the_length_limit_and_reads_undecodable_bytes(sample_rag):
    index = str(sample_rag.config.index_dir)
    out = run("ask", "北京" * 1500, "--index", index)
    assert out.returncode == 2 and "at most 2,000" in out.stderr and "Traceback" not in out.stderr
    raw = subprocess.run([sys.executable, "-m", "rag", "ask", b"\xff\xfe" + QUESTION.encode(), "--index", index],
                         capture_output=True, cwd=ROOT, timeout=300)
    assert raw.returncode == 0 and "149.02" in raw.stdout.decode(), raw.stderr.decode()


def test_serve_takes_its_credentials_from_the_environment_too(monkeypatch):
    assert build_parser().parse_args(["serve"]).auth is None
    monkeypatch.setenv("PAPERTRAIL_AUTH", "reader:s3cret")
    assert build_parser().parse_args(["serve"]).auth == "reader:s3cret"
    assert build_parser().parse_args(["serve", "--auth", "a:b"]).auth == "a:b"


def test_bad_index_gives_clear_error(tmp_path):
    broken = tmp_path / "index"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    out = run("ask", "问题", "--index", str(broken))
    assert out.returncode == 2
    assert str(broken) in out.stderr and "Traceback" not in out.stderr


def test_ask_prints_control_characters_of_pages_escaped(tmp_path, embedder, capsys):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "tea.txt").write_text(PAGE, encoding="utf-8")  # text with control characters is refused as binary
    (pages / "tea.txt.meta.json").write_text(json.dumps({"paper": "\x1b[31m拉萨日报\x1b[0m\x1b]0;pwned\x07"}),
                                             encoding="utf-8")
    index = tmp_path / "index"
    report = PaperTrail.create(Config(index_dir=index, show_progress=False), embedder).ingest([pages])
    assert report.indexed == ["tea.txt"], report.failed
    assert main(["ask", "今年首批春茶的收购价格是多少？", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "一百八十元" in out and "拉萨日报" in out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[31m拉萨日报" in out


def test_list_has_a_header_and_escapes_newlines_and_tabs_in_file_names(tmp_path, embedder, capsys):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a\nb\tc\\d.txt").write_text(PAGE, encoding="utf-8")
    (pages / "plain.txt").write_text(PAGE.replace("一百八十", "二百"), encoding="utf-8")
    index = tmp_path / "index"
    PaperTrail.create(Config(index_dir=index, show_progress=False), embedder).ingest([pages])
    assert main(["list", "--index", str(index)]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split("\t") == ["doc_id", "source", "paper", "date", "page", "chunks"]
    assert len(rows) == 2 and all(len(r.split("\t")) == 6 for r in rows)
    assert any(r.split("\t")[1] == "a\\nb\\tc\\\\d.txt" for r in rows)


def test_file_names_starting_with_a_dash_after_double_dash(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-dash.txt").write_text(PAGE, encoding="utf-8")
    index = str(tmp_path / "index")
    with pytest.raises(SystemExit) as exit_:
        main(["ingest", "--index", index, "-dash.txt"])
    assert exit_.value.code == 2 and "put -- before file names" in capsys.readouterr().err
    assert main(["ingest", "--index", index, "--", "-dash.txt"]) == 0
    assert "indexed  -dash.txt" in capsys.readouterr().out


def test_ingest_keeps_the_vector_index_asked_for(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "page.txt").write_text(PAGE * 3, encoding="utf-8")
    index = tmp_path / "index"
    assert main(["ingest", "--index", str(index), "--vector-index", "ivf", "page.txt"]) == 0
    capsys.readouterr()
    store = Index.load(index).dense
    assert store.lists == 1 and len(store) > 0  # IVF from the first chunk (one list for so few)
    assert main(["ask", "今年首批春茶的收购价格是多少？", "--index", str(index), "--json"]) == 0
    assert "一百八十元" in json.loads(capsys.readouterr().out)["answer"]


def test_ingest_into_qdrant_local_mode_then_ask(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "page.txt").write_text(PAGE * 3, encoding="utf-8")
    index, qdrant = tmp_path / "index", tmp_path / "vectors"
    assert main(["ingest", "--index", str(index), "--store", "qdrant", "--qdrant-path", str(qdrant), "page.txt"]) == 0
    capsys.readouterr()
    version = index / read_pointer(index)
    assert (version / "qdrant.json").is_file() and not (version / "vectors.faiss").exists()
    assert (version / "qdrant_bm25.json").is_file() and not (version / "lexical.npz").exists()
    store, terms = Index.load(index).dense, Index.load(index).sparse
    assert isinstance(store, QdrantStore) and store.location.path == qdrant and len(store) > 0
    assert isinstance(terms, QdrantLexicalStore) and terms.collection == f"{store.collection}_bm25"
    assert list(terms.ids()) == list(store.ids())
    assert main(["ask", "今年首批春茶的收购价格是多少？", "--index", str(index), "--json"]) == 0
    assert "一百八十元" in json.loads(capsys.readouterr().out)["answer"]


def test_migrate_moves_the_vectors_to_qdrant_and_back_without_changing_an_answer(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "page.txt").write_text(PAGE * 3, encoding="utf-8")
    index, qdrant = tmp_path / "index", tmp_path / "vectors"
    question = ["ask", "今年首批春茶的收购价格是多少？", "--index", str(index), "--json"]
    assert main(["ingest", "--index", str(index), "page.txt"]) == 0
    capsys.readouterr()
    assert main(question) == 0
    before = json.loads(capsys.readouterr().out)
    vectors = Index.load(index).dense.vectors(Index.load(index).ids())
    assert main(["migrate", "--index", str(index), "--to", "qdrant", "--qdrant-path", str(qdrant)]) == 0
    out = capsys.readouterr()
    assert f"moved {len(vectors)} chunks (vectors and BM25 terms) into Qdrant collection" in out.out
    assert "_bm25'" in out.out and f"moved {len(vectors)} of {len(vectors)} chunks" in out.err  # progress
    moved = Index.load(index)
    assert isinstance(moved.dense, QdrantStore) and (index / read_pointer(index) / "qdrant.json").is_file()
    assert isinstance(moved.sparse, QdrantLexicalStore) and not (index / read_pointer(index) / "lexical.npz").exists()
    assert np.allclose(moved.dense.vectors(moved.ids()), vectors)
    assert main(question) == 0 and json.loads(capsys.readouterr().out) == before
    again = ["migrate", "--index", str(index), "--to", "qdrant", "--qdrant-path", str(qdrant)]
    assert main(again) == 2 and "already in Qdrant collection" in capsys.readouterr().err  # never emptied
    other = tmp_path / "other"
    assert main(["ingest", "--index", str(other), "page.txt"]) == 0
    capsys.readouterr()
    into_ours = ["migrate", "--index", str(other), "--to", "qdrant", "--qdrant-path", str(qdrant),
                 "--qdrant-collection", moved.dense.collection]
    assert main(into_ours) == 2 and f"holds the index {index}" in capsys.readouterr().err
    assert main(question) == 0 and json.loads(capsys.readouterr().out) == before
    assert main(["migrate", "--index", str(index), "--to", "faiss"]) == 0
    assert "the old version's chunks stay in Qdrant collection" in capsys.readouterr().err
    back = Index.load(index)
    assert (index / read_pointer(index) / "vectors.faiss").is_file() and isinstance(back.sparse, LexicalStore)
    assert np.allclose(back.dense.vectors(back.ids()), vectors)
    assert main(question) == 0 and json.loads(capsys.readouterr().out) == before


def test_choosing_qdrant_without_qdrant_client_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # as if not installed
    (tmp_path / "page.txt").write_text(PAGE, encoding="utf-8")
    assert main(["ingest", "--index", str(tmp_path / "index"), "--store", "qdrant", str(tmp_path / "page.txt")]) == 2
    assert "pip install 'papertrail[qdrant]'" in capsys.readouterr().err


@pytest.mark.slow
def test_pipes_and_devices_are_refused_and_the_good_files_indexed(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    os.mkfifo(pages / "x.txt")
    (pages / "zero.txt").symlink_to("/dev/zero")
    (pages / "good.txt").write_text(PAGE, encoding="utf-8")
    out = run("ingest", "--index", str(tmp_path / "index"), str(pages))
    assert out.returncode == 1, out.stderr
    assert "x.txt: is a named pipe" in out.stderr and "zero.txt: is a character device" in out.stderr
    assert "indexed 1 page(s)" in out.stdout
