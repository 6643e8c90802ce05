"""Components whose words follow the interface language: made in English, rewritten when the language switches.

Gradio's own ``gr.I18n`` translates static text by the browser's language alone (no in-page switch), so the web
chat's words are set from ``ui.i18n`` by the server instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.blocks import Block

from ui.i18n import t


class Wording:
    """Remembers which property of which component shows which text (``ui.i18n`` key)."""

    def __init__(self, **values: object) -> None:
        self.values = values
        """Filled into every text that names them (e.g. ``suffixes``)."""
        self.entries: list[tuple[Block, dict[str, str]]] = []

    def __call__(self, make: Callable[..., Any], words: dict[str, str], **kwargs: Any) -> Any:
        """``make(**kwargs)`` with its ``words`` (property → text key) in English, remembered."""
        return self.add(make(**self.say("en", words), **kwargs), words)

    def add(self, component: Any, words: dict[str, str]) -> Any:
        self.entries.append((component, words))
        return component

    def say(self, lang: str, words: dict[str, str]) -> dict[str, str]:
        return {prop: t(lang, key, **self.values) for prop, key in words.items()}

    @property
    def components(self) -> list[Block]:
        return [component for component, _ in self.entries]

    def updates(self, lang: str) -> list[dict[str, Any]]:
        """Every remembered component's words in ``lang``, in the order of ``components``."""
        return [gr.update(**self.say(lang, words)) for _, words in self.entries]
