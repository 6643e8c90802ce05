"""The Pages tab's list: which pages a search matches, what metadata each lacks, and the rows shown."""

from __future__ import annotations

from rag.types import Page, page_label
from ui.i18n import t

FIELDS = ("paper", "date", "page")


def missing(page: Page) -> list[str]:
    """The metadata fields (of ``FIELDS``) that ``page`` lacks."""
    return [name for name in FIELDS if getattr(page, name) is None]


def matching(pages: list[Page], query: str, paper: str | None, missing_only: bool) -> list[Page]:
    """The pages whose file, paper, date or headline holds every word of ``query`` (any case), of ``paper`` if
    given, and only those lacking metadata if ``missing_only``."""
    words = query.lower().split()
    return [p for p in pages
            if (not paper or p.paper == paper) and (not missing_only or missing(p))
            and all(any(w in (v or "").lower() for v in (p.file, p.paper, p.date, p.title)) for w in words)]


def label(page: Page) -> str:
    """``paper · date · 第N版 · headline · file``, unknown parts left out."""
    return page_label({**vars(page), "source": page.file}, with_file=True)


def fields_text(names: list[str], lang: str) -> str:
    """Field names in ``lang``: "paper, date" / "报纸、日期"."""
    return t(lang, "field_sep").join(t(lang, f"field_{name}") for name in names)


def note(page: Page, lang: str) -> str:
    """The warning of a page lacking metadata ("⚠ no page: cited by file name"); empty when nothing lacks."""
    gaps = missing(page)
    if not gaps:
        return ""
    return t(lang, "missing", fields=fields_text(gaps, lang)) + (t(lang, "by_file_name") if page.page is None else "")


def rows(pages: list[Page], lang: str) -> list[list[str | int]]:
    """The list's rows, in the order of ``columns``: the page id last (what a click selects)."""
    return [[p.file, p.paper or "", p.date or "", p.page or "", p.title or "", p.chunks,
             t(lang, "via_upload" if p.uploaded else "via_index"), note(p, lang), p.id] for p in pages]


def columns(lang: str) -> list[str]:
    return t(lang, "columns").split("|")


def summary(pages: list[Page], lang: str) -> str:
    """The warning above the list when some pages lack metadata; empty when none does."""
    count = sum(1 for p in pages if missing(p))
    return t(lang, "missing_summary", count=count, total=len(pages)) if count else ""
