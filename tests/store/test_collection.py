from pathlib import Path

from rag.store import Collection
from rag.types import Chunk, Document, PageMeta


def page(doc_id: str, parts: int, jump: str | None = None) -> tuple[Document, list[Chunk]]:
    text = "".join(f"第{i}段。" for i in range(parts))
    doc = Document(doc_id, f"{doc_id}.txt", PageMeta("报", "2026-04-01", 1), text, text, [(0, 0)], path=f"/up/{doc_id}.txt")
    chunks = [Chunk(-1, doc_id, f"第{i}段。", 4 * i, 4 * i + 4, f"{doc_id}题" if i == 0 else None, doc.source, doc.meta,
                    jump=jump) for i in range(parts)]
    return doc, chunks


def test_ids_are_given_once_and_survive_removals():
    books = Collection()
    for doc_id, parts in (("a", 3), ("b", 2), ("c", 2)):
        doc, chunks = page(doc_id, parts)
        books.add_chunks([doc], chunks)
    gone, ids = books.remove_documents(["b"])
    assert [d.doc_id for d in gone] == ["b"] and list(ids) == [3, 4]
    assert [c.chunk_id for c in books.chunks] == [0, 1, 2, 5, 6] and books.chunk(5).doc_id == "c"
    doc, chunks = page("d", 1)
    assert list(books.add_chunks([doc], chunks)) == [7] and books.next_id == 8


def test_neighbours_are_on_the_same_page_and_continuations_on_others():
    books = Collection()
    for doc_id, jump in (("a", "a:0"), ("b", "a:0"), ("c", None)):
        doc, chunks = page(doc_id, 3, jump)
        books.add_chunks([doc], chunks)
    books.remove_documents(["b"])
    first, middle, last = books.by_page["a"]
    assert books.neighbours(middle) == [first, middle, last] and books.neighbours(first) == [first, middle]
    assert books.neighbours(last) == [middle, last]  # the page after it is not its neighbour
    assert books.continuation(first) == []
    doc, chunks = page("b2", 1, "a:0")
    books.add_chunks([doc], chunks)
    assert books.continuation(first) == chunks


def test_pages_and_a_copy_that_changes_alone():
    books = Collection()
    doc, chunks = page("a", 2)
    books.add_chunks([doc], chunks)
    other = books.copy()
    other.set_page_meta("a", PageMeta("晚报", None, None))
    (listed,) = books.pages(Path("/up"))
    assert (listed.paper, listed.title, listed.chunks, listed.uploaded) == ("报", "a题", 2, True)
    assert other.pages(Path("/elsewhere"))[0].paper == "晚报" and books.chunks[0].meta.paper == "报"
