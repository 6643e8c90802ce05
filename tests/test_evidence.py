import numpy as np

from rag.evidence import candidates, chunk_sentences, page_sentences
from rag.store import Index
from rag.types import Chunk, Document, Hit, PageMeta

PAGE = "科技创新大会召开\n会泽县打造了246个车间。岗位月均工资3500元，群众满意度达到百分之九十八。\n下一段落写别的事情。"


def doc() -> Document:
    return Document("d", "x.txt", PageMeta(), PAGE, PAGE, [(0, 0)])


def chunk(cid: int, start: int, end: int) -> Chunk:
    return Chunk(cid, "d", PAGE[start:end], start, end, "科技创新大会召开", "x.txt", PageMeta())


def test_page_sentences_mark_headlines():
    sents = page_sentences(PAGE)
    assert [PAGE[s:e] for s, e, _ in sents][:3] == ["科技创新大会召开", "会泽县打造了246个车间。",
                                                   "岗位月均工资3500元，群众满意度达到百分之九十八。"]
    assert [h for _, _, h in sents] == [True, False, False, False]


def test_a_sentence_cut_by_a_chunk_edge_is_whole_again_with_its_stored_vector():
    cut = PAGE.index("群众")
    first, second = chunk(0, 0, cut), chunk(1, cut, len(PAGE))
    index = Index("m", 2)
    parts = [np.array([[1.0, 0.0]] * len(chunk_sentences(PAGE, c))) for c in (first, second)]
    index.add([doc()], [first, second], np.zeros((2, 2), np.float32), parts)
    pool = candidates(index, [Hit(index.chunks[0], 1.0)])
    texts = [c.text for c in pool]
    assert "岗位月均工资3500元，群众满意度达到百分之九十八。" in texts
    assert "科技创新大会召开" not in texts
    whole = pool[texts.index("岗位月均工资3500元，群众满意度达到百分之九十八。")]
    assert np.allclose(whole.vector, [1.0, 0.0])
    assert "下一段落写别的事情。" in texts and not pool[texts.index("下一段落写别的事情。")].inside
