"""Scanned pages: page images and image-only PDF pages OCR'd offline, read column by column, refused safely.

The pages are rendered here (``scripts/make_scans.py``, Noto Serif CJK) on small sheets so that each OCR takes a
few seconds; the real engine (``rapidocr-onnxruntime``, the ``ocr`` extra) reads them.
"""

from __future__ import annotations

import io
import sys
from importlib.util import find_spec
from pathlib import Path

import httpx
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from rag import ocr
from rag.config import Config
from rag.index import Index
from rag.load import IngestError, parse
from rag.pdf import usable
from tests.conftest import serving
from tests.pdfgen import FONT

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from bench_ocr import error_rates, order_errors  # noqa: E402
from make_scans import LEADING, Format, compose, draw, pixel_lines  # noqa: E402

needs_ocr = pytest.mark.skipif(find_spec("rapidocr_onnxruntime") is None,
                               reason="the OCR extra is not installed: pip install -e '.[ocr]'")
SMALL = Format(width=430, height=330, columns=3, box=1)
STORY = """\
青藏铁路电气化外电配套工程开建

本报拉萨讯 作为青藏铁路电气化改造的基础性、先导性工程，青藏铁路电气化外电配套工程由青海段、西藏段组成，总投资149.02亿元。\
其中，西藏段投资75.18亿元，计划新建500千伏变电站2座。

工程建成后，将为青藏铁路提供稳定可靠的电力保障，助力沿线经济社会发展。今年是青藏铁路通车20周年。

拉萨市科技局表示，全市高新技术企业数量持续增长，科技成果转化取得新进展。

本报记者 桑邓旺姆
"""


@pytest.fixture(scope="module")
def sheet():
    composed = compose(STORY, SMALL)
    assert composed is not None
    return composed


@pytest.fixture(scope="module")
def page_png(sheet) -> bytes:
    buffer = io.BytesIO()
    draw(sheet, 200).save(buffer, "PNG")
    return buffer.getvalue()


def config(tmp_path: Path, **changes) -> Config:
    return Config(index_dir=tmp_path / "index", show_progress=False, **changes)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@needs_ocr
def test_a_page_image_is_read_column_by_column_with_every_line_placed(tmp_path, sheet, page_png):
    [page] = parse(tmp_path / "铜仁日报_2026-04-02_03.png", page_png, config(tmp_path))
    assert (page.source, page.meta.paper, page.meta.page) == ("铜仁日报_2026-04-02_03.png", "铜仁日报", 3)
    cer, _, chars = error_rates(sheet.text(), page.text)
    assert chars > 150 and cer <= 0.02
    scale = 200 / 72
    mixed, sentences = order_errors(page.scan, pixel_lines(sheet, 200), (page.scan.width, page.scan.height))
    assert sentences >= 5 and mixed == 0
    assert "总投资149.02亿元" in page.text.replace("\n", "")
    assert (page.scan.width, page.scan.height) == (round(430 * scale), round(330 * scale))
    for placed in page.scan.lines:
        assert page.text[placed.start:placed.end] == placed.box.text


@needs_ocr
def test_ocr_results_are_reused_by_content_hash_and_a_rotated_scan_is_still_read_in_order(tmp_path, monkeypatch,
                                                                                          sheet):
    tilted = draw(sheet, 200).rotate(-1.5, resample=Image.BICUBIC, fillcolor=255)
    data = png(tilted)
    [first] = parse(tmp_path / "tilted.png", data, config(tmp_path))
    assert list((tmp_path / "index.ocr").glob("*.json"))
    monkeypatch.setattr(ocr, "recognise", lambda image: pytest.fail("OCR ran again for the same content"))
    [again] = parse(tmp_path / "elsewhere" / "copy.png", data, config(tmp_path))
    assert again.text == first.text
    cer, _, _ = error_rates(sheet.text(), first.text)
    assert cer <= 0.03
    assert first.text.index("总投资") < first.text.index("通车20周年") < first.text.index("桑邓旺姆")


