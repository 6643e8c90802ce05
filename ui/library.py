"""The Pages tab: add pages (metadata for all files or per file), list, search and filter them, edit a page's
paper/date/page and delete a page, all through ``PaperTrail``'s public methods."""

from __future__ import annotations

import html
import os
from pathlib import Path

import gradio as gr

from rag.ingest import UnknownPage
from rag.load import SUFFIXES
from rag.lock import IndexBusyError
from rag.pipeline import PaperTrail
from rag.types import Page, PageMeta
from ui.catalog import columns, fields_text, label, matching, missing, rows, summary
from ui.i18n import t
from ui.render import text
from ui.uploads import UploadError, add_upload, page_meta
from ui.wording import Wording

SUFFIX_TEXT = ", ".join(sorted(SUFFIXES))
EMPTY_FILE_ROW = ["", "", ""]
"""A file's paper, date and page in the per-file table, before anything is typed."""


def refuse(message: str) -> gr.Error:
    """An error shown to the user as is (Gradio renders its messages as HTML: escaped, a file name or a typed value
    shows as typed); it is the user's to fix, so no server traceback."""
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def row_of(table: list[list] | None, i: int, name: str) -> list[str]:
    """The paper, date and page cells of file ``i`` (``name``) in the per-file table: its own row when the table
    lists the files in order, else the first row naming it; empty cells when none does."""
    table = [row for row in table or [] if row]
    named = [row for row in table[i : i + 1] if row[0] == name] or [row for row in table if row[0] == name]
    cells = list(named[0][1:4]) if named else []
    return [str(c).strip() if c is not None else "" for c in cells + [None] * (3 - len(cells))]


def per_file_meta(files: list[str], typed: tuple[str, str, str], table: list[list] | None,
                  lang: str) -> list[PageMeta]:
    """Each file's metadata: its row of the per-file ``table`` (file, paper, date, page), an empty cell taking the
    field ``typed`` for all files. Every value is checked before any file is stored; a bad one names its file."""
    try:
        page_meta(*typed)
    except UploadError as err:
        raise refuse(err.message(lang)) from err
    metas = []
    for i, file in enumerate(files):
        name = Path(file).name
        try:
            metas.append(page_meta(*(cell or default for cell, default in zip(row_of(table, i, name), typed))))
        except UploadError as err:
            raise refuse(f"{name}: {err.message(lang)}") from err
    return metas


