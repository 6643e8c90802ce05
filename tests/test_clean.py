from hypothesis import given, settings
from hypothesis import strategies as st

from rag.clean import clean, ends_sentence


def check_map(raw: str) -> str:
    out = clean(raw)
    assert len(out.index) == len(out.text)
    assert out.index == sorted(out.index)
    for ch, pos in zip(out.text, out.index):
        assert ch == raw[pos] or (ch in " \n" and raw[pos].isspace()) or raw[pos] in "\u3000\ufeff"
    return out.text


def test_letter_spaced_cjk_is_joined():
    assert check_map("为全力 推 进 电 子 商 务 助推扶贫。") == "为全力推进电子商务助推扶贫。"


def test_spaces_between_words_of_a_headline_survive():
    assert check_map("向新而行 双向奔赴 聚力向远") == "向新而行 双向奔赴 聚力向远"


def test_spaces_around_numbers_and_punctuation_go():
    assert check_map("收录芒康县 31 家企业 ，近 80 款产品。 目前") == "收录芒康县31家企业，近80款产品。目前"


def test_wrapped_wide_paragraph_is_joined_but_headline_is_not():
    body = "当前，新一轮科技革命和产业变革加速演进，科技创新范式发生深刻变革，学科交叉融合成为大势所趋，推动"
    raw = f"成果转化探索新途径\n\n{body}\n\n创新链产业链深度融合。"
    assert check_map(raw) == f"成果转化探索新途径\n\n{body}创新链产业链深度融合。"


def test_word_split_across_lines_is_joined():
    assert check_map("会议集中学习了王君正书记关\n\n于全区工会工作的批示精神。") == "会议集中学习了王君正书记关于全区工会工作的批示精神。"


def test_narrow_columns_are_joined():
    lines = ["芒康县电子商务公共服务中心收", "录并展销芒康县涉农企业手工艺", "企业和农牧民专业合作社的近八", "十款农产品及手工艺品目前芒康", "县已完成电商服务站建设覆盖县"] * 3
    text = check_map("\n\n".join(lines) + "\n\n域内全部乡镇。")
    assert "\n" not in text


def test_repeated_block_is_dropped_once():
    block = "拉萨经开区促消费系列活动\n\n持续释放惠民红利\n\n在日常消费领域，消费券的发放成为拉动商超消费的有力抓手。"
    text = check_map(f"{block}\n\n{block}\n\n近日，活动持续。")
    assert text.count("消费券的发放") == 1
    assert text.endswith("近日，活动持续。")


def test_short_repeated_lines_are_kept():
    text = check_map("新华社北京4月1日电\n\n甲文。\n\n新华社北京4月1日电\n\n乙文。")
    assert text.count("新华社北京4月1日电") == 2


def test_ends_sentence():
    assert ends_sentence("他说。”") and ends_sentence("产品……（下转第三版）") and not ends_sentence("推动")
    assert not ends_sentence("””") and not ends_sentence("“好”")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("推进电子商务，。”“ \n\r\t\u30001a2")), max_size=300))
def test_cleaner_never_crashes_and_maps_back(raw):
    check_map(raw)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_cleaner_on_any_text(raw):
    check_map(raw)


def test_line_of_closing_quotes_only():
    check_map("””\r1")
