"""The web chat in a real headless Chromium: ask, see the cited answer, open a source."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from rag.config import ROOT
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
    expect(chat).to_contain_text("9800多亿元", timeout=60_000)
    expect(chat).to_contain_text("铜仁日报", timeout=30_000)
    cards = page.locator("#pt-sources details.pt-source")
    expect(cards.first).to_be_visible(timeout=30_000)
    expect(page.locator("#pt-sources mark").first).to_contain_text("9800多亿元")
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
