import json
import os
import subprocess
import sys

import pytest

from rag.cli import format_answer, main, read_questions
from rag.config import ROOT, Config
from rag.pipeline import PaperTrail

PAGE = "梵净山茶园喜迎春茶开采\n\n本报讯 今年首批春茶的收购价格为每斤一百八十元。\n"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


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


def test_bad_index_gives_clear_error(tmp_path):
    broken = tmp_path / "index"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    out = run("ask", "问题", "--index", str(broken))
    assert out.returncode == 2
    assert str(broken) in out.stderr and "Traceback" not in out.stderr


def test_list_escapes_newlines_and_tabs_in_file_names(tmp_path, embedder, capsys):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a\nb\tc\\d.txt").write_text(PAGE, encoding="utf-8")
    (pages / "plain.txt").write_text(PAGE.replace("一百八十", "二百"), encoding="utf-8")
    index = tmp_path / "index"
    PaperTrail.create(Config(index_dir=index, show_progress=False), embedder).ingest([pages])
    assert main(["list", "--index", str(index)]) == 0
    rows = capsys.readouterr().out.splitlines()
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
