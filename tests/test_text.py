from rag.text import cjk_share


def test_cjk_share():
    assert cjk_share("北京技术合同") == 1.0
    assert cjk_share("how much did Beijing grow") == 0.0
    assert 0 < cjk_share("2019年西藏") < 1
