from rag.articles import split_articles
from rag.clean import clean
from rag.config import Config

from tests.conftest import FIXTURES


def articles_of(path):
    text = clean(path.read_text(encoding="utf-8")).text
    return text, split_articles("d", text)


def test_fixture_page_has_two_articles_with_headlines_bylines_and_jump():
    text, arts = articles_of(FIXTURES / "tiny_page.txt")
    assert [a.title for a in arts] == ["星河市新能源产业加速发展", "月湖县举办首届茶文化节"]
    assert arts[0].byline == "新华社记者 李明"
    assert arts[0].jump_to == "三"
    assert "12.5万辆" in text[arts[0].start : arts[0].end]
    assert text[arts[1].start : arts[1].end].startswith("月湖县举办首届茶文化节")


def test_sample_front_page_articles():
    text, arts = articles_of(Config().sample_dir / "000_e94829f5f5b76ea6.txt")
    titles = [a.title for a in arts]
    assert titles[0] == "成果转化探索新途径"
    assert "林周县旁多乡达龙村实现西藏农民经济合作社出口“第一单”" in titles
    assert "投资超75亿元 青藏铁路电气化外电配套工程（西藏段）开建" in titles
    assert arts[0].jump_to == "三"
    for a, b in zip(arts, arts[1:]):
        assert a.end <= b.start


def test_continued_article_records_where_it_comes_from():
    _, arts = articles_of(Config().sample_dir / "002_545d6686b7c5b8d1.txt")
    continued = [a for a in arts if a.jump_from]
    assert [(a.title, a.jump_from) for a in continued] == [("科技创新实现新突破", "1")]


def test_markdown_headings_are_headlines():
    _, arts = articles_of(Config().sample_dir / "004_3fa1046521e36f31.txt")
    assert arts[0].title == "科技创新实现新突破"
    assert any(a.title and a.title.startswith("第五届“天宫画展”") for a in arts)
