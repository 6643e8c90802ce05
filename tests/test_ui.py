"""The web chat over real HTTP (gradio_client), its upload storage and its rendering."""

from __future__ import annotations

import json
import time
from string import Formatter
from pathlib import Path

import httpx
import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from rag.cli import main
from rag.config import Config
from rag.pipeline import PaperTrail
from rag.types import Answer, Citation, Page, PageMeta
from tests.conftest import serving
from tests.pdfgen import column_pdf
from tests.test_scan import SMALL, compose, draw, needs_ocr
from ui.app import EXAMPLES, ChatApp, history_store
from ui.catalog import columns, matching, note, rows, summary
from ui.export import conversation_markdown
from ui.filters import filters
from ui.i18n import TEXTS, Refusal, language
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


def test_chat_api_page_filter(client: Client) -> None:
    front = client.predict(EXAMPLES[0], None, None, None, "1", api_name="/chat")
    assert "149.02" in front["answer"] and {c["page"] for c in front["citations"]} == {1}
    inside = client.predict(EXAMPLES[0], None, None, None, "7", api_name="/chat")
    assert inside["abstained"] and "第7版" in inside["answer"]
    with pytest.raises(AppError, match="not a page number"):
        client.predict(EXAMPLES[0], None, None, None, "front", api_name="/chat")


def test_chat_api_refuses_empty_question_and_bad_range(client: Client) -> None:
    with pytest.raises(AppError, match="empty"):
        client.predict("   ", api_name="/chat")
    with pytest.raises(AppError, match="date range is empty"):
        client.predict(EXAMPLES[0], None, "2026-05-01", "2026-04-01", api_name="/chat")


def listed(ui_url: str) -> list[dict]:
    """The pages the server lists now (``GET /api/pages``)."""
    return httpx.get(f"{ui_url}api/pages").json()["pages"]


def test_upload_is_searchable_at_once_cited_and_clears_the_form(client: Client, ui_url: str, tmp_path: Path) -> None:
    page = tmp_path / "青禾 日报 p2.txt"
    page.write_text(FACT, encoding="utf-8")
    status, files, paper, date, number, per_file = client.predict([handle_file(str(page))], "青禾日报", "2026-05-01",
                                                                  "2", api_name="/upload")
    assert "**added**" in status and "searchable now" in status and "warning" not in status
    assert (files, paper, date, number, per_file["visible"]) == (None, "", "", "", False)
    row = next(p for p in listed(ui_url) if p["file"] == "青禾_日报_p2.txt")
    assert (row["paper"], row["date"], row["page"], row["uploaded"]) == ("青禾日报", "2026-05-01", 2, True)
    result = client.predict("青禾市今年种植了多少紫色向日葵？", api_name="/chat")
    assert "四万三千株" in result["answer"]
    assert result["citations"][0]["paper"] == "青禾日报" and result["citations"][0]["page"] == 2
    again, *_ = client.predict([handle_file(str(page))], "", "", "", api_name="/upload")
    assert "**skipped**" in again and "already in the index" in again


def test_batch_upload_takes_metadata_per_file_and_warns_of_a_page_without(client: Client, ui_url: str,
                                                                            tmp_path: Path) -> None:
    first, second, bare = tmp_path / "batch-a.txt", tmp_path / "batch-b.txt", tmp_path / "batch-c.txt"
    first.write_text("白桦日报讯 白桦市今年新建篮球场三十六个。", encoding="utf-8")
    second.write_text("白桦日报讯 白桦湖今年放流鱼苗八十万尾。", encoding="utf-8")
    bare.write_text("某地今年新修村道十四公里。", encoding="utf-8")
    table = {"headers": ["file", "paper", "date", "page"],
             "data": [["batch-a.txt", "", "", "5"], ["batch-b.txt", "白桦晚报", "2026年5月7日", ""],
                      ["batch-c.txt", "", "", ""]]}
    status, *_ = client.predict([handle_file(str(f)) for f in (first, second, bare)], "白桦日报", "2026-05-06", "",
                                table, api_name="/upload")
    assert status.count("**added**") == 3
    pages = {p["file"]: (p["paper"], p["date"], p["page"]) for p in listed(ui_url)}
    assert pages["batch-a.txt"] == ("白桦日报", "2026-05-06", 5)
    assert pages["batch-b.txt"] == ("白桦晚报", "2026-05-07", None)
    assert pages["batch-c.txt"] == ("白桦日报", "2026-05-06", None)  # the fields above fill its empty cells
    assert "**warning** batch\\-c\\.txt\\: no page known" in status and "batch\\-a\\.txt\\: no" not in status
    table["data"][1][2] = "May 7th"
    with pytest.raises(AppError, match="batch-b.txt: Date 'May 7th' is not a date"):
        client.predict([handle_file(str(second))], "", "", "", table, api_name="/upload")
    table["data"][1][2] = "<img src=https://evil.example/x.png>"
    with pytest.raises(AppError, match="Date '&lt;img src=https://evil.example/x.png&gt;' is not a date"):
        client.predict([handle_file(str(second))], "", "", "", table, api_name="/upload")  # the modal renders HTML