@needs_ocr
def test_a_multi_page_tiff_is_one_page_per_frame_with_progress_per_page(tmp_path):
    frames = [draw(compose(f"第{n}版要闻\n\n本报讯 拉萨市召开第{n}次工作会议。", SMALL), 150) for n in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    calls = []
    pages = parse(tmp_path / "scan.tiff", buffer.getvalue(), config(tmp_path), lambda *a: calls.append(a))
    assert calls == [(0, 2), (1, 2), (2, 2)]
    assert [p.source for p in pages] == ["scan.tiff#p1", "scan.tiff#p2"]
    assert [p.meta.page for p in pages] == [1, 2]
    assert "第2次" in pages[1].text and "第1次" in pages[0].text
    assert len({p.doc_id for p in pages}) == 2
    with pytest.raises(IngestError, match="scan.tiff: 2 frames, over the 1 pages a file may have"):
        parse(tmp_path / "scan.tiff", buffer.getvalue(), config(tmp_path, max_pages_per_file=1))


@needs_ocr
def test_a_pdf_keeps_its_text_layer_and_ocrs_its_image_only_page(tmp_path, page_png):
    path = tmp_path / "mixed.pdf"
    c = canvas.Canvas(str(path), pagesize=(430, 330))
    c.setFont(FONT, 12)
    c.drawString(30, 280, "文字层页面：达龙村骨瓷首批产品的销售收入是三十万元。")
    c.showPage()
    c.drawImage(ImageReader(io.BytesIO(page_png)), 0, 0, width=430, height=330)
    c.drawString(30, 10, "第3版")  # a stamped page number is no usable text layer
    c.showPage()
    c.save()
    first, second = parse(path, path.read_bytes(), config(tmp_path, ocr_dpi=200))
    assert "骨瓷" in first.text and first.scan.lines and (first.scan.width, first.scan.height) == (430, 330)
    assert second.scan is not None and "149.02亿元" in second.text.replace("\n", "")


def test_a_scan_in_a_pdf_is_rendered_at_its_own_resolution_not_upsampled(page_png):
    from rag.pdf import render

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(430, 330))
    c.drawImage(ImageReader(io.BytesIO(page_png)), 0, 0, width=430, height=330)  # the 200 dpi page image
    c.showPage()
    c.save()
    size = Image.open(io.BytesIO(page_png)).size
    at_300, at_100 = render(buffer.getvalue(), 0, 300, 10**9).size, render(buffer.getvalue(), 0, 100, 10**9).size
    assert abs(at_300[0] - size[0]) <= 1 and abs(at_300[1] - size[1]) <= 1
    assert abs(at_100[0] - 430 * 100 / 72) <= 1 and abs(at_100[1] - 330 * 100 / 72) <= 1


def test_the_usable_text_layer_rule():
    assert not usable("") and not usable("第3版 2026年4月2日")
    assert usable("达龙村骨瓷首批产品的销售收入是三十万元，带动周边群众增收。")
    assert not usable("\ufffd" * 30 + "达龙村骨瓷首批产品的销售收入是三十万元，带动周边群众增收。")


