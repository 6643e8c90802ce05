from rag.text import cjk_share, dated


def test_cjk_share():
    assert cjk_share("北京技术合同") == 1.0
    assert cjk_share("how much did Beijing grow") == 0.0
    assert 0 < cjk_share("2019年西藏") < 1


def test_relative_years_are_stated_for_a_dated_story():
    assert dated("过去一年，基础研究投入接近2800亿元。", "2026-04-02").endswith("（2025年）")
    assert dated("去年增长5%，今年目标6%，明年再议。", "2026-04-02").endswith("（2025年，2026年，2027年）")
    assert dated("过去一年，基础研究投入接近2800亿元。", None) == "过去一年，基础研究投入接近2800亿元。"
    assert dated("2025年基础研究投入接近2800亿元。", "2026-04-02") == "2025年基础研究投入接近2800亿元。"
    assert dated("1998年大洪水，当年损失惨重。", "2026-04-02") == "1998年大洪水，当年损失惨重。"  # 当年: that year
