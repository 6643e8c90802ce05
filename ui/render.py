"""HTML and Markdown for the chat: linked [n] markers, source lists and passage cards.

Everything that comes from pages, metadata, file names, the LLM or the user is shown as text:
escaped for HTML in the sources panel, and with every ASCII punctuation character
backslash-escaped in chat Markdown, so no tag, link, image, autolink or math can form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

from rag.types import page_label
from ui.i18n import t

MARKER = re.compile(r"\[(\d+)\]")
ImageUrl = Callable[[str], "tuple[str, float] | None"]
CROP_MARGIN = 0.06
"""The page shown around a sentence's box, each side, as a share of the page's width."""
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


def page_crop(url: str, aspect: float, bbox: list[float], lang: str) -> str:
    """The printed page (``aspect``: its height over its width) around the evidence, the sentence's box marked;
    a link to the whole page image.

    The page is scaled so that the crop (the box widened by ``CROP_MARGIN`` of the page's width each side, and as
    much above and below) fills the panel's width, and shifted so that the box sits in its middle."""
    x0, y0, x1, y1 = bbox
    width = min(1.0, x1 - x0 + 2 * CROP_MARGIN)
    left = min(max(0.0, x0 - CROP_MARGIN), 1 - width)
    middle = (y0 + y1) / 2
    tall = 100 * ((y1 - y0) * aspect + 2 * CROP_MARGIN) / width
    place = f"width:{100 / width:.3f}%;transform:translate({-100 * left:.3f}%,{-100 * middle:.3f}%)"
    box = (f"left:{100 * x0:.3f}%;top:{100 * y0:.3f}%;width:{100 * (x1 - x0):.3f}%;"
           f"height:{100 * (y1 - y0):.3f}%")
    link = escape(url, quote=True)
    return (f"<a class='pt-scan' href='{link}' target='_blank' rel='noopener' title='{t(lang, 'full_page')}'>"
            f"<div class='pt-crop' style='padding-top:{tall:.3f}%'><div class='pt-page' style='{place}'>"
            f"<img src='{link}' alt='{t(lang, 'page_image')}'><span class='pt-box' style='{box}'></span>"
            f"</div></div></a>")


def source_card(turn: int, c: dict[str, Any], open_: bool, lang: str, image_url: ImageUrl = lambda _: None) -> str:
    also = "".join(f"<li>{escape(page_label(a))}</li>" for a in c["also"])
    shown = image_url(c["page_image"]) if c.get("page_image") and c.get("bbox") else None
    return (f"<details class='pt-source' id='{anchor(turn, c['n'])}'{' open' if open_ else ''}>"
            f"<summary><b>[{c['n']}]</b> {escape(page_label(c))}</summary>"
            + (page_crop(*shown, c["bbox"], lang) if shown else "")
            + f"{passage(c)}"
            f"<p class='pt-meta'>{t(lang, 'file')} <code>{escape(c['source'])}</code></p>"
            + (f"<p class='pt-meta'>{t(lang, 'printed_in')}</p><ul class='pt-also'>{also}</ul>" if also else "")
            + "</details>")


def sources_html(answers: list[dict[str, Any]], lang: str, image_url: ImageUrl = lambda _: None) -> str:
    """The sources panel: the latest answer's passages first (first one open), earlier answers folded; a
    citation of a scanned page shows the page around its sentence, from ``image_url(page_image)`` (its URL and
    height over width)."""
    if not answers:
        return f"<div class='pt-empty'>{t(lang, 'sources_empty')}</div>"
    groups = []
    for turn in range(len(answers), 0, -1):
        answer = answers[turn - 1]
        latest = turn == len(answers)
        cards = "".join(source_card(turn, c, latest and i == 0, lang, image_url)
                        for i, c in enumerate(answer["citations"]))
        body = cards or f"<p class='pt-meta'>{t(lang, 'no_sources')}</p>"
        groups.append(f"<details class='pt-turn'{' open' if latest else ''}>"
                      f"<summary>{escape(answer['question'])}</summary>{body}</details>")
    return "".join(groups)