def test_upload_pdf_page(client: Client, tmp_path: Path) -> None:
    pdf = column_pdf(tmp_path / "湖光日报.pdf", [("湖光日报 第1版", [["湖光市今年新建公园二十七座，绿地面积共计一千公顷。"]])])
    status, *_ = client.predict([handle_file(str(pdf))], "湖光日报", "2026-05-03", "1", api_name="/upload")
    assert "**added**" in status
    result = client.predict("湖光市今年新建了多少座公园？", api_name="/chat")
    assert "二十七座" in result["answer"] and result["citations"][0]["paper"] == "湖光日报"


@needs_ocr
def test_upload_scan_is_ocrd_and_cited_on_its_page_image(client: Client, tmp_path: Path) -> None:
    scan = tmp_path / "雪莲日报_2026-05-04_02.png"
    story = ("雪莲县乡村公路通达全部行政村\n\n雪莲日报讯 雪莲县今年共修建乡村公路八十六公里，通达全部行政村，"
             "沿线群众出行时间平均缩短一半。县交通局介绍，新修公路全部按照四级公路标准建设，路面宽度六点五米，"
             "沿线设置安全防护设施和错车道，方便农产品运输。今年以来，全县还新开通农村客运班线十二条，"
             "群众在家门口就能坐上班车，特色农产品也能更快运出大山。")
    draw(compose(story, SMALL), 200).save(scan)
    status, *_ = client.predict([handle_file(str(scan))], "", "", "", api_name="/upload")
    assert "**added**" in status
    result = client.predict("雪莲县今年修建了多少公里乡村公路？", api_name="/chat")
    cited = result["citations"][0]
    assert "共修建乡村公路八十六公里，通达全部行政村" in result["answer"] and cited["paper"] == "雪莲日报"
    assert cited["page_image"].startswith("/api/pages/") and len(cited["bbox"]) == 4


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
    assert "**failed**" in status and "scan\\.txt\\: binary content" in status  # Markdown, names escaped as text
    assert "uploads" not in status  # the file as uploaded, not where the server keeps it


def test_safe_name_keeps_files_inside_the_folder() -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\evil.MD") == "evil.md"
    assert safe_name(".hidden.txt") == "hidden.txt"
    assert safe_name("铜仁日报 第3版.txt") == "铜仁日报_第3版.txt"
    assert safe_name("...") == "page"
    for long in ("\U00020000" * 80 + ".txt", "中" * 200 + ".txt", "a" * 300 + ".txt"):
        name = safe_name(long)
        assert name.endswith(".txt") and len(name.encode()) <= 164 and name[0] == long[0]


