"""The web chat in a real headless Chromium: ask, see the cited answer, open a source; hostile text stays text."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from rag.config import ROOT, Config
from rag.pipeline import PaperTrail
from tests.chat_server import ChatServer
from tests.conftest import copy_of_sample, serving
from ui.app import EXAMPLES

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium missing: apt-get install chromium")]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, ui_url: str):
    """A fresh tab on the web chat; screenshots go to test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(ui_url)
    yield page
    page.close()


def test_browser_asks_and_shows_cited_answer_and_source(page) -> None:
    box = page.locator("#pt-question textarea")
    box.fill(EXAMPLES[0])
    page.locator("#pt-send").click()
    chat = page.locator("#pt-chat")
    expect(chat).to_contain_text("149.02", timeout=60_000)
    expect(chat).to_contain_text("拉萨日报", timeout=30_000)
    cards = page.locator("#pt-sources details.pt-source")
    expect(cards.first).to_be_visible(timeout=30_000)
    expect(page.locator("#pt-sources mark").first).to_contain_text("149.02")
    page.locator("#pt-sources details.pt-source[open] > summary").first.click()  # fold the first card
    chat.locator('a[href="#src-1-1"]').first.click()  # its [1] marker opens it again
    expect(page.locator("#src-1-1")).to_have_attribute("open", "")
    page.screenshot(path=str(ARTIFACTS / "ui-chat.png"), full_page=True)
    page.get_by_text(EXAMPLES[1], exact=True).click()  # an example asks at once
    expect(chat.locator('a[href="#src-2-1"]').first).to_be_visible(timeout=60_000)


def ask(page, question: str) -> None:
    """Ask in the chat and wait for the answer's sources."""
    page.locator("#pt-question textarea").fill(question)
    page.locator("#pt-send").click()
    expect(page.locator("#pt-sources details.pt-source").first).to_be_visible(timeout=60_000)


def choose(page, dropdown: str, option: str) -> None:
    """Pick ``option`` from the Gradio dropdown ``dropdown`` (a selector), in its own list of options."""
    field = page.locator(f"{dropdown} input")
    field.click()
    page.locator(f"#{field.get_attribute('aria-controls')}").get_by_role("option", name=option, exact=True).click()


def test_history_survives_a_reload_and_exports_as_markdown_with_full_citations(page) -> None:
    ask(page, EXAMPLES[0])
    page.reload()
    chat = page.locator("#pt-chat")
    expect(chat).to_contain_text("149.02", timeout=30_000)
    expect(chat).to_contain_text(EXAMPLES[0])
    expect(page.locator("#pt-sources mark").first).to_contain_text("149.02")
    page.locator("#pt-sources details.pt-source[open] > summary").first.click()
    chat.locator('a[href="#src-1-1"]').first.click()  # the restored [1] still opens its passage
    expect(page.locator("#src-1-1")).to_have_attribute("open", "")
    ask(page, EXAMPLES[1])  # the conversation goes on after the reload
    expect(chat.locator('a[href="#src-2-1"]').first).to_be_visible(timeout=30_000)
    with page.expect_download() as download:
        page.locator("#pt-export").click()
    assert download.value.suggested_filename.startswith("papertrail-")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# PaperTrail conversation\n")
    assert f"## 1. {EXAMPLES[0]}\n" in markdown and "## 2. How many high\\-tech enterprises" in markdown
    assert markdown.index("## 1.") < markdown.index("## 2.")
    assert ("1. 拉萨日报 · 2026\\-04\\-03 · 第1版 · 投资超75亿元 青藏铁路电气化外电配套工程（西藏段）开建 · "
            "000\\_e94829f5f5b76ea6\\.txt\n   > ") in markdown
    assert "总投资149\\.02亿元。" in markdown and "001\\_e966a7bb64436bc5\\.txt" in markdown
    chat.get_by_role("button", name="Clear").click()
    page.reload()
    expect(page.locator("#pt-sources")).to_contain_text("Sources of each answer appear here", timeout=30_000)
    expect(chat).not_to_contain_text("149.02")


