"""The page behind the answer, in a real headless Chromium: a citation of a scanned page shows the printed page
cropped around the sentence, its box marked over the sentence's line, behind the chat's login."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from rag.config import Config
from rag.pipeline import PaperTrail
from tests.conftest import serving
from tests.test_scan import SMALL, STORY, needs_ocr
from tests.test_ui_browser import ARGS, ARTIFACTS, CHROMIUM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from make_scans import compose, draw  # noqa: E402

pytestmark = [pytest.mark.slow, needs_ocr,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium missing: apt-get install chromium")]
AUTH = ("reader", "s3cret")
QUESTION = "青藏铁路电气化外电配套工程总投资多少亿元？"


def test_the_sources_panel_shows_the_scanned_page_with_the_sentence_marked(tmp_path, embedder):
    sheet = compose(STORY, SMALL)
    buffer = io.BytesIO()
    draw(sheet, 200).save(buffer, "PNG")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "铜仁日报_2026-04-02_03.png").write_bytes(buffer.getvalue())
    rag = PaperTrail.create(Config(index_dir=tmp_path / "index", show_progress=False), embedder)
    assert rag.ingest([tmp_path / "pages"]).indexed == ["铜仁日报_2026-04-02_03.png"]
    with serving(rag, auth=AUTH) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_label("username").fill(AUTH[0])
        page.get_by_label("password").fill(AUTH[1])
        page.get_by_role("button", name="Login").click()
        page.locator("#pt-question textarea").fill(QUESTION)
        page.locator("#pt-send").click()
        crop = page.locator("#pt-sources details.pt-source[open] .pt-crop")
        expect(crop).to_be_visible(timeout=90_000)
        image = crop.locator("img")
        expect(image).to_have_js_property("complete", True, timeout=30_000)
        assert image.evaluate("img => img.naturalWidth") == round(430 * 200 / 72)
        marked = crop.locator(".pt-box").bounding_box()
        shown = image.bounding_box()
        held = crop.bounding_box()
        assert held["x"] <= marked["x"] and marked["x"] + marked["width"] <= held["x"] + held["width"] + 1
        assert held["y"] <= marked["y"] and marked["y"] + marked["height"] <= held["y"] + held["height"] + 1
        line = next(line for line in sheet.lines if "149.02" in line.text)
        x = shown["x"] + shown["width"] * (line.x0 + line.x1) / 2 / sheet.format.width
        y = shown["y"] + shown["height"] * (line.y0 + line.y1) / 2 / sheet.format.height
        assert marked["x"] <= x <= marked["x"] + marked["width"] and marked["y"] <= y <= marked["y"] + marked["height"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-scan.png"), full_page=True)
        href = page.locator("#pt-sources details.pt-source[open] a.pt-scan").get_attribute("href")
        assert href.startswith("/gradio_api/file=")
        assert httpx.get(url.rstrip("/") + href).status_code in (401, 403)  # not without the login
        browser.close()
