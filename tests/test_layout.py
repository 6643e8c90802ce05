from hypothesis import given, settings
from hypothesis import strategies as st

from rag.layout import Box, block_text, reading_order, rows


def column(tag: str, x: float, top: float, n: int, width: float = 100, leading: float = 14,
           height: float = 10) -> list[Box]:
    """``n`` lines ``tag1``, ``tag2``… of one column, top to bottom (y grows downward)."""
    return [Box(x, top + i * leading, x + width, top + i * leading + height, f"{tag}{i + 1}") for i in range(n)]


def texts(blocks: list[list[Box]]) -> list[str]:
    return [b.text for block in blocks for b in block]


def test_a_headline_across_the_gutter_comes_first_then_each_column_whole():
    head = Box(80, 0, 160, 18, "headline")  # narrower than a column, but over the gutter
    left, right = column("L", 10, 30, 5), column("R", 120, 30, 5)
    blocks = reading_order([*right, head, *left])
    assert texts(blocks) == ["headline", *(b.text for b in left), *(b.text for b in right)]
    assert [len(b) for b in blocks] == [1, 5, 5]


def test_a_banner_over_three_columns_and_a_headline_over_the_first_two():
    banner = Box(10, 0, 330, 24, "banner")
    head = Box(10, 34, 200, 50, "head12")
    a, b, c = column("A", 10, 60, 6), column("B", 120, 60, 6), column("C", 230, 34, 8)
    assert texts(reading_order([*c, *b, *a, head, banner])) == ["banner", "head12", *texts([a, b, c])]


def test_a_headline_between_two_runs_of_the_same_columns():
    upper = column("U", 10, 0, 4) + column("V", 120, 0, 4)
    head = Box(10, 70, 220, 88, "second story")
    lower = column("X", 10, 100, 3) + column("Y", 120, 100, 3)
    assert texts(reading_order(lower + [head] + upper)) == [*texts([upper]), "second story", *texts([lower])]


def test_a_framed_side_story_is_read_whole_even_where_its_columns_line_up_with_the_page():
    main = column("A", 10, 0, 12) + column("B", 120, 0, 4) + column("C", 230, 0, 4)
    title = Box(120, 64, 160, 76, "box")  # over one column only: nothing else keeps the box together
    inner = column("P", 120, 84, 4) + column("Q", 230, 84, 4)
    frame = Box(115, 60, 335, 140)
    assert texts(reading_order(main + inner + [title], [frame])) == [*texts([main]), "box", *texts([inner])]
    unframed = texts(reading_order(main + inner + [title]))
    assert unframed.index("P1") < unframed.index("C1")  # what the frame prevents


def test_frames_nest_and_a_frame_round_one_line_or_none_changes_nothing():
    outer, inner = Box(0, 0, 300, 200), Box(150, 100, 300, 200)
    story = column("S", 10, 10, 10, width=120)
    aside = column("T", 160, 110, 4, width=120)
    left = column("L", 160, 10, 5, width=120)
    order = texts(reading_order(story + aside + left, [outer, inner, Box(400, 0, 500, 50)]))
    assert order == [*texts([story]), *texts([left]), *texts([aside])]
    third = story[2]
    assert reading_order(story, [Box(third.x0 - 2, third.y0 - 2, third.x1 + 2, third.y1 + 2)]) == [story]


def test_scanned_lines_in_pixels_overlapping_slightly_and_staggered_across_columns():
    left = column("L", 100, 400, 8, width=900, leading=50, height=54)  # each line overlaps the next by 4 px
    right = column("R", 1060, 425, 8, width=900, leading=50, height=54)  # baselines half a line lower
    head = Box(300, 250, 1700, 350, "head")
    assert [len(r) for r in rows(left)] == [1] * 8
    assert texts(reading_order([*left, *right, head])) == ["head", *texts([left, right])]


def test_word_gaps_and_one_wide_gap_do_not_make_columns():
    words = [Box(10, 0, 40, 10, "Free"), Box(43, 0, 80, 10, "trade"), Box(83, 0, 120, 10, "zone")]
    table = [Box(10, 14, 50, 24, "姓名"), Box(90, 14, 120, 24, "张三")]  # one row's gap is no gutter
    body = column("B", 10, 28, 3, width=110)
    blocks = reading_order(body + table + words)
    assert len(blocks) == 1
    assert block_text(blocks[0]) == "Freetradezone\n姓名张三\nB1\nB2\nB3"


def test_a_line_the_ocr_ran_across_the_gutter_is_cut_there_and_each_column_read_whole():
    left, right = column("L", 10, 0, 10), column("R", 130, 0, 10)
    # the detector's box of R5 starts inside the left column and takes the mark ending L5 with it
    left[4] = Box(10, 56, 104, 66, "L5")
    right[4] = Box(100, 55, 230, 67, "。R5")
    blocks = reading_order(left + right)
    assert texts(blocks) == [*(b.text for b in left[:5]), "。", *(b.text for b in left[5:]),
                             *(b.text for b in right[:4]), "R5", *(b.text for b in right[5:])]
    assert len(blocks) == 2


def test_a_headline_or_a_boxed_story_across_the_gutter_is_not_cut():
    left, right = column("L", 10, 40, 10), column("R", 130, 40, 10)
    head = Box(10, 0, 230, 12, "headline")  # body height, but over the columns with nothing above
    assert texts(reading_order([head, *left, *right]))[0] == "headline"
    wide = column("W", 10, 200, 3, width=220)  # three lines of a story set across both columns
    assert texts(reading_order([*left, *right, *wide]))[-3:] == ["W1", "W2", "W3"]


def test_block_text_marks_paragraph_gaps():
    lines = column("A", 0, 0, 2) + column("B", 0, 60, 2)
    assert block_text(lines) == "A1\nA2\n\nB1\nB2"


boxes = st.builds(lambda x, y, w, h, t: Box(x, y, x + w, y + h, t), st.floats(0, 500), st.floats(0, 800),
                  st.floats(1, 300), st.floats(1, 30), st.text(min_size=1, max_size=3))
frames = st.builds(lambda x, y, w, h: Box(x, y, x + w, y + h), st.floats(0, 500), st.floats(0, 800),
                   st.floats(1, 400), st.floats(1, 400))


@settings(max_examples=200, deadline=None)
@given(st.lists(boxes, max_size=40), st.lists(frames, max_size=4))
def test_every_line_is_read_exactly_once(lines, drawn):
    assert sorted(map(id, (b for block in reading_order(lines, drawn) for b in block))) == sorted(map(id, lines))