def test_language_follows_the_browser_then_the_toggle_and_errors_are_messages(browser, ui_url: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(ui_url)
    expect(page.get_by_role("tab", name="问答")).to_be_visible(timeout=30_000)
    expect(page.locator("#pt-send")).to_have_text("提问")
    expect(page.locator("#pt-sources")).to_contain_text("每个回答的出处显示在这里")
    inverted_dates(page)
    page.locator("#pt-question textarea").fill(EXAMPLES[0])
    page.locator("#pt-send").click()
    expect(page.get_by_text("日期范围为空：起始日期 2026-04-03 晚于截止日期 2026-04-02。")).to_be_visible()
    expect(page.locator("#pt-question textarea")).to_have_value(EXAMPLES[0])  # kept, to ask again
    expect(page.locator("#pt-chat")).not_to_contain_text("149.02")
    page.get_by_role("tab", name="版面").click()
    expect(page.locator("#pt-files")).to_contain_text("将文件拖放到此处")  # Gradio's own words
    page.screenshot(path=str(ARTIFACTS / "ui-zh.png"), full_page=True)
    page.locator("#pt-lang").get_by_text("English").click()
    expect(page.get_by_role("tab", name="Chat")).to_be_visible(timeout=30_000)
    expect(page.locator("#pt-send")).to_have_text("Ask")
    expect(page.locator("#pt-question textarea")).to_have_value(EXAMPLES[0])  # the typed question carried over
    page.get_by_role("tab", name="Pages").click()
    expect(page.locator("#pt-files")).to_contain_text("Drop File Here")  # Gradio's own words follow the toggle
    page.get_by_role("tab", name="Chat").click()
    inverted_dates(page)
    page.locator("#pt-send").click()
    expect(page.get_by_text("The date range is empty: 2026-04-03 is after 2026-04-02.")).to_be_visible()
    page.reload()  # the choice is kept over the browser's language
    expect(page.get_by_role("tab", name="Pages")).to_be_visible(timeout=30_000)
    expect(page.locator("#pt-send")).to_have_text("Ask")
    page.locator("#pt-lang").get_by_text("中文").click()
    expect(page.locator("#pt-send")).to_have_text("提问", timeout=30_000)
    page.get_by_role("tab", name="版面").click()
    expect(page.locator("#pt-files")).to_contain_text("将文件拖放到此处")
    context.close()


def inverted_dates(page) -> None:
    """Filter from 2026-04-03 to 2026-04-02: an empty range."""
    page.locator("#pt-filters").click()
    choose(page, "#pt-from", "2026-04-03")
    choose(page, "#pt-to", "2026-04-02")


def test_on_a_phone_the_sources_sit_next_to_the_answer(browser, ui_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(ui_url)
    ask(page, EXAMPLES[0])
    box = {name: page.locator(selector).bounding_box() for name, selector in (
        ("chat", "#pt-chat"), ("question", "#pt-question"), ("side", "#pt-side"), ("examples", "#pt-examples"),
        ("filters", "#pt-filters"))}
    below_question = box["question"]["y"] + box["question"]["height"]
    assert below_question <= box["side"]["y"] < below_question + 120, box  # the Ask button between, nothing else
    assert box["side"]["y"] + 100 < min(box["examples"]["y"], box["filters"]["y"]), box
    assert box["chat"]["y"] < box["side"]["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    page.screenshot(path=str(ARTIFACTS / "ui-phone.png"), full_page=True)
    context.close()


def test_browser_uploads_pages_with_metadata_per_file_and_clears_the_form(page, tmp_path: Path) -> None:
    first, second = tmp_path / "browser-page.md", tmp_path / "browser-page-2.txt"
    first.write_text("云杉晚报讯 云杉湖今年观测到候鸟一万两千只，比去年多三成。", encoding="utf-8")
    second.write_text("云杉晚报讯 云杉山今年新栽云杉树苗五万株。", encoding="utf-8")
    page.get_by_role("tab", name="Pages").click()
    page.locator("#pt-files input[type=file]").set_input_files([str(first), str(second)])
    page.locator("#pt-paper textarea").fill("云杉晚报")
    page.locator("#pt-date textarea").fill("2026-05-02")
    cells = page.locator("#pt-per-file [role=gridcell]")
    expect(cells.nth(4)).to_have_text("browser-page-2.txt", timeout=30_000)
    cells.nth(7).dblclick()  # the second file's page
    page.keyboard.type("6")
    page.keyboard.press("Enter")
    expect(cells.nth(7)).to_contain_text("6")
    page.locator("#pt-add").click()
    status = page.locator("#pt-status")
    expect(status).to_contain_text("browser-page-2.txt", timeout=60_000)
    expect(status).to_contain_text("browser-page.md: no page known")  # the first has no page number
    expect(status).not_to_contain_text("browser-page-2.txt: no")
    expect(page.locator("#pt-paper textarea")).to_have_value("")
    expect(page.locator("#pt-date textarea")).to_have_value("")
    expect(page.locator("#pt-per-file")).to_be_hidden()
    expect(page.locator("#pt-files")).not_to_contain_text("browser-page")
    expect(page.locator("#pt-pages")).to_contain_text("云杉晚报")
    page.screenshot(path=str(ARTIFACTS / "ui-pages.png"), full_page=True)
    page.get_by_role("tab", name="Chat").click()
    page.locator("#pt-question textarea").fill("云杉湖今年观测到多少候鸟？")
    page.locator("#pt-question textarea").press("Enter")
    expect(page.locator("#pt-chat")).to_contain_text("一万两千只", timeout=60_000)
    expect(page.locator("#pt-sources")).to_contain_text("云杉晚报 · 2026-05-02")
    page.locator("#pt-question textarea").fill("云杉山今年新栽了多少云杉树苗？")
    page.locator("#pt-question textarea").press("Enter")
    expect(page.locator("#pt-sources")).to_contain_text("云杉晚报 · 2026-05-02 · 第6版", timeout=60_000)


@pytest.fixture
def library_url(sample_rag, tmp_path: Path):
    """The web chat over a private copy of the sample index, to edit and delete its pages."""
    with serving(copy_of_sample(sample_rag, tmp_path / "index")) as url:
        yield url


def listed(url: str) -> dict[str, dict]:
    return {p["file"]: p for p in httpx.get(f"{url}api/pages").json()["pages"]}


def test_pages_tab_searches_edits_and_deletes_pages(browser, library_url: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(library_url)
    page.get_by_role("tab", name="Pages").click()
    table, warning = page.locator("#pt-pages"), page.locator("#pt-missing")
    expect(warning).to_contain_text("4 of 5 pages have missing metadata", timeout=30_000)
    expect(table).to_contain_text("⚠ no paper, date, page: cited by file name")
    page.locator("#pt-search textarea").fill("铜仁")
    expect(table).not_to_contain_text("000_e94829f5f5b76ea6.txt")
    expect(table).to_contain_text("002_545d6686b7c5b8d1.txt")
    expect(page.locator("#pt-pages")).to_contain_text("1 of 5 shown")
    page.locator("#pt-search textarea").fill("")
    page.locator("#pt-missing-only input").check()
    expect(table).not_to_contain_text("000_e94829f5f5b76ea6.txt")
    expect(table).to_contain_text("003_9f285de0212aa684.txt")
    page.locator("#pt-missing-only input").uncheck()
    expect(table).to_contain_text("000_e94829f5f5b76ea6.txt")

    table.get_by_text("003_9f285de0212aa684.txt", exact=True).first.click()
    expect(page.locator("#pt-selected")).to_contain_text("003_9f285de0212aa684.txt")
    page.locator("#pt-edit-paper textarea").fill("新华日报")
    page.locator("#pt-edit-date textarea").fill("April 5")
    page.locator("#pt-save").click()
    expect(page.get_by_text("Date 'April 5' is not a date like 2026-04-02.")).to_be_visible()
    assert listed(library_url)["003_9f285de0212aa684.txt"]["paper"] is None  # nothing saved
    page.locator("#pt-edit-date textarea").fill("2026年4月5日")
    page.locator("#pt-edit-page textarea").fill("2")
    page.locator("#pt-save").click()
    expect(page.locator("#pt-library-status")).to_contain_text(
        "Saved: 新华日报 · 2026-04-05 · 第2版 · 「创新链」遇见「产业链」 · 003_9f285de0212aa684.txt")
    expect(page.locator("#pt-edit-date textarea")).to_have_value("2026-04-05")
    expect(warning).to_contain_text("3 of 5 pages")
    saved = listed(library_url)["003_9f285de0212aa684.txt"]
    assert (saved["paper"], saved["date"], saved["page"]) == ("新华日报", "2026-04-05", 2)

    page.get_by_role("tab", name="Chat").click()
    page.locator("#pt-filters").click()
    choose(page, "#pt-filter-papers", "新华日报")  # the new paper is a filter choice at once
    ask(page, "人形机器人将参加哪里的半程马拉松比赛？")
    expect(page.locator("#pt-sources")).to_contain_text("新华日报 · 2026-04-05 · 第2版 · 「创新链」遇见「产业链」")

    page.get_by_role("tab", name="Pages").click()
    table.get_by_text("004_3fa1046521e36f31.txt", exact=True).first.click()
    page.locator("#pt-delete").click()  # at once: it acts on the row just clicked
    expect(page.locator("#pt-library-status")).to_contain_text(
        "Delete 004_3fa1046521e36f31.txt from the index? Its passages and any uploaded copy are removed: click the "
        "red button again")
    assert "004_3fa1046521e36f31.txt" in listed(library_url)  # one click deletes nothing
    expect(page.locator("#pt-delete")).to_have_text("Click again to delete")
    page.locator("#pt-delete").click()
    expect(page.locator("#pt-library-status")).to_contain_text("Deleted 004_3fa1046521e36f31.txt.")
    expect(table).not_to_contain_text("004_3fa1046521e36f31.txt")
    expect(warning).to_contain_text("2 of 4 pages")
    assert "004_3fa1046521e36f31.txt" not in listed(library_url)
    expect(page.locator("#pt-delete")).to_be_disabled()
    page.screenshot(path=str(ARTIFACTS / "ui-library.png"), full_page=True)
    page.close()


class Pixel:
    """A real HTTP server on 127.0.0.1 that records every request a page makes to it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        pixel = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                pixel.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(PNG)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def hostile(pixel: Pixel) -> str:
    """Page text trying every way to make the browser fetch from the pixel server or run code."""
    return (f"<img src={pixel.url('title.png')}>青柠新闻 ![t]({pixel.url('title-md.png')})\n\n"
            f"本报讯 青柠市今年新建社区图书馆十二座[x]({pixel.url('md-link')})<img src=\"{pixel.url('img.png')}\">，"
            f"<a href=\"{pixel.url('a')}\" target=_blank>点此</a>"
            f"<script>fetch('{pixel.url('script')}')</script><iframe src=\"{pixel.url('iframe')}\"></iframe>"
            f"![x]({pixel.url('md.png')}) [x]({pixel.url('md-link')}) {pixel.url('bare')} $$x^2$$ **粗**。\n")


@pytest.fixture
def hostile_url(tmp_path, embedder):
    """The web chat over one hostile page (text, headline, paper name, file name), with a hostile LLM."""
    pixel = Pixel()
    pages = tmp_path / "pages"
    pages.mkdir()
    name = "<img src=x onerror=alert(1)>.txt"
    (pages / name).write_text(hostile(pixel), encoding="utf-8")
    (pages / "metadata.json").write_text(json.dumps({name: {"paper": f"<img src={pixel.url('paper.png')}>日报",
                                                            "date": "2026-05-09"}}), encoding="utf-8")
    reply = f"青柠市今年新建社区图书馆十二座![x]({pixel.url('llm.png')})<img src={pixel.url('llm-img.png')}>[1]。"
    with ChatServer(reply) as llm:
        config = Config(index_dir=tmp_path / "index", show_progress=False, llm_base_url=llm.url, llm_model="m")
        rag = PaperTrail.create(config, embedder)
        assert rag.ingest([pages]).indexed == [name]
        with serving(rag) as url:
            yield url, pixel
        pixel.httpd.shutdown()


def test_page_text_metadata_file_names_and_llm_output_are_shown_as_text(browser, hostile_url) -> None:
    url, pixel = hostile_url
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.locator("#pt-question textarea").fill("青柠市今年新建了多少座社区图书馆？<img src=x>")
    page.locator("#pt-send").click()
    expect(page.locator("#pt-sources details.pt-source").first).to_be_visible(timeout=60_000)
    expect(page.locator("#pt-chat")).to_contain_text("十二座", timeout=30_000)
    expect(page.locator("#pt-sources")).to_contain_text("<iframe src=")
    expect(page.locator("#pt-sources")).to_contain_text("<script>fetch(")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-hostile-chat.png"), full_page=True)
    page.get_by_role("tab", name="Pages").click()
    expect(page.locator("#pt-pages")).to_contain_text("日报")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "ui-hostile-pages.png"), full_page=True)
    for panel in ("#pt-chat", "#pt-sources", "#pt-pages"):
        assert page.locator(f"{panel} :is(img, script, iframe, object, embed, video, audio)").count() == 0, panel
        hrefs = page.locator(f"{panel} a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert all(h.startswith("#src-") for h in hrefs), (panel, hrefs)
    assert pixel.paths == []
    page.close()