def test_decompression_bombs_oversized_and_corrupt_images_are_refused_with_the_reason(tmp_path, page_png):
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # 144 million pixels in a file of a few kB
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(IngestError, match=r"bomb\.png: 12000×12000 pixels is over the 60,000,000-pixel limit"):
        parse(tmp_path / "bomb.png", bomb.getvalue(), config(tmp_path))
    with pytest.raises(IngestError, match="over the 1,000-pixel limit"):
        parse(tmp_path / "page.png", page_png, config(tmp_path, max_image_pixels=1000))
    with pytest.raises(IngestError, match=r"cut\.png: corrupt or truncated image"):
        parse(tmp_path / "cut.png", page_png[: len(page_png) // 2], config(tmp_path))
    with pytest.raises(IngestError, match=r"text\.jpg: not an image"):
        parse(tmp_path / "text.jpg", "不是图片".encode(), config(tmp_path))


def test_without_the_ocr_extra_a_scan_names_the_extra(tmp_path, monkeypatch, page_png):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    ocr._engine.cache_clear()
    try:
        with pytest.raises(IngestError, match=r"page\.png: scanned pages need the OCR extra: pip install "
                                              r"'papertrail\[ocr\]'"):
            parse(tmp_path / "page.png", page_png, config(tmp_path))
    finally:
        ocr._engine.cache_clear()


@needs_ocr
@pytest.mark.slow
def test_a_run_keeps_its_good_files_when_scans_fail_and_answers_from_a_scan_once_ocr_is_there(
        tmp_path, monkeypatch, embedder, sheet, page_png):
    from rag.pipeline import PaperTrail

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "good.txt").write_text("达龙村骨瓷首批产品的销售收入是三十万元。", encoding="utf-8")
    (pages / "scan.png").write_bytes(page_png)
    (pages / "cut.jpg").write_bytes(page_png[:500])
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")
    (pages / "bomb.png").write_bytes(bomb.getvalue())
    rag = PaperTrail.create(config(tmp_path), embedder)
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    ocr._engine.cache_clear()
    try:
        report = rag.ingest([pages])
    finally:
        monkeypatch.undo()
        ocr._engine.cache_clear()
    assert report.indexed == ["good.txt"]
    reasons = sorted(report.failed)
    assert "bomb.png: 12000×12000 pixels is over" in reasons[0]
    assert "cut.jpg: corrupt or truncated image" in reasons[1]
    assert "scan.png: scanned pages need the OCR extra: pip install 'papertrail[ocr]'" in reasons[2]

    report = rag.ingest([pages / "scan.png"])
    assert report.indexed == ["scan.png"] and not report.failed
    answer = rag.ask("青藏铁路电气化外电配套工程总投资多少亿元？")
    cited = answer.citations[0]
    assert "149.02亿元" in answer.answer and cited.source == "scan.png"
    [doc] = rag.snapshot().index.find("scan.png")
    assert cited.page_image == f"/api/pages/{doc.doc_id}/image"
    assert_box_over(cited.bbox, sheet, "149.02")
    assert Index.load(rag.config.index_dir).boxes == rag.snapshot().index.boxes  # saved with the index
    with serving(rag) as url, httpx.Client(base_url=url, timeout=120) as http:
        reply = http.post("/api/ask", json={"question": "青藏铁路电气化外电配套工程总投资多少亿元？"}).json()
        assert reply["citations"][0]["page_image"] == cited.page_image and reply["citations"][0]["bbox"] == cited.bbox
        image = http.get(cited.page_image)
        assert image.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(image.content)).size == (round(430 * 200 / 72), round(330 * 200 / 72))
        assert http.get("/api/pages/..%2F..%2Fetc%2Fpasswd/image").status_code == 404
    assert list(rag.config.ocr_dir.glob("*.json"))
    rag.remove("scan.png")
    assert not list(rag.config.ocr_dir.iterdir())


def test_page_images_of_a_file_that_is_not_indexed_are_not_kept(tmp_path, embedder):
    from rag.pipeline import PaperTrail

    from tests.pdfgen import Lines, layout_pdf

    pages = tmp_path / "pages"
    pages.mkdir()
    layout_pdf(pages / "bad.pdf", [Lines(40, 80, ["长江大桥今日正式通车运营，", "两岸居民出行更加便利。"], 12)])
    (pages / "bad.pdf.meta.json").write_text('{"page": "front"}', encoding="utf-8")
    rag = PaperTrail.create(config(tmp_path), embedder)
    report = rag.ingest([pages])
    assert not report.indexed and "is not a page number" in report.failed[0]
    assert not any(rag.config.ocr_dir.glob("*"))
    (pages / "bad.pdf.meta.json").unlink()
    assert rag.ingest([pages]).indexed == ["bad.pdf#p1"] and list(rag.config.ocr_dir.glob("*-p0*"))


