"""The web chat in a real headless Chromium: ask, see the cited answer, open a source; hostile text stays text."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from rag.config import ROOT, Config
from rag.pipeline import PaperTrail
from tests.chat_server import ChatServer
from tests.conftest import serving
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


def test_browser_uploads_a_page_with_metadata(page, tmp_path: Path) -> None:
    upload = tmp_path / "browser-page.md"
    upload.write_text("云杉晚报讯 云杉湖今年观测到候鸟一万两千只，比去年多三成。", encoding="utf-8")
    page.get_by_role("tab", name="Pages").click()
    page.locator("#pt-files input[type=file]").set_input_files(str(upload))
    page.locator("#pt-paper textarea").fill("云杉晚报")
    page.locator("#pt-date textarea").fill("2026-05-02")
    page.locator("#pt-add").click()
    expect(page.locator("#pt-status")).to_contain_text("searchable now", timeout=60_000)
    expect(page.locator("#pt-pages")).to_contain_text("云杉晚报")
    page.screenshot(path=str(ARTIFACTS / "ui-pages.png"), full_page=True)
    page.get_by_role("tab", name="Chat").click()
    page.locator("#pt-question textarea").fill("云杉湖今年观测到多少候鸟？")
    page.locator("#pt-question textarea").press("Enter")
    expect(page.locator("#pt-chat")).to_contain_text("一万两千只", timeout=60_000)
    expect(page.locator("#pt-sources")).to_contain_text("云杉晚报 · 2026-05-02")


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
