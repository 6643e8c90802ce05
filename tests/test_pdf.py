import pytest

from rag.config import Config
from rag.load import IngestError, parse, read_bytes
from rag.pdf import read_pdf

from tests.pdfgen import Lines, column_pdf, layout_pdf

LEFT = ["甲栏第一行讲述长江大桥", "甲栏第二行说明通车时间", "甲栏第三行到此结束。"]
MIDDLE = ["乙栏第一行讲述春茶开采", "乙栏第二行说明收购价格", "乙栏第三行到此结束。"]
RIGHT = ["丙栏第一行讲述冬季旅游", "丙栏第二行说明游客人数", "丙栏第三行到此结束。"]


def test_columns_are_read_one_after_another_not_interleaved(tmp_path):
    pdf = column_pdf(tmp_path / "page.pdf", [("长江大桥今日正式通车运营两岸居民出行更加便利", [LEFT, MIDDLE, RIGHT])])
    text = read_pdf(pdf.read_bytes()).pages[0]
    flat = text.replace("\n", "").replace(" ", "")
    assert flat.startswith("长江大桥今日正式通车运营")
    assert "".join(LEFT + MIDDLE + RIGHT) in flat
    assert flat.index("甲栏第三行") < flat.index("乙栏第一行") < flat.index("乙栏第三行") < flat.index("丙栏第一行")


def lines(tag: str, n: int, chars: int) -> list[str]:
    """``n`` distinct lines of ``chars`` characters (10 pt each), ``甲03`` marking the third line of ``甲``."""
    return [(f"{tag}{i:02d}" + "新闻版面文字内容" * 5)[:chars] for i in range(1, n + 1)]


def order(text: str, blocks: list[list[str]]) -> list[str]:
    """The first characters (the markers) of every line of ``blocks`` in the order they occur in ``text``."""
    flat = text.replace("\n", "")
    marks = [line[:3] for block in blocks for line in block]
    assert all(flat.count(m) == 1 for m in marks), text
    return sorted(marks, key=flat.index)


def test_a_headline_over_two_columns_does_not_splice_their_lines(tmp_path):
    left, right = lines("甲", 6, 25), lines("乙", 6, 25)
    pdf = layout_pdf(tmp_path / "page.pdf", [Lines(192, 40, ["大桥通车两岸居民出行便利"], 18),  # across the gutter
                                             Lines(40, 80, left), Lines(310, 80, right)])
    text = read_pdf(pdf.read_bytes()).pages[0]
    assert text.startswith("大桥通车两岸居民出行便利\n\n")
    assert order(text, [left, right]) == [line[:3] for line in left + right]
    assert "\n".join(left) in text and "\n".join(right) in text


def test_a_banner_over_three_columns_then_a_headline_over_two(tmp_path):
    story, col1, col2 = ["两会特别报道：奋进新征程 建功新时代"], lines("甲", 8, 17), lines("乙", 8, 17)
    side = lines("丙", 10, 17)
    pdf = layout_pdf(tmp_path / "page.pdf", [
        Lines(60, 30, story, 24),
        Lines(60, 80, ["春茶开采茶农增收致富"], 18), Lines(40, 110, col1), Lines(220, 110, col2),
        Lines(400, 80, ["冬季旅游持续升温"], 14), Lines(400, 110, side),
    ])
    text = read_pdf(pdf.read_bytes()).pages[0]
    assert text.index("两会特别报道") < text.index("春茶开采茶农增收致富") < text.index("甲01")
    assert order(text, [col1, col2, side]) == [line[:3] for line in col1 + col2 + side]
    assert text.index("乙08") < text.index("冬季旅游持续升温") < text.index("丙01")


