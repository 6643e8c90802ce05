import numpy as np

from rag.config import Config
from rag.evidence import page_sentences
from rag.features import Candidates, analyse, sentence_features
from rag.ingest import sentence_names
from rag.lexical import BM25, tokenize
from rag.names import entities, restored, stored
from rag.short_answer import spans

PAGE = "上海召开科技大会\n市长李强在上海宣布，上海交通大学将新建研究院。北京市科委主任出席。\n会议持续三天。"


def test_ingest_tags_each_page_sentence_once_and_headlines_not_at_all():
    names = sentence_names(PAGE)
    sents = page_sentences(PAGE)
    assert len(names) == len(sents)
    assert names[0] == {}  # the headline
    for (s, e, heading), row in zip(sents, names):
        if not heading:
            assert restored(row) == entities(PAGE[s:e])
    assert any("上海" in row.get("place", []) for row in names)


def test_tagging_a_page_that_is_not_language_stops_at_its_time_budget(monkeypatch):
    import random

    import rag.ingest

    rng = random.Random(0)
    page = "噪声页\n" + "。".join("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(80)) for _ in range(100))
    tagged = []
    monkeypatch.setattr(rag.ingest, "entities", lambda text: tagged.append(text) or entities(text))
    names = sentence_names(page, budget=1.0)  # each of these sentences takes about 0.4 s to tag
    assert len(names) == len(page_sentences(page)) and names[-1] == {}
    assert 1 <= len(tagged) < 20


def test_stored_names_give_the_features_and_spans_of_names_tagged_at_query_time():
    texts = [PAGE[s:e] for s, e, heading in page_sentences(PAGE) if not heading]
    lexical = BM25.build([tokenize(t) for t in texts])
    q = analyse("北京哪所大学有研究院？", lexical.terms, Config().models_dir)
    assert q.kind == "org"

    def rows(names):
        pool = Candidates(texts, texts, np.linspace(0.9, 0.7, len(texts)), np.linspace(0.9, 0.7, len(texts)),
                          np.full(len(texts), 0.8), [0] * len(texts), [True] * len(texts), names)
        return sentence_features(q, pool, 0.8)

    kept = [restored(stored(entities(t))) for t in texts]
    assert np.array_equal(rows([None] * len(texts)), rows(kept))
    assert spans("org", texts[0], kept[0]) == spans("org", texts[0]) != []
    # the name-conflict feature reads the stored names: 上海 is stated where 北京 is asked
    assert rows(kept)[0, 22] == 1.0


def test_transliterated_names_are_whole_across_their_dots():
    assert "安德鲁·杰克逊" in entities("以美国第七任总统 安德鲁·杰克逊 命名")["person"]
    assert "哈尔福德•麦金德" in entities("德国的弗里德里希•拉采尔和英国的哈尔福德•麦金德")["person"]
    assert not entities("中国·贵州")["person"]  # places joined by a dot are no person
    sentence = "卡万·肖特带领球队。"
    assert [sentence[s:e] for s, e in spans("person", sentence)] == ["卡万·肖特"]