def test_a_long_name_in_any_script_is_stored_with_its_metadata(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("本报讯 长江大桥今天正式通车。", encoding="utf-8")
    folder = tmp_path / "uploads"
    for n, name in enumerate(("\U00020000" * 80 + ".txt", "中" * 80 + ".txt")):
        stored = store_upload(source, name, folder, PageMeta(paper="青禾日报", page=n + 1), 10_000)
        assert stored.is_file() and stored.with_name(stored.name + ".meta.json").is_file()
        again = store_upload(source, name, folder, PageMeta(paper="青禾日报"), 10_000)
        assert again.name.endswith("-2.txt") and again.with_name(again.name + ".meta.json").is_file()


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
    answer = Answer("q", "增长至9800多亿元。[1]", False, [cite]).to_dict()
    text = chat_markdown(answer, 4, "en")
    assert "[\\[1\\]](#src-4-1)" in text
    assert "[铜仁日报 · 2026\\-04\\-02 · 标题 · a\\.txt](#src-4-1)" in text and "also in 西藏日报 · 第2版 · 标题" in text
    assert "\\<b\\>增长至9800多亿元。\\<\\/b\\>" not in text and text.startswith("增长至9800多亿元。[")
    assert "**出处**" in chat_markdown(answer, 4, "zh") and "另见 西藏日报" in chat_markdown(answer, 4, "zh")
    assert passage(cite.__dict__) == ("<p class='pt-passage'>前文。<mark>&lt;b&gt;增长至9800多亿元。&lt;/b&gt;</mark>"
                                      "后文。</p>")
    html = sources_html([answer], "en")
    assert "id='src-1-1' open" in html and "a.txt" in html and "Also printed in:" in html
    assert "score" not in html and "0.900" not in html  # no raw retrieval score for the reader
    assert "也刊登于：" in sources_html([answer], "zh") and "文件 <code>a.txt</code>" in sources_html([answer], "zh")
    assert "点击 [n] 标记" in sources_html([], "zh")


def test_export_cites_in_full_and_keeps_hostile_text_as_text() -> None:
    cite = Citation(n=1, paper="铜仁日报", date="2026-04-02", page=3, title="标题", source="a_b.txt", text="…",
                    score=0.9, sentence="增长至\n9800多亿元。",
                    also=[{"paper": "西藏日报", "date": None, "page": 2, "title": "标题", "source": "c.txt"}])
    hostile = Answer("[x](http://evil.example) <img src=x>", "![i](http://evil.example/i.png)", True).to_dict()
    answers = [Answer("多少亿元？", "增长至9800多亿元。[1]", False, [cite]).to_dict(), hostile]
    markdown = conversation_markdown(answers, "en")
    assert markdown.startswith("# PaperTrail conversation\n")
    assert "## 1. 多少亿元？\n\n增长至9800多亿元。\\[1\\]\n" in markdown
    assert "1. 铜仁日报 · 2026\\-04\\-02 · 第3版 · 标题 · a\\_b\\.txt\n   > 增长至 9800多亿元。\n" in markdown
    assert "   - also in 西藏日报 · 第2版 · 标题 · c\\.txt" in markdown
    assert "## 2. \\[x\\]\\(http\\:\\/\\/evil\\.example\\) \\<img src\\=x\\>" in markdown
    assert "\\!\\[i\\]\\(http" in markdown and "_No sources: the pages do not answer this._" in markdown
    assert "](http" not in markdown
    chinese = conversation_markdown(answers, "zh")
    assert chinese.startswith("# PaperTrail 对话记录") and "**出处**" in chinese and "另见 西藏日报" in chinese


def test_every_text_is_in_both_languages_with_the_same_blanks() -> None:
    assert TEXTS["en"].keys() == TEXTS["zh"].keys()
    for key, english in TEXTS["en"].items():
        blanks = {name for _, name, _, _ in Formatter().parse(english) if name}
        assert blanks == {name for _, name, _, _ in Formatter().parse(TEXTS["zh"][key]) if name}, key
    assert [language(h) for h in ("zh-CN", "zh-Hant-TW", "ZH", "en-US", "fr", "", None)] == [
        "zh", "zh", "zh", "en", "en", "en", "en"]


def test_refusals_read_in_either_language() -> None:
    with pytest.raises(Refusal) as err:
        filters(None, "2026-05-01", "2026年4月1日")
    assert str(err.value) == "The date range is empty: 2026-05-01 is after 2026-04-01."
    assert err.value.message("zh") == "日期范围为空：起始日期 2026-05-01 晚于截止日期 2026-04-01。"
    with pytest.raises(UploadError) as err:
        page_meta("", "", "3版")
    assert err.value.message("zh-CN") == "版次“3版”必须是 1 到 9999 之间的整数。"


def page(file: str, paper: str | None, date: str | None, number: int | None, title: str | None = None) -> Page:
    return Page(file, file, paper, date, number, title, 3, False)


def test_catalog_searches_filters_and_flags_missing_metadata() -> None:
    pages = [page("000.txt", "拉萨日报", "2026-04-03", 1, "青藏铁路 开建"), page("001.txt", "西藏日报", None, None),
             page("002.txt", None, None, None, "科技创新"), page("003.txt", "铜仁日报", "2026-04-02", 2)]
    files = lambda found: [p.file for p in found]  # noqa: E731
    assert files(matching(pages, "", None, False)) == ["000.txt", "001.txt", "002.txt", "003.txt"]
    assert files(matching(pages, " 青藏铁路  开建 ", None, False)) == ["000.txt"]
    assert files(matching(pages, "日报 2026-04", None, False)) == ["000.txt", "003.txt"]
    assert files(matching(pages, "", "西藏日报", False)) == ["001.txt"]
    assert files(matching(pages, "", None, True)) == ["001.txt", "002.txt"]
    assert files(matching(pages, "科技", "拉萨日报", False)) == []
    assert [note(p, "en") for p in pages] == ["", "⚠ no date, page: cited by file name",
                                              "⚠ no paper, date, page: cited by file name", ""]
    assert note(pages[2], "zh") == "⚠ 缺少报纸、日期、版次：引用显示文件名"
    assert note(page("x.txt", None, None, 4), "en") == "⚠ no paper, date"
    assert rows(pages[:1], "zh") == [["000.txt", "拉萨日报", "2026-04-03", 1, "青藏铁路 开建", 3, "导入", "", "000.txt"]]
    assert "2 of 4 pages have missing metadata" in summary(pages, "en") and summary(pages[:1], "en") == ""
    assert len(columns("zh")) == len(columns("en")) == len(rows(pages, "en")[0])


def test_the_browser_keeps_one_history_per_index_across_server_restarts(tmp_path: Path) -> None:
    first, other = (history_store(Config(index_dir=tmp_path / name)) for name in ("a", "b"))
    restarted = history_store(Config(index_dir=tmp_path / "a"))
    assert (restarted.storage_key, restarted.secret, restarted.default_value) == (first.storage_key, first.secret, [])
    assert first.storage_key != other.storage_key and first.secret != other.secret


def test_a_stored_history_that_is_not_answers_is_dropped(sample_rag) -> None:
    app = ChatApp(sample_rag)
    good = Answer("q", "a [1]", False, [Citation(1, "报", None, None, None, "f.txt", "t", 0.5)]).to_dict()
    messages, panel, markdown, answers = app.view([good], "zh")
    assert [m["role"] for m in messages] == ["user", "assistant"] and answers == [good] and "f.txt" in panel
    for stored in ([{"question": "q"}], "not a list", [1, 2], None):
        assert app.view(stored, "en") == ([], sources_html([], "en"), conversation_markdown([], "en"), [])


def test_opening_the_page_never_wipes_a_question_asked_while_it_loaded(sample_rag) -> None:
    app = ChatApp(sample_rag)
    stored = Answer("q", "a [1]", False, [Citation(1, "报", None, None, None, "f.txt", "t", 0.5)]).to_dict()
    asked = [{"role": "user", "content": "新问题"}, {"role": "assistant", "content": "答"}]
    assert all(isinstance(x, type(gr.skip())) for x in app.restore([], "zh", asked))
    assert app.restore([stored], "zh", []) == app.view([stored], "zh")


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


def test_a_server_slow_to_answer_its_first_request_counts_as_up() -> None:
    import http.server
    import socket
    import threading

    from ui.app import answers

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(3.5)  # longer than the 3 s Gradio's own start-up probe waits
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert answers(f"http://127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert not answers(f"http://127.0.0.1:{closed}/", tries=2)


def test_the_page_starts_with_the_chosen_language_script_and_nothing_else_is_touched(ui_url: str) -> None:
    page = httpx.get(ui_url, timeout=30)
    head = page.text[page.text.index("<head>"):]
    assert head.startswith("<head><script>(() => { const chosen = localStorage.getItem('papertrail-locale');")
    assert int(page.headers["content-length"]) == len(page.content)
    config = httpx.get(ui_url + "config", timeout=30)  # not HTML: passes untouched
    assert config.json()["version"] and "const chosen = localStorage" not in config.text
