"""What is known of a page's paper, date and page number, from the best source that says.

Sources, highest priority first, merged field by field (a source that leaves a
field unknown lets the next one fill it; nothing is ever guessed):

1. a sidecar ``NAME.meta.json`` next to the file: ``{"paper": ..., "date": ..., "page": ...}``;
2. the folder manifest ``metadata.json``: ``{"NAME": {...}}``; a PDF page may also have
   its own entry ``"NAME#p3"``, which then comes first;
3. the file name, matched against ``Config.filename_patterns`` (regexes with named
   groups ``paper``, ``date`` and ``page``). The defaults read
   ``铜仁日报_2026-04-02_03.txt`` and ``rmrb2026040203.pdf`` (code, yyyymmdd, page);
   a code is translated by ``Config.paper_codes`` (``rmrb`` → 人民日报) and kept as
   written when unknown;
4. the PDF's own metadata: its title as the paper (unless it is a placeholder such as
   ``Untitled``, ``document`` or ``Microsoft Word - page3.docx``) and a date written in the
   title. The PDF's creation date is never used: it is when the file was produced, not the
   date printed on the page.

For a multi-page PDF a page number from sources 1–3 is that of the first page; later
pages count on from it. Without one, the PDF's numeric page label, else its page index,
is used.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.files import FileRefused, read_regular, write_atomically
from rag.types import PageMeta

MANIFEST = "metadata.json"
SIDECAR = ".meta.json"
MAX_METADATA_BYTES = 10 * 1024 * 1024
MAX_PAGE = 9999
"""Highest page number taken (a paper has tens of pages; a number beyond is a mistake, and would not fit the
index's integer columns)."""
ISO_DATE = re.compile(r"(\d{4})[-./年]?(\d{1,2})[-./月]?(\d{1,2})日?")
PLACEHOLDER_TITLE = re.compile(r"(untitled(\s*-?\s*\d+)?|document\d*|microsoft (word|excel|powerpoint)\b.*|无标题.*"
                               r"|.*\.(docx?|pdf|txt|indd|qxd|tiff?)|[\W_\d]*)", re.I)
"""Titles that word processors and PDF printers write by themselves; they name no paper."""


class MetadataError(Exception):
    """An unreadable sidecar or manifest; the message names it."""


def sidecar_path(path: Path) -> Path:
    """Where the sidecar of a page file lives: ``NAME.meta.json`` beside it."""
    return path.with_name(path.name + SIDECAR)


def write_sidecar(path: Path, meta: PageMeta) -> None:
    """Write (or replace, atomically) the sidecar of the page file ``path``."""
    write_atomically(sidecar_path(path), json.dumps(asdict(meta), ensure_ascii=False))


def checked(meta: PageMeta) -> PageMeta:
    """``meta`` as stored: a paper name stripped (blank: unknown), an ISO date, a page number from 1.

    Raises ``ValueError`` naming the bad field.
    """
    if meta.paper is not None and not isinstance(meta.paper, str):
        raise ValueError(f"paper {meta.paper!r} is not a name")
    if meta.date is not None and iso_date(meta.date) != meta.date:
        raise ValueError(f"date {meta.date!r} is not a date like 2026-04-02")
    if meta.page is not None and not (type(meta.page) is int and 1 <= meta.page <= MAX_PAGE):
        raise ValueError(f"page {meta.page!r} is not a whole number from 1 to {MAX_PAGE}")
    return PageMeta(paper=(meta.paper or "").strip() or None, date=meta.date, page=meta.page)


def file_metadata(path: Path, config: Config) -> list[PageMeta]:
    """Sidecar, manifest and file-name metadata for ``path``, best first."""
    sidecar = sidecar_path(path)
    return [_meta(_read_json(sidecar) if sidecar.is_file() else {}, sidecar),
            page_metadata(path, path.name), from_filename(path.name, config)]


def page_metadata(path: Path, key: str) -> PageMeta:
    """The manifest entry ``key`` (a file name, or ``NAME#p3`` for one PDF page) beside ``path``."""
    manifest = path.parent / MANIFEST
    return _meta(_read_json(manifest).get(key, {}) if manifest.is_file() else {}, manifest)


def from_filename(name: str, config: Config) -> PageMeta:
    """Metadata spelled in a file name by one of ``config.filename_patterns``; unknown if none matches."""
    stem = name.rsplit(".", 1)[0]
    for pattern in config.filename_patterns:
        m = re.fullmatch(pattern, stem)
        if m:
            fields = m.groupdict()
            paper = fields.get("paper")
            page = fields.get("page")
            return PageMeta(paper=config.paper_codes.get(paper.lower(), paper) if paper else None,
                            date=iso_date(fields.get("date")), page=int(page) if page else None)
    return PageMeta()


def from_pdf(title: str | None) -> PageMeta:
    """A PDF's title as the paper (placeholder titles name nothing) and the date written in the title."""
    title = (title or "").strip()
    written = ISO_DATE.search(title)
    paper = ISO_DATE.sub("", title).strip(" _-·|")
    return PageMeta(paper=None if PLACEHOLDER_TITLE.fullmatch(paper) else paper,
                    date=iso_date(written.group()) if written else None)


def merge(sources: list[PageMeta]) -> PageMeta:
    """Each field from the first source that knows it."""
    pick = lambda name: next((getattr(s, name) for s in sources if getattr(s, name) is not None), None)  # noqa: E731
    return PageMeta(paper=pick("paper"), date=pick("date"), page=pick("page"))


def iso_date(value: str | None) -> str | None:
    """``2026-04-02`` for 20260402, 2026-4-2, 2026年4月2日 …; ``None`` if not a real date."""
    m = ISO_DATE.fullmatch(value.strip()) if value else None
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def _meta(entry: Any, where: Path) -> PageMeta:
    """A sidecar's or manifest entry's fields, checked: a paper name, a date (as an ISO day), a page number."""
    if not isinstance(entry, dict):
        raise MetadataError(f"{where}: each entry must be an object with paper, date, page")
    paper, day = entry.get("paper"), entry.get("date")
    if paper not in (None, "") and not isinstance(paper, str):
        raise MetadataError(f"{where}: paper {paper!r} is not a name")
    if day not in (None, "") and (isinstance(day, bool) or not isinstance(day, (str, int))
                                  or iso_date(str(day)) is None):
        raise MetadataError(f"{where}: date {day!r} is not a date like 2026-04-02")
    return PageMeta(paper=(paper or "").strip() or None, date=iso_date(str(day)) if day not in (None, "") else None,
                    page=_page(entry.get("page"), where))


def _page(value: Any, where: Path) -> int | None:
    if value in (None, ""):
        return None
    number = None
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            pass
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif type(value) is int:
        number = value
    if number is None or not 1 <= number <= MAX_PAGE:
        raise MetadataError(f"{where}: page {value!r} is not a page number from 1 to {MAX_PAGE}")
    return number


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_regular(path, MAX_METADATA_BYTES).decode("utf-8-sig"))
    except (FileRefused, OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MetadataError(f"{path}: invalid metadata file ({err})") from err
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: metadata must be a JSON object")
    return data