class Library:
    """The Pages tab's handlers over one shared ``PaperTrail``."""

    def __init__(self, rag: PaperTrail) -> None:
        self.rag = rag

    def page(self, page_id: str | None) -> Page | None:
        return next((p for p in self.rag.pages() if p.id == page_id), None) if page_id else None

    def listing(self, query: str | None, paper: str | None, missing_only: bool, lang: str,
                chat_papers: list[str] | None, date_from: str | None, date_to: str | None,
                chat_page: str | None) -> tuple:
        """The list as searched, the missing-metadata warning, and the paper, date and page choices here and in
        the chat's filters (a chosen value that no page has any more is dropped)."""
        pages = self.rag.pages()
        shown = matching(pages, query or "", paper, missing_only)
        papers = sorted({p.paper for p in pages if p.paper})
        dates = sorted({p.date for p in pages if p.date})
        numbers = [str(n) for n in sorted({p.page for p in pages if p.page is not None})]
        table = gr.update(value={"headers": columns(lang), "data": rows(shown, lang)},
                          label=t(lang, "pages_table", shown=len(shown), total=len(pages)))
        return (table, summary(pages, lang), gr.update(choices=papers, value=paper if paper in papers else None),
                gr.update(choices=papers, value=[p for p in chat_papers or [] if p in papers]),
                gr.update(choices=dates, value=date_from if date_from in dates else None),
                gr.update(choices=dates, value=date_to if date_to in dates else None),
                gr.update(choices=numbers, value=chat_page if chat_page in numbers else None))

    def per_file_rows(self, files: list[str] | None, lang: str) -> dict:
        """The per-file metadata table for the files chosen, shown only when there are files."""
        data = [[Path(f).name, *EMPTY_FILE_ROW] for f in files or []]
        return gr.update(value={"headers": columns(lang)[:4], "data": data or [["", *EMPTY_FILE_ROW]]},
                         visible=bool(data))

    def upload(self, files: list[str] | None, paper: str | None, date: str | None, page: str | None,
               table: list[list] | None, lang: str = "en", progress: gr.Progress = gr.Progress()) -> tuple:
        """Store, ingest and report uploaded pages (searchable as soon as this returns), then clear the form.

        Chats keep being answered from the current version while a page is embedded (``PaperTrail.ingest``)."""
        if not files:
            raise refuse(t(lang, "choose_file", suffixes=SUFFIX_TEXT))
        metas = per_file_meta(files, (paper or "", date or "", page or ""), table, lang)
        lines = []
        for i, (file, meta) in enumerate(zip(files, metas)):
            name = Path(file).name
            progress((i, len(files)), desc=t(lang, "reading", name=name))
            embedding = lambda done, total, name=name: progress(  # noqa: E731
                (done, total), desc=t(lang, "embedding", name=name, done=done, total=total))
            ocr = lambda done, total, name=name: progress(  # noqa: E731
                (done, total), desc=t(lang, "ocr", name=name, done=done, total=total))
            done = add_upload(self.rag, Path(file), name, meta, embedding, lang, ocr)
            if done.stored:
                lines.append(t(lang, "added", name=text(name), stored=text(done.stored.name), chunks=done.chunks))
                lines.extend(self.bare_warnings(done.stored, lang))
            lines.extend(f"- **{t(lang, 'outcome_' + done.outcome)}** {text(r)}" for r in done.reasons)
            lines.extend(f"- **{t(lang, 'warning')}** {text(w)}" for w in done.warnings)
        progress((len(files), len(files)), desc=t(lang, "done"))
        return "\n".join(lines), None, "", "", "", self.per_file_rows(None, lang)

    def bare_warnings(self, stored: Path, lang: str) -> list[str]:
        """A warning for each page of a stored upload that lacks metadata."""
        where = os.path.abspath(stored)
        return [f"- **{t(lang, 'warning')}** " + text(t(lang, "uploaded_bare", name=p.file,
                                                           fields=fields_text(missing(p), lang)))
                for p in self.rag.pages() if p.path == where and missing(p)]

    def form(self, page: Page | None, lang: str, armed: bool = False) -> tuple:
        """The edit form for ``page`` (none: cleared); ``armed``, its delete button waits for the second click,
        which deletes this page only (the form's last value is the id it is armed for)."""
        ready = gr.update(interactive=page is not None)
        delete = gr.update(interactive=page is not None, variant="stop" if armed else "secondary",
                           value=t(lang, "confirm_delete_button" if armed else "delete"))
        if page is None:
            return None, t(lang, "selected_none"), "", "", "", ready, delete, None
        return (page.id, self.describe(page.id, lang), page.paper or "", page.date or "", str(page.page or ""), ready,
                delete, page.id if armed else None)

    def form_words(self, page_id: str | None, armed: str | None, lang: str) -> tuple:
        """The edit form's own words in ``lang``: what it is editing, its delete button."""
        _, described, *_, delete, _ = self.form(self.page(page_id), lang, armed is not None and armed == page_id)
        return described, delete

    def describe(self, page_id: str | None, lang: str) -> str:
        """What the edit form is editing, or how to choose a page."""
        page = self.page(page_id)
        if page is None:
            return t(lang, "selected_none")
        return t(lang, "selected", file=text(page.file), label=text(label(page)))

    def select(self, lang: str, event: gr.SelectData) -> tuple:
        """The clicked row's page in the edit form (its id is the row's last cell)."""
        return self.form(self.page(event.row_value[-1] if event.row_value else None), lang)

    def save(self, page_id: str | None, paper: str | None, date: str | None, page: str | None, lang: str) -> tuple:
        """Set the selected page's metadata (``PaperTrail.edit``): a message and the form as saved."""
        if not page_id:
            raise refuse(t(lang, "choose_page"))
        try:
            saved = self.rag.edit(page_id, page_meta(paper, date, page))
        except UploadError as err:
            raise refuse(err.message(lang)) from err
        except UnknownPage:
            return t(lang, "page_gone"), *self.form(None, lang)
        except IndexBusyError:
            raise refuse(t(lang, "busy")) from None
        return t(lang, "saved", label=text(label(saved))), *self.form(saved, lang)

    def delete(self, page_id: str | None, armed: str | None, lang: str) -> tuple:
        """The first click asks to click again; the second, on the same page, deletes it (``PaperTrail.remove``)."""
        page = self.page(page_id)
        if page is None:
            return t(lang, "page_gone" if page_id else "choose_page"), *self.form(None, lang)
        if armed != page.id:
            return t(lang, "confirm_delete", file=text(page.file)), *self.form(page, lang, armed=True)
        try:
            removed = self.rag.remove(page.id)
        except IndexBusyError:
            raise refuse(t(lang, "busy")) from None
        return t(lang, "deleted" if removed else "page_gone", file=text(page.file)), *self.form(None, lang)