def test_a_text_layer_pdf_shows_its_page_with_the_evidence_boxed(tmp_path, embedder):
    from rag.pipeline import PaperTrail

    from tests.pdfgen import HEIGHT, Lines, layout_pdf

    left = ["长江大桥今日正式通车运营，", "两岸居民出行更加便利。", "大桥由省交通集团建设。"]
    right = ["梵净山茶园喜迎春茶开采，", "今年首批春茶的收购价格为", "每斤一百八十元，茶农增收。"]
    pages = tmp_path / "pages"
    pages.mkdir()
    layout_pdf(pages / "茶报_2026-04-05_01.pdf", [Lines(40, 80, left, 12), Lines(330, 80, right, 12)])
    rag = PaperTrail.create(config(tmp_path), embedder)
    assert rag.ingest([pages]).indexed == ["茶报_2026-04-05_01.pdf#p1"]
    answer = rag.ask("今年首批春茶的收购价格是每斤多少元？")
    cited = answer.citations[0]
    assert "一百八十元" in answer.answer
    [doc] = rag.snapshot().index.find("茶报_2026-04-05_01.pdf#p1")
    assert cited.page_image == f"/api/pages/{doc.doc_id}/image"
    x0, y0, x1, y1 = cited.bbox  # the right column's second and third lines, in fractions of the 600 × 800 page
    assert 320 / 600 <= x0 < x1 <= 520 / 600 and 80 / HEIGHT < y0 < y1 < (80 + 4 * 1.4 * 12) / HEIGHT, cited.bbox
    with serving(rag) as url, httpx.Client(base_url=url, timeout=120) as http:
        image = http.get(cited.page_image)
        assert image.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(image.content)).size[1] == ocr.DISPLAY_SIDE  # the long side
    before = sorted(p.name for p in rag.config.ocr_dir.iterdir())
    layout_pdf(pages / "茶报_2026-04-05_01.pdf", [Lines(40, 80, left, 12), Lines(330, 80, right[:2], 12)])
    assert rag.ingest([pages]).replaced  # the file changed: its old page image goes with its old version
    after = sorted(p.name for p in rag.config.ocr_dir.iterdir())
    assert len(after) == 1 and not set(before) & set(after)
    rag.remove("茶报_2026-04-05_01.pdf#p1")
    assert not list(rag.config.ocr_dir.iterdir())


def assert_box_over(bbox: list[float], sheet, words: str) -> None:
    """The box (fractions of the page) holds the centre of the set line holding ``words``, and is no taller than a
    few lines."""
    line = next(line for line in sheet.lines if words in line.text)
    x, y = (line.x0 + line.x1) / 2 / sheet.format.width, (line.y0 + line.y1) / 2 / sheet.format.height
    assert bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3], (bbox, x, y)
    assert bbox[3] - bbox[1] < 6 * line.size * LEADING / sheet.format.height


def test_a_line_cut_at_a_gutter_keeps_its_part_of_the_ocr_line_on_the_page():
    from rag.layout import Box, page_layout, reading_order
    from rag.scan import on_page

    lines = [Box(10, 14 * i, 110, 14 * i + 10, f"L{i}") for i in range(10)]
    lines += [Box(130, 14 * i, 230, 14 * i + 10, f"R{i}") for i in range(10)]
    lines[14] = Box(100, 55, 230, 67, "。R4")  # the detector ran R4's box into the left column
    level = [Box(b.x0 + 5, b.y0, b.x1 + 5, b.y1, b.text) for b in lines]  # as levelled (shifted 5 px)
    text, placed = page_layout(reading_order(level))
    boxes = on_page(placed, level, lines)
    assert sorted(b.text for b in boxes) == sorted(["。", "R4"] + [b.text for b in lines if b.text != "。R4"])
    pieces = {b.text: b for b in boxes if b.text in ("。", "R4")}
    assert pieces["。"].x0 == 100 and pieces["R4"].x1 == 230 and pieces["。"].x1 <= pieces["R4"].x0
    assert text.index("L4") < text.index("。") < text.index("L5") < text.index("R3") < text.index("R4")
