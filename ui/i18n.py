"""The web chat's words in Chinese and English, the language a browser asks for, and refusals in either.

Text from pages and from the ``rag`` library (answers, refusals, reasons a file was not indexed) is shown as it
comes; everything the web chat itself says is here.
"""

from __future__ import annotations

LANGUAGES = [("中文", "zh"), ("English", "en")]
"""The toggle's choices: (shown, code)."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "header": "## PaperTrail · 报纸问答\nAnswers from the loaded newspaper pages, each sentence cited.",
        "tab_chat": "Chat",
        "tab_pages": "Pages",
        "chat": "Chat",
        "question": "Ask about the pages, in Chinese or English",
        "ask": "Ask",
        "examples": "Try",
        "filters": "Filters",
        "papers": "Papers",
        "date_from": "From date",
        "date_to": "To date",
        "page_filter": "Page (第N版)",
        "sources": "Sources",
        "sources_heading": "**Sources**",
        "export": "Export as Markdown",
        "type_first": "Type a question first.",
        "empty_question": "The question is empty: type a question about the pages.",
        "failed": "**Error:** this question could not be answered: {reason}",
        "not_a_date": "{typed!r} is not a date like 2026-04-02.",
        "not_a_page": "{typed} is not a page number (1, 2, …).",
        "empty_range": "The date range is empty: {start} is after {end}.",
        "sources_empty": "Sources of each answer appear here. Click a [n] marker to open its passage.",
        "no_sources": "No sources: the pages do not answer this.",
        "file": "file",
        "full_page": "Open the whole page",
        "page_image": "The printed page around the cited sentence (marked)",
        "printed_in": "Also printed in:",
        "also_in": "also in",
        "export_title": "PaperTrail conversation",
        "add_files": "Add pages ({suffixes})",
        "paper": "Paper",
        "date": "Date",
        "page": "Page (版)",
        "per_file": "Per file: a cell left empty takes the field above, or else what the file says",
        "add": "Add to index",
        "choose_file": "Choose a page file first ({suffixes}).",
        "bad_date": "Date {typed!r} is not a date like 2026-04-02.",
        "bad_page": "Page {typed!r} must be a whole number from 1 to 9999.",
        "not_indexable": "{name}: {suffix} cannot be indexed; upload {allowed}.",
        "no_suffix": "files without an extension",
        "too_large": "{name}: {size:,} bytes is over the {limit:,}-byte limit.",
        "not_stored": "{name}: the server could not store it ({reason}).",
        "already_indexed": "{name}: already in the index (same content)",
        "added": "- **added** {name} → {stored} ({chunks} passages), searchable now",
        "outcome_refused": "refused",
        "outcome_failed": "failed",
        "outcome_skipped": "skipped",
        "warning": "warning",
        "reading": "Reading {name}",
        "embedding": "Embedding {name} ({done}/{total} passages and sentences)",
        "ocr": "Reading {name} by OCR ({done}/{total} pages)",
        "done": "Done",
        "uploaded_bare": "{name}: no {fields} known; fill them in in the list below (a page without a page number "
                         "is cited by its file name)",
        "search": "Search pages",
        "search_hint": "file, paper or headline",
        "paper_filter": "Paper",
        "missing_only": "Only pages with missing metadata",
        "pages_table": "Pages in the index: {shown} of {total} shown; click a row to edit or delete it",
        "columns": "file|paper|date|page|headline|passages|added|note|id",
        "via_upload": "upload",
        "via_index": "index",
        "missing": "⚠ no {fields}",
        "by_file_name": ": cited by file name",
        "field_paper": "paper",
        "field_date": "date",
        "field_page": "page",
        "field_sep": ", ",
        "missing_summary": "⚠ **{count} of {total} pages have missing metadata** (marked ⚠ in the list). A page "
                           "without a page number is cited by its file name instead of paper · date · 第N版: "
                           "click its row to fill them in.",
        "selected_none": "Click a row of the list to edit or delete that page.",
        "selected": "Editing **{file}**: {label}",
        "save": "Save metadata",
        "delete": "Delete page",
        "confirm_delete": "Delete **{file}** from the index? Its passages and any uploaded copy are removed: "
                          "click the red button again to delete it, or click another row to keep it.",
        "confirm_delete_button": "Click again to delete",
        "saved": "Saved: {label}",
        "deleted": "Deleted {file}.",
        "choose_page": "Select a page in the list first.",
        "page_gone": "That page is no longer in the index (it was removed meanwhile); the list is up to date now.",
        "busy": "The index is being changed by another process; try again in a moment.",
    },
    "zh": {
        "header": "## PaperTrail · 报纸问答\n回答来自已载入的报纸版面，每句话都注明出处。",
        "tab_chat": "问答",
        "tab_pages": "版面",
        "chat": "对话",
        "question": "用中文或英文提问",
        "ask": "提问",
        "examples": "试试",
        "filters": "筛选",
        "papers": "报纸",
        "date_from": "起始日期",
        "date_to": "截止日期",
        "page_filter": "版面",
        "sources": "出处",
        "sources_heading": "**出处**",
        "export": "导出为 Markdown",
        "type_first": "请先输入问题。",
        "empty_question": "问题为空：请输入一个关于这些版面的问题。",
        "failed": "**出错：**无法回答这个问题：{reason}",
        "not_a_date": "“{typed}”不是日期，请写成 2026-04-02 这样的格式。",
        "not_a_page": "{typed} 不是版面号（1、2……）。",
        "empty_range": "日期范围为空：起始日期 {start} 晚于截止日期 {end}。",
        "sources_empty": "每个回答的出处显示在这里。点击 [n] 标记即可打开对应段落。",
        "no_sources": "没有出处：这些版面没有回答这个问题。",
        "file": "文件",
        "full_page": "打开整版",
        "page_image": "版面原图（引用的句子已标出）",
        "printed_in": "也刊登于：",
        "also_in": "另见",
        "export_title": "PaperTrail 对话记录",
        "add_files": "添加版面（{suffixes}）",
        "paper": "报纸",
        "date": "日期",
        "page": "版次",
        "per_file": "逐个文件设置：留空的格子取上面的值，否则取文件自带的信息",
        "add": "加入索引",
        "choose_file": "请先选择版面文件（{suffixes}）。",
        "bad_date": "日期“{typed}”无效，请写成 2026-04-02 这样的格式。",
        "bad_page": "版次“{typed}”必须是 1 到 9999 之间的整数。",
        "not_indexable": "{name}：无法索引 {suffix} 文件，请上传 {allowed}。",
        "no_suffix": "没有扩展名的",
        "too_large": "{name}：{size:,} 字节，超过 {limit:,} 字节的上限。",
        "not_stored": "{name}：服务器无法保存该文件（{reason}）。",
        "already_indexed": "{name}：索引中已有相同内容",
        "added": "- **已添加** {name} → {stored}（{chunks} 段），现在即可检索",
        "outcome_refused": "已拒绝",
        "outcome_failed": "失败",
        "outcome_skipped": "已跳过",
        "warning": "注意",
        "reading": "正在读取 {name}",
        "embedding": "正在编码 {name}（{done}/{total} 段落和句子）",
        "ocr": "正在识别 {name}（{done}/{total} 页）",
        "done": "完成",
        "uploaded_bare": "{name}：缺少{fields}；请在下面的列表中补全（没有版次的版面，引用时只显示文件名）",
        "search": "搜索版面",
        "search_hint": "文件名、报纸或标题",
        "paper_filter": "报纸",
        "missing_only": "只看缺少信息的版面",
        "pages_table": "索引中的版面：共 {total} 个，显示 {shown} 个；点击一行可编辑或删除",
        "columns": "文件|报纸|日期|版次|标题|段落数|来源|提示|编号",
        "via_upload": "上传",
        "via_index": "导入",
        "missing": "⚠ 缺少{fields}",
        "by_file_name": "：引用显示文件名",
        "field_paper": "报纸",
        "field_date": "日期",
        "field_page": "版次",
        "field_sep": "、",
        "missing_summary": "⚠ **{total} 个版面中有 {count} 个缺少信息**（列表中标有 ⚠）。没有版次的版面，引用时"
                           "只显示文件名，而不是“报纸 · 日期 · 第N版”：点击该行即可补全。",
        "selected_none": "点击列表中的一行，即可编辑或删除该版面。",
        "selected": "正在编辑 **{file}**：{label}",
        "save": "保存信息",
        "delete": "删除版面",
        "confirm_delete": "要从索引中删除 **{file}** 吗？它的段落和上传的副本都会被删除：再点一次红色按钮即删除，"
                          "点击其他行则保留。",
        "confirm_delete_button": "再点一次即删除",
        "saved": "已保存：{label}",
        "deleted": "已删除 {file}。",
        "choose_page": "请先在列表中选择一个版面。",
        "page_gone": "这个版面已不在索引中（刚被删除）；列表已更新。",
        "busy": "另一个进程正在修改索引，请稍后再试。",
    },
}


def language(hint: str | None) -> str:
    """``zh`` for a Chinese browser language or choice (``zh``, ``zh-CN``, ``zh-Hant-TW`` …), else ``en``."""
    return "zh" if (hint or "").strip().lower().startswith("zh") else "en"


def t(lang: str | None, key: str, **values: object) -> str:
    """The text ``key`` in ``lang`` (any hint ``language`` reads), with ``values`` filled in."""
    return TEXTS[language(lang)][key].format(**values)


class Refusal(ValueError):
    """Input refused with a message for the user in either language; ``str()`` is the English message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(t("en", key, **values))
        self.key, self.values = key, values

    def message(self, lang: str | None) -> str:
        return t(lang, self.key, **self.values)
