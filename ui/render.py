"""HTML and Markdown for the chat: linked [n] markers, source lists and passage cards.

Everything that comes from pages, metadata, file names, the LLM or the user is shown as text:
escaped for HTML in the sources panel, and with every ASCII punctuation character
backslash-escaped in chat Markdown, so no tag, link, image, autolink or math can form.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from rag.types import page_label
from ui.i18n import t

MARKER = re.compile(r"\[(\d+)\]")
PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def anchor(turn: int, n: int) -> str:
    """The element id of citation ``n`` of answer ``turn`` in the sources panel."""
    return f"src-{turn}-{n}"


def text(value: str) -> str:
    """Markdown that shows ``value`` literally (every ASCII punctuation character backslash-escaped)."""
    return PUNCTUATION.sub(r"\\\1", value)


def chat_markdown(answer: dict[str, Any], turn: int, lang: str) -> str:
    """The answer (``Answer.to_dict()``) with each [n] linked to its passage, then the numbered sources."""
    numbers = {c["n"] for c in answer["citations"]}
    parts = MARKER.split(answer["answer"])  # text, number, text, number, …, text
    body = "".join(text(part) if i % 2 == 0 else
                   f"[\\[{part}\\]](#{anchor(turn, int(part))})" if int(part) in numbers else text(f"[{part}]")
                   for i, part in enumerate(parts))
    lines = [body]
    if answer["citations"]:
        lines += ["", f"**{t(lang, 'sources')}**", ""]
        for c in answer["citations"]:
            reprints = "; ".join(page_label(a) for a in c["also"])
            lines.append(f"{c['n']}. [{text(page_label(c))}](#{anchor(turn, c['n'])})"
                         + (f" — {t(lang, 'also_in')} {text(reprints)}" if reprints else ""))
    if answer.get("notice"):
        lines += ["", f"_{text(answer['notice'])}_"]
    return "\n".join(lines)


def passage(c: dict[str, Any]) -> str:
    """The cited passage, escaped, with its supporting sentence marked."""
    text, sentence = c["text"], c.get("sentence")
    at = text.find(sentence) if sentence else -1
    if at < 0:
        lead = f"<p class='pt-sentence'><mark>{escape(sentence)}</mark></p>" if sentence else ""
        return lead + f"<p class='pt-passage'>{escape(text)}</p>"
    end = at + len(sentence)
    return (f"<p class='pt-passage'>{escape(text[:at])}<mark>{escape(sentence)}</mark>"
            f"{escape(text[end:])}</p>")


def source_card(turn: int, c: dict[str, Any], open_: bool, lang: str) -> str:
    also = "".join(f"<li>{escape(page_label(a))}</li>" for a in c["also"])
    return (f"<details class='pt-source' id='{anchor(turn, c['n'])}'{' open' if open_ else ''}>"
            f"<summary><b>[{c['n']}]</b> {escape(page_label(c))}</summary>"
            f"{passage(c)}"
            f"<p class='pt-meta'>{t(lang, 'file')} <code>{escape(c['source'])}</code></p>"
            + (f"<p class='pt-meta'>{t(lang, 'printed_in')}</p><ul class='pt-also'>{also}</ul>" if also else "")
            + "</details>")


def sources_html(answers: list[dict[str, Any]], lang: str) -> str:
    """The sources panel: the latest answer's passages first (first one open), earlier answers folded."""
    if not answers:
        return f"<div class='pt-empty'>{t(lang, 'sources_empty')}</div>"
    groups = []
    for turn in range(len(answers), 0, -1):
        answer = answers[turn - 1]
        latest = turn == len(answers)
        cards = "".join(source_card(turn, c, latest and i == 0, lang) for i, c in enumerate(answer["citations"]))
        body = cards or f"<p class='pt-meta'>{t(lang, 'no_sources')}</p>"
        groups.append(f"<details class='pt-turn'{' open' if latest else ''}>"
                      f"<summary>{escape(answer['question'])}</summary>{body}</details>")
    return "".join(groups)
