import json
import subprocess
import sys

from rag.cli import format_answer, read_questions
from rag.config import ROOT


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
    questions.write_text('{"q": "1月份社会融资规模增量是多少？"}\n{"question": "深圳港2025年集装箱吞吐量是多少？"}\n',
                         encoding="utf-8")
    out_file = tmp_path / "answers.jsonl"
    out = run("batch", str(questions), "--index", str(sample_rag.config.index_dir), "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [r["question"] for r in rows] == ["1月份社会融资规模增量是多少？", "深圳港2025年集装箱吞吐量是多少？"]
    assert "7.06万亿" in rows[0]["answer"] and rows[1]["abstained"] is True


def test_bad_index_gives_clear_error(tmp_path):
    broken = tmp_path / "index"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    out = run("ask", "问题", "--index", str(broken))
    assert out.returncode == 2
    assert str(broken) in out.stderr and "Traceback" not in out.stderr
