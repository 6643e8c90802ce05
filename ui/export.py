"""A conversation as Markdown: each question, its answer and its sources cited in full.

Every citation reads ``paper · date · 第N版 · headline · file`` (unknown parts left out). What comes from the
pages, the user or an LLM is escaped as in the chat (``ui.render.text``), so no link, image or HTML forms when the
file is opened in a Markdown viewer.
"""

from __future__ import annotations

from typing import Any

from rag.types import page_label
from ui.i18n import t
from ui.render import text


def citation_lines(c: dict[str, Any], lang: str) -> list[str]:
    """One numbered source: its full label, the sentence quoted, the other pages that printed it."""
    lines = [f"{c['n']}. {text(page_label(c, with_file=True))}"]
    if c.get("sentence"):
        lines.append(f"   > {text(' '.join(c['sentence'].split()))}")
    lines += [f"   - {t(lang, 'also_in')} {text(page_label(a, with_file=True))}" for a in c["also"]]
    return lines


def conversation_markdown(answers: list[dict[str, Any]], lang: str) -> str:
    """The conversation (``Answer.to_dict()`` of each turn, oldest first) as one Markdown document."""
    lines = [f"# {t(lang, 'export_title')}", ""]
    for turn, answer in enumerate(answers, 1):
        lines += [f"## {turn}. {text(answer['question'])}", "", text(answer["answer"]), ""]
        if answer.get("notice"):
            lines += [f"_{text(answer['notice'])}_", ""]
        if answer["citations"]:
            lines += [f"**{t(lang, 'sources')}**", ""]
            for c in answer["citations"]:
                lines += citation_lines(c, lang)
        else:
            lines.append(f"_{t(lang, 'no_sources')}_")
        lines.append("")
    return "\n".join(lines)