def pages_tab(library: Library, words: Wording, lang: gr.Radio, chat_filters: list[gr.Dropdown]) -> list[dict]:
    """Lay out the Pages tab (inside a ``gr.Tab``) and wire its events; returns the steps (``event.then(**step)``)
    that show it in the language chosen: the list, and what the edit form is editing."""
    files = words(gr.File, {"label": "add_files"}, file_count="multiple", file_types=sorted(SUFFIXES),
                  type="filepath", elem_id="pt-files")
    with gr.Row():
        paper = words(gr.Textbox, {"label": "paper"}, placeholder="铜仁日报", elem_id="pt-paper")
        date = words(gr.Textbox, {"label": "date"}, placeholder="2026-04-02", elem_id="pt-date")
        page = words(gr.Textbox, {"label": "page"}, placeholder="3", elem_id="pt-page")
    per_file = words(gr.Dataframe, {"label": "per_file"}, headers=columns("en")[:4], datatype="str", type="array",
                     interactive=True, static_columns=[0], visible=False, elem_id="pt-per-file")
    add = words(gr.Button, {"value": "add"}, variant="primary", elem_id="pt-add")
    status = gr.Markdown(elem_id="pt-status")
    warning = gr.Markdown(elem_id="pt-missing", elem_classes=["pt-warning"])
    with gr.Row():
        search = words(gr.Textbox, {"label": "search", "placeholder": "search_hint"}, elem_id="pt-search", scale=3)
        paper_filter = words(gr.Dropdown, {"label": "paper_filter"}, choices=[], value=None, elem_id="pt-paper-filter")
        missing_only = words(gr.Checkbox, {"label": "missing_only"}, elem_id="pt-missing-only")
    table = gr.Dataframe(headers=columns("en"), interactive=False, wrap=True, elem_id="pt-pages")
    selected, armed = gr.State(None), gr.State(None)
    selected_text = gr.Markdown(t("en", "selected_none"), elem_id="pt-selected")
    with gr.Row():
        edit_paper = words(gr.Textbox, {"label": "paper"}, elem_id="pt-edit-paper")
        edit_date = words(gr.Textbox, {"label": "date"}, elem_id="pt-edit-date")
        edit_page = words(gr.Textbox, {"label": "page"}, elem_id="pt-edit-page")
    with gr.Row():
        save = words(gr.Button, {"value": "save"}, variant="primary", interactive=False, elem_id="pt-save")
        delete = gr.Button(t("en", "delete"), interactive=False, elem_id="pt-delete")
    library_status = gr.Markdown(elem_id="pt-library-status")

    # selecting, saving, deleting and listing run in the order clicked: Delete right after a row acts on that row
    one_at_a_time = {"api_visibility": "private", "concurrency_id": "library", "concurrency_limit": 1}
    listing = {"fn": library.listing, "inputs": [search, paper_filter, missing_only, lang, *chat_filters],
               "outputs": [table, warning, paper_filter, *chat_filters], **one_at_a_time}
    form = [selected, selected_text, edit_paper, edit_date, edit_page, save, delete, armed]
    files.change(library.per_file_rows, [files, lang], per_file, api_visibility="private")
    add.click(library.upload, [files, paper, date, page, per_file, lang], [status, files, paper, date, page, per_file],
              api_name="upload", concurrency_limit=1).then(**listing)
    gr.on([search.change, paper_filter.input, missing_only.input], trigger_mode="always_last", **listing)
    table.select(library.select, [lang], form, **one_at_a_time)
    save.click(library.save, [selected, edit_paper, edit_date, edit_page, lang], [library_status, *form],
               **one_at_a_time).then(**listing)
    delete.click(library.delete, [selected, armed, lang], [library_status, *form], **one_at_a_time).then(**listing)
    return [listing, {"fn": library.form_words, "inputs": [selected, armed, lang], "outputs": [selected_text, delete],
                      **one_at_a_time}]
