"""The web chat over real HTTP (gradio_client), its upload storage and its rendering."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from rag.cli import main
from rag.config import Config
from rag.pipeline import PaperTrail
from rag.types import Answer, Citation
from tests.conftest import serving
from tests.pdfgen import column_pdf
from ui.app import EXAMPLES
from ui.render import chat_markdown, passage, sources_html
from ui.uploads import UploadError, page_meta, safe_name, store_upload

FACT = "青禾日报讯 青禾市今年共种植紫色向日葵四万三千株，创历史新高。"


@pytest.fixture(scope="module")
def client(ui_url: str) -> Client:
    return Client(ui_url, verbose=False)


def test_chat_api_answers_the_example_with_citations(client: Client) -> None:
    result = client.predict(EXAMPLES[0], api_name="/chat")
    assert "149.02" in result["answer"]
    assert not result["abstained"]
    assert any(c["paper"] == "拉萨日报" for c in result["citations"])
    assert set(result) == set(Answer("q", "a", False).to_dict())


def test_chat_api_english_example(client: Client) -> None:
    result = client.predict(EXAMPLES[1], api_name="/chat")
    assert "69" in result["answer"] and result["citations"]


def test_chat_api_paper_filter_limits_sources(client: Client) -> None:
    result = client.predict(EXAMPLES[0], ["铜仁日报"], api_name="/chat")
    assert all(c["paper"] == "铜仁日报" for c in result["citations"])
    assert "149.02" not in result["answer"]


def test_chat_api_refuses_empty_question_and_bad_range(client: Client) -> None:
    with pytest.raises(AppError, match="empty"):
        client.predict("   ", api_name="/chat")
    with pytest.raises(AppError, match="date range is empty"):
        client.predict(EXAMPLES[0], None, "2026-05-01", "2026-04-01", api_name="/chat")


def test_upload_is_searchable_at_once_and_cited(client: Client, tmp_path: Path) -> None:
    page = tmp_path / "青禾 日报 p2.txt"
    page.write_text(FACT, encoding="utf-8")
    status, table, papers, *_ = client.predict([handle_file(str(page))], "青禾日报", "2026-05-01", "2",
                                               api_name="/upload")
    assert "**added**" in status and "searchable now" in status
    assert ["青禾_日报_p2.txt", "青禾日报", "2026-05-01", 2, 1, "upload"] in table["data"]
    assert ["青禾日报", "青禾日报"] in papers["choices"]
    result = client.predict("青禾市今年种植了多少紫色向日葵？", api_name="/chat")
    assert "四万三千株" in result["answer"]
    assert result["citations"][0]["paper"] == "青禾日报" and result["citations"][0]["page"] == 2
    again, *_ = client.predict([handle_file(str(page))], "", "", "", api_name="/upload")
    assert "**skipped**" in again and "already in the index" in again


def test_upload_pdf_page(client: Client, tmp_path: Path) -> None:
    pdf = column_pdf(tmp_path / "湖光日报.pdf", [("湖光日报 第1版", [["湖光市今年新建公园二十七座，绿地面积共计一千公顷。"]])])
    status, *_ = client.predict([handle_file(str(pdf))], "湖光日报", "2026-05-03", "1", api_name="/upload")
    assert "**added**" in status
    result = client.predict("湖光市今年新建了多少座公园？", api_name="/chat")
    assert "二十七座" in result["answer"] and result["citations"][0]["paper"] == "湖光日报"


def test_upload_refuses_bad_metadata_and_types(client: Client, tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(FACT, encoding="utf-8")
    with pytest.raises(AppError, match="not a date"):
        client.predict([handle_file(str(page))], "", "May 1st", "", api_name="/upload")
    with pytest.raises(AppError, match="Choose a page file"):
        client.predict([], "", "", "", api_name="/upload")
    other = tmp_path / "notes.csv"
    other.write_text("a,b", encoding="utf-8")
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict([handle_file(str(other))], "", "", "", api_name="/upload")
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    status, *_ = client.predict([handle_file(str(binary))], "", "", "", api_name="/upload")
    assert "**failed**" in status and "scan\\.txt" in status  # Markdown, names escaped as text


def test_safe_name_keeps_files_inside_the_folder() -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\evil.MD") == "evil.md"
    assert safe_name(".hidden.txt") == "hidden.txt"
    assert safe_name("铜仁日报 第3版.txt") == "铜仁日报_第3版.txt"
    assert safe_name("...") == "page"


def test_store_upload_sanitises_renames_and_writes_sidecar(tmp_path: Path) -> None:
    config = Config(index_dir=tmp_path / "data" / "index")
    folder = config.uploads_dir
    assert folder == tmp_path / "data" / "index.uploads"
    source = tmp_path / "upload.bin"
    source.write_text(FACT, encoding="utf-8")
    meta = page_meta(" 青禾日报 ", "2026年5月1日", " 3 ")
    first = store_upload(source, "../x.txt", folder, meta, 1000)
    second = store_upload(source, "x.txt", folder, page_meta("", "", None), 1000)
    assert (first.name, second.name) == ("x.txt", "x-2.txt")
    assert first.parent == second.parent == folder
    assert json.loads((folder / "x.txt.meta.json").read_text(encoding="utf-8")) == {
        "paper": "青禾日报", "date": "2026-05-01", "page": 3}
    assert not (folder / "x-2.txt.meta.json").exists()
    with pytest.raises(UploadError, match="cannot be indexed"):
        store_upload(source, "tool.exe", folder, meta, 1000)
    with pytest.raises(UploadError, match="over the 10-byte limit"):
        store_upload(source, "big.txt", folder, meta, 10)
    with pytest.raises(UploadError, match="whole number"):
        page_meta(None, None, "2.5")


def test_render_links_markers_and_highlights_sentence() -> None:
    cite = Citation(n=1, paper="铜仁日报", date="2026-04-02", page=None, title="标题", source="a.txt",
                    text="前文。<b>增长至9800多亿元。</b>后文。", score=0.9, sentence="<b>增长至9800多亿元。</b>",
                    also=[{"paper": "西藏日报", "date": None, "page": 2, "title": "标题", "source": "b.txt"}])
    answer = Answer("q", "增长至9800多亿元。[1]", False, [cite])
    text = chat_markdown(answer, 4)
    assert "[\\[1\\]](#src-4-1)" in text
    assert "[铜仁日报 · 2026\\-04\\-02 · 标题 · a\\.txt](#src-4-1)" in text and "also in 西藏日报 · 第2版 · 标题" in text
    assert "\\<b\\>增长至9800多亿元。\\<\\/b\\>" not in text and text.startswith("增长至9800多亿元。[")
    assert passage(cite.__dict__) == ("<p class='pt-passage'>前文。<mark>&lt;b&gt;增长至9800多亿元。&lt;/b&gt;</mark>"
                                      "后文。</p>")
    html = sources_html([answer.to_dict()])
    assert "id='src-1-1' open" in html and "a.txt" in html
    assert "score" not in html and "0.900" not in html  # no raw retrieval score for the reader


def test_serve_rejects_malformed_auth(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["serve", "--index", str(tmp_path / "index"), "--auth", "nopassword"]) == 2
    assert "USER:PASS" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()


def test_wrong_passwords_back_off_per_client(sample_rag, tmp_path: Path) -> None:
    config = sample_rag.config.with_(index_dir=tmp_path / "index", login_backoff=2.0, login_backoff_max=4.0)
    with serving(PaperTrail(sample_rag.index, config, sample_rag.embedder), auth=("reader", "s3cret")) as url:
        login = f"{url}login"
        started = time.monotonic()
        codes = [httpx.post(login, data={"username": "reader", "password": f"guess{i}"}).status_code
                 for i in range(50)]
        free = config.login_free_attempts
        assert codes[: free + 1] == [400] * free + [429]
        assert codes.count(400) <= free + 3 and set(codes) == {400, 429}  # each later try waits twice as long
        refused = httpx.post(login, data={"username": "reader", "password": "s3cret"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        time.sleep(config.login_backoff_max + 0.1)
        assert httpx.post(login, data={"username": "reader", "password": "s3cret"}).status_code == 200
        assert httpx.post(login, data={"username": "reader", "password": "wrong"}).status_code == 400
        assert time.monotonic() - started < 30
