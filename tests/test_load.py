import json
import os

import pytest

from rag.config import Config
from rag.load import IngestError, decode, find_files, parse, read_bytes, read_page
from rag.metadata import from_filename, iso_date

TEXT = "梵净山茶园迎来春茶开采，茶农们忙着采摘明前茶。\n\n今年首批春茶的收购价格为每斤一百八十元。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be"])
def test_encodings_are_detected_without_mojibake(tmp_path, encoding):
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(TEXT.encode(encoding))
    assert read_page(path, Config()).text == TEXT


def test_short_gbk_text_is_still_detected(tmp_path):
    assert decode("本报讯 春茶开采。".encode("gbk"), tmp_path / "x.txt") == "本报讯 春茶开采。"


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty file"),
    (b"  \n\n \t", "empty file"),
    (os.urandom(4096) + b"\x00\x01\x02" * 100, "binary"),
    (bytes(range(1, 32)) * 200, "binary"),
])
def test_empty_and_binary_files_are_refused_by_name(tmp_path, content, reason):
    path = tmp_path / "页面 'a\".txt"
    path.write_bytes(content)
    with pytest.raises(IngestError) as err:
        read_page(path, Config())
    assert str(path) in str(err.value) and reason in str(err.value)


def test_size_limit_is_configurable_and_named(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("长" * 2000, encoding="utf-8")
    with pytest.raises(IngestError, match=r"big\.txt: 6000 bytes is over the 5000-byte limit"):
        read_bytes(path, Config(max_file_bytes=5000))
    assert read_page(path, Config(max_file_bytes=6000)).text == "长" * 2000


def test_folders_and_broken_links_give_clear_errors(tmp_path):
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    with pytest.raises(IngestError, match="is a folder"):
        read_bytes(tmp_path / "folder.txt", Config())
    with pytest.raises(IngestError, match="broken link"):
        read_bytes(tmp_path / "dangling.txt", Config())
    found = list(find_files([tmp_path, tmp_path / "missing.txt"]))
    assert tmp_path / "dangling.txt" in found
    assert any(isinstance(f, IngestError) and "missing.txt: no such file" in str(f) for f in found)


def test_find_files_skips_metadata_and_hidden_files(tmp_path):
    for name in ["a.txt", "b.pdf", "c.md", "metadata.json", "a.txt.meta.json", "notes.docx", ".hidden.txt"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert [p.name for p in find_files([tmp_path])] == ["a.txt", "b.pdf", "c.md"]


def test_file_name_conventions():
    config = Config()
    assert from_filename("铜仁日报_2026-04-02_03.txt", config).__dict__ == {"paper": "铜仁日报", "date": "2026-04-02", "page": 3}
    assert from_filename("rmrb2026040203.pdf", config).__dict__ == {"paper": "人民日报", "date": "2026-04-02", "page": 3}
    assert from_filename("002_545d6686b7c5b8d1.txt", config).__dict__ == {"paper": None, "date": None, "page": None}
    assert from_filename("xyz2026023103.txt", config).date is None  # 31 February is not invented into a date
    custom = Config(filename_patterns=(r"(?P<page>\d+)-(?P<paper>\w+)",), paper_codes={"ls": "拉萨日报"})
    assert from_filename("7-ls.txt", custom).__dict__ == {"paper": "拉萨日报", "date": None, "page": 7}
    assert iso_date("2026年4月2日") == "2026-04-02" and iso_date("20261340") is None


def test_metadata_priority_sidecar_then_manifest_then_file_name(tmp_path):
    page = tmp_path / "铜仁日报_2026-04-02_03.txt"
    page.write_text(TEXT, encoding="utf-8")
    assert read_page(page, Config()).meta.__dict__ == {"paper": "铜仁日报", "date": "2026-04-02", "page": 3}
    (tmp_path / "metadata.json").write_text(json.dumps({page.name: {"paper": "贵州日报", "page": None}}), encoding="utf-8")
    assert read_page(page, Config()).meta.__dict__ == {"paper": "贵州日报", "date": "2026-04-02", "page": 3}
    page.with_name(page.name + ".meta.json").write_text(json.dumps({"page": 5}), encoding="utf-8")
    assert read_page(page, Config()).meta.__dict__ == {"paper": "贵州日报", "date": "2026-04-02", "page": 5}


def test_broken_manifest_names_itself(tmp_path):
    page = tmp_path / "a.txt"
    page.write_text(TEXT, encoding="utf-8")
    (tmp_path / "metadata.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IngestError, match="metadata.json: invalid metadata file"):
        parse(page, page.read_bytes(), Config())


@pytest.mark.parametrize(("fields", "says"), [
    ({"paper": 5}, "paper 5 is not a name"),
    ({"date": "April"}, "date 'April' is not a date"),
    ({"date": [2026]}, "is not a date"),
    ({"page": 1e999}, "is not a page number from 1 to 9999"),
    ({"page": 99999999999999999999999}, "is not a page number"),
    ({"page": "front"}, "is not a page number"),
    ({"page": 0}, "is not a page number"),
    ({"page": True}, "is not a page number"),
])
def test_sidecar_values_of_the_wrong_kind_fail_that_file_by_name(tmp_path, fields, says):
    page = tmp_path / "a.txt"
    page.write_text(TEXT, encoding="utf-8")
    page.with_name("a.txt.meta.json").write_text(json.dumps(fields), encoding="utf-8")
    with pytest.raises(IngestError, match=f"a.txt.meta.json: .*{says}"):
        parse(page, page.read_bytes(), Config())


def test_sidecar_values_are_read_as_the_index_stores_them(tmp_path):
    page = tmp_path / "a.txt"
    page.write_text(TEXT, encoding="utf-8")
    page.with_name("a.txt.meta.json").write_text(json.dumps({"paper": " 拉萨日报 ", "date": 20260401, "page": "3"}),
                                                 encoding="utf-8")
    assert read_page(page, Config()).meta.__dict__ == {"paper": "拉萨日报", "date": "2026-04-01", "page": 3}
    page.with_name("a.txt.meta.json").write_text(json.dumps({"date": "2026年4月1日", "page": 2.0}), encoding="utf-8")
    assert read_page(page, Config()).meta.__dict__ == {"paper": None, "date": "2026-04-01", "page": 2}


def test_nul_bytes_are_dropped_at_decode(tmp_path):
    long = TEXT * 3
    assert decode((long[:9] + "\x00" + long[9:]).encode("utf-8"), tmp_path / "x.txt") == long
    assert decode("春茶开采。".encode("utf-16"), tmp_path / "x.txt") == "春茶开采。"
    path = tmp_path / "nul.txt"
    path.write_bytes((TEXT * 3).encode("utf-8").replace("。".encode("utf-8"), b"\x00", 1))
    assert "\x00" not in read_page(path, Config()).text


def test_a_folder_named_like_a_page_is_walked_not_read(tmp_path):
    (tmp_path / "x.txt").mkdir()
    (tmp_path / "x.txt" / "inner.txt").write_text(TEXT, encoding="utf-8")
    assert list(find_files([tmp_path])) == [tmp_path / "x.txt" / "inner.txt"]


def test_special_files_are_refused_without_reading(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    with pytest.raises(IngestError, match=r"pipe\.txt: is a named pipe, not a regular file"):
        read_bytes(tmp_path / "pipe.txt", Config())
    with pytest.raises(IngestError, match=r"zero\.txt: is a character device"):
        read_bytes(tmp_path / "zero.txt", Config())
    page = tmp_path / "a.txt"
    page.write_text(TEXT, encoding="utf-8")
    (tmp_path / "metadata.json").symlink_to("/dev/zero")
    assert parse(page, page.read_bytes(), Config())[0].meta.__dict__ == {"paper": None, "date": None, "page": None}
