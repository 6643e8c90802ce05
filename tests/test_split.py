from hypothesis import given, settings
from hypothesis import strategies as st

from rag.config import Config
from rag.ingest import to_document
from rag.load import read_page
from rag.articles import split_articles
from rag.split import chunks_by_page, chunks_in, split_document

from tests.conftest import FIXTURES


def test_chunks_point_at_their_text_and_keep_headlines():
    config = Config()
    doc = to_document(read_page(config.sample_dir / "000_e94829f5f5b76ea6.txt", config))
    chunks = split_document(doc, config)
    assert len(chunks) > 10
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(c.text) <= config.chunk_size
        assert c.meta.paper == "拉萨日报" and c.source == "000_e94829f5f5b76ea6.txt"
    assert any(c.title == "成果转化探索新途径" and c.embed_text().startswith("成果转化探索新途径\n") for c in chunks)
    assert [c.chunk_id for c in chunks] == list(range(len(chunks)))


def test_chunks_end_on_sentence_boundaries_when_they_can():
    config = Config(chunk_size=60, chunk_overlap=10)
    doc = to_document(read_page(FIXTURES / "tiny_page.txt", config))
    chunks = split_document(doc, config)
    body = [c for c in chunks if len(c.text) > 30]
    assert body and all(c.text[-1] in "。）" or doc.text[c.end : c.end + 1] in ("", "\n") for c in body)


def test_raw_offsets_map_into_the_file():
    config = Config()
    doc = to_document(read_page(config.sample_dir / "001_e966a7bb64436bc5.txt", config))
    pos = doc.text.index("电商服务站覆盖率达到41%")
    raw_pos = doc.raw_offset(pos)
    assert doc.raw[raw_pos : raw_pos + 9] == "电商服务站覆盖率达"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("新华社记者本报讯电。，！？\n 长江大桥12（下转第三版）#")), max_size=400))
def test_splitter_offsets_hold_for_any_text(text):
    from rag.clean import clean
    from rag.types import Document, PageMeta

    cleaned = clean(text)
    doc = Document("d", "x.txt", PageMeta(), text, cleaned.text, cleaned.spans())
    for c in split_document(doc, Config(chunk_size=50, chunk_overlap=10)):
        assert doc.text[c.start : c.end] == c.text


def test_the_chunks_of_one_article_are_found_by_its_span():
    config = Config()
    doc = to_document(read_page(FIXTURES / "tiny_page.txt", config))
    chunks = split_document(doc, config)
    first, second = split_articles(doc.doc_id, doc.text)
    by_page = chunks_by_page(chunks)
    assert list(by_page) == [doc.doc_id] and by_page[doc.doc_id] == chunks
    mine = chunks_in(by_page, doc.doc_id, first.start, first.end)
    assert mine and {c.title for c in mine} == {first.title}
    assert mine + chunks_in(by_page, doc.doc_id, second.start, second.end) == chunks
    assert chunks_in(by_page, "another page", 0, len(doc.text)) == []