def test_a_boxed_side_story_is_read_whole_after_the_columns_beside_it(tmp_path):
    main1, main2, main3 = lines("甲", 16, 17), lines("乙", 5, 17), lines("丙", 5, 17)
    box_left, box_right = lines("丁", 6, 17), lines("戊", 6, 17)
    pdf = layout_pdf(tmp_path / "page.pdf", [
        Lines(40, 40, main1), Lines(220, 40, main2), Lines(400, 40, main3),
        Lines(220, 130, ["相关链接"], 12), Lines(220, 150, box_left), Lines(400, 150, box_right),
    ], frames=[(214, 124, 576, 240)])
    text = read_pdf(pdf.read_bytes()).pages[0]
    expected = main1 + main2 + main3 + box_left + box_right
    assert order(text, [main1, main2, main3, box_left, box_right]) == [line[:3] for line in expected]
    assert text.index("丙05") < text.index("相关链接") < text.index("丁01")


def test_each_pdf_page_is_a_page_with_its_number_and_pdf_metadata_as_fallback(tmp_path):
    pdf = column_pdf(tmp_path / "e-paper.pdf", [("第一版头条新闻标题", [LEFT]), ("第二版头条新闻标题", [MIDDLE])],
                     title="铜仁日报 2026年4月2日")
    pages = parse(pdf, pdf.read_bytes(), Config())
    assert [p.source for p in pages] == ["e-paper.pdf#p1", "e-paper.pdf#p2"]
    assert [p.meta.page for p in pages] == [1, 2]
    assert {p.meta.paper for p in pages} == {"铜仁日报"} and {p.meta.date for p in pages} == {"2026-04-02"}
    assert len({p.doc_id for p in pages}) == 2 and "乙栏第一行" in pages[1].text


def test_file_name_beats_pdf_metadata_and_numbers_later_pages(tmp_path):
    pdf = column_pdf(tmp_path / "rmrb2026040305.pdf", [("头条", [LEFT]), ("次条", [MIDDLE])], title="别的报 2020-01-01")
    pages = parse(pdf, pdf.read_bytes(), Config())
    assert [(p.meta.paper, p.meta.date, p.meta.page) for p in pages] == [
        ("人民日报", "2026-04-03", 5), ("人民日报", "2026-04-03", 6)]


def test_a_file_of_more_pages_than_the_limit_is_refused_before_they_are_read(tmp_path):
    pdf = column_pdf(tmp_path / "edition.pdf", [(f"第{n}版头条", [LEFT]) for n in range(1, 4)])
    assert len(parse(pdf, pdf.read_bytes(), Config(max_pages_per_file=3))) == 3
    with pytest.raises(IngestError, match="edition.pdf: 3 pages, over the 2 a file may have"):
        parse(pdf, pdf.read_bytes(), Config(max_pages_per_file=2))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "encrypted"])
def test_bad_pdfs_give_one_clear_error(tmp_path, damage):
    path = tmp_path / f"{damage}.pdf"
    if damage == "encrypted":
        column_pdf(path, [("保密版面", [LEFT])], encrypt="secret")
    else:
        good = column_pdf(tmp_path / "good.pdf", [("头条", [LEFT])]).read_bytes()
        path.write_bytes(good[: len(good) // 3] if damage == "truncated" else b"%PDF-1.4\n" + bytes(range(256)) * 40)
    with pytest.raises(IngestError) as err:
        parse(path, read_bytes(path, Config()), Config())
    message = str(err.value)
    assert str(path) in message and "Traceback" not in message
    assert ("encrypted" in message) if damage == "encrypted" else ("corrupt or truncated" in message)



@pytest.mark.parametrize("title", [None, "", "Untitled", "untitled-3", "Document1", "Microsoft Word - 第三版.docx",
                                   "page03.pdf", "无标题", "  -  "])
def test_placeholder_titles_and_creation_dates_are_not_page_metadata(tmp_path, title):
    pdf = column_pdf(tmp_path / "scan.pdf", [("头条", [LEFT])], title=title)
    (page,) = parse(pdf, pdf.read_bytes(), Config())
    assert (page.meta.paper, page.meta.date) == (None, None)  # reportlab stamps "untitled" and today's CreationDate


def test_a_real_title_still_names_the_paper(tmp_path):
    pdf = column_pdf(tmp_path / "scan.pdf", [("头条", [LEFT])], title="拉萨日报")
    (page,) = parse(pdf, pdf.read_bytes(), Config())
    assert (page.meta.paper, page.meta.date) == ("拉萨日报", None)
