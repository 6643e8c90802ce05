"""The Gradio app: chat with streamed cited answers kept in the browser, a sources panel, filters, a Markdown
export and the Pages tab (``ui.library``), in Chinese or English (``ui.i18n``)."""

from __future__ import annotations

import hashlib
import html
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
from starlette.middleware import Middleware

from rag.config import Config
from rag.pipeline import PaperTrail
from rag.types import Answer
from ui.api import routes
from ui.export import conversation_markdown
from ui.filters import filters, page_of
from ui.i18n import LANGUAGES, Refusal, language, t
from ui.library import SUFFIX_TEXT, Library, pages_tab, refuse
from ui.locale import ChosenLanguage
from ui.origin import SameOrigin, is_loopback
from ui.render import chat_markdown, sources_html, text
from ui.throttle import LoginBackoff
from ui.wording import Wording

ASSETS = Path(__file__).parent / "assets"
EXAMPLES = ["青藏铁路电气化外电配套工程总投资多少亿元？", "How many high-tech enterprises did Tibet have in 2019?"]
BROWSER_LANGUAGE = "(hint) => [navigator.language || '']"
"""The language chosen with the toggle, else the browser's (``ui.locale`` makes the chosen one the browser's)."""
log = logging.getLogger(__name__)


def history_store(config: Config) -> gr.BrowserState:
    """The answers of the conversation, kept in the browser's localStorage under a key of this index (the same
    server over another index starts empty), so the chat survives a reload and a server restart.

    Gradio encrypts the stored value with the ``secret`` it also sends to the page: anyone who can use the browser
    profile can read the history, as with any browser storage.
    """
    digest = hashlib.sha256(str(config.index_dir.resolve()).encode()).hexdigest()
    return gr.BrowserState([], storage_key=f"papertrail-history-{digest[:16]}", secret=digest)


class ChatApp:
    """The chat's event handlers over one shared, already loaded ``PaperTrail``."""

    def __init__(self, rag: PaperTrail) -> None:
        self.rag = rag

    def chat(self, question: str, papers: list[str] | None = None, date_from: str | None = None,
             date_to: str | None = None, page: str | None = None) -> dict:
        """Answer a question from the pages; returns the answer text and its citations (``Answer.to_dict()``)."""
        question = (question or "").strip()
        if not question:
            raise refuse(t("en", "empty_question"))
        try:
            return self.rag.ask(question, **filters(papers, date_from, date_to, page_of(page))).to_dict()
        except ValueError as err:
            raise refuse(str(err)) from err

    def respond(self, question: str, history: list[dict], answers: list[dict], papers: list[str] | None,
                date_from: str | None, date_to: str | None, page: str | None, lang: str) -> Iterator[tuple]:
        """Stream one answer (a follow-up to the earlier ones) into the chat, then show it cited, with its sources
        and the conversation's export; a question refused (empty, bad filters) is a message and stays typed."""
        question = (question or "").strip()
        try:
            if not question:
                raise Refusal("type_first")
            where = filters(papers, date_from, date_to, page_of(page))
        except Refusal as err:
            gr.Warning(html.escape(err.message(lang), quote=False))  # Gradio renders it as HTML
            yield (gr.skip(),) * 5
            return
        history = [*history, {"role": "user", "content": text(question)}, {"role": "assistant", "content": ""}]
        answer = None
        try:
            turns = [(a["question"], a["answer"]) for a in answers]
            for piece in self.rag.ask_stream(question, history=turns, **where):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    history[-1]["content"] += text(piece)
                    yield history, gr.skip(), gr.skip(), "", gr.skip()
        except Exception as err:  # the UI boundary: show the reason, keep the trace in the server log
            log.exception("question failed: %s", question)
            history[-1]["content"] = t(lang, "failed", reason=text(str(err)))
            yield history, gr.skip(), gr.skip(), "", gr.skip()
            return
        messages, panel, export, answers = self.view([*answers, answer.to_dict()], lang)
        yield messages, panel, answers, "", export

    def restore(self, answers: list[dict] | None, lang: str, shown: list[dict] | None) -> tuple:
        """``view`` of the stored answers when the page opens, unless a question asked before the page finished
        loading already fills the chat (its answer would be wiped)."""
        return (gr.skip(),) * 4 if shown else self.view(answers, lang)

    def image_url(self, page_image: str) -> tuple[str, float] | None:
        """The URL of a citation's page image (``/api/pages/ID/image``) for the browser, Gradio's file route
        behind the chat's own login and confined to the index's OCR folder (``allowed_paths``), and the page's
        height over its width."""
        found = self.rag.page_image(page_image.rstrip("/").split("/")[-2]) if page_image.count("/") >= 2 else None
        return (f"/gradio_api/file={found.path}", found.height / found.width) if found else None

    def view(self, answers: list[dict] | None, lang: str) -> tuple[list[dict], str, str, list[dict]]:
        """The chat, the sources panel and the Markdown export of the answers kept in the browser, and the answers;
        a stored history that does not read as answers (altered, or of another version) is dropped."""
        answers = answers if isinstance(answers, list) else []
        try:
            messages = [message for turn, a in enumerate(answers, 1) for message in (
                {"role": "user", "content": text(a["question"])},
                {"role": "assistant", "content": chat_markdown(a, turn, lang)})]
            return messages, sources_html(answers, lang, self.image_url), conversation_markdown(answers, lang), answers
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("dropping a stored chat history that does not read as answers")
            return [], sources_html([], lang), conversation_markdown([], lang), []


def build_app(rag: PaperTrail) -> gr.Blocks:
    """The web chat over ``rag``; ``/chat`` and ``/upload`` are the pinned API endpoints."""
    app = ChatApp(rag)
    words = Wording(suffixes=SUFFIX_TEXT)
    with gr.Blocks(title="PaperTrail", analytics_enabled=False) as demo:
        answers = history_store(rag.config)
        with gr.Row(elem_id="pt-top"):
            words(gr.Markdown, {"value": "header"})
            lang = gr.Radio(LANGUAGES, value="en", show_label=False, container=False, scale=0, min_width=200,
                            elem_id="pt-lang")
        with words(gr.Tab, {"label": "tab_chat"}):
            with gr.Row(elem_id="pt-main"):
                with gr.Column(scale=3, min_width=300):
                    chatbot = words(gr.Chatbot, {"label": "chat"}, height=520, elem_id="pt-chat",
                                    feedback_options=None, buttons=["copy"], sanitize_html=True, latex_delimiters=[])
                    with gr.Row():
                        box = words(gr.Textbox, {"placeholder": "question"}, show_label=False, scale=5,
                                    elem_id="pt-question", autofocus=True, interactive=False,
                                    max_length=rag.config.max_question_chars)
                        send = words(gr.Button, {"value": "ask"}, variant="primary", scale=1, elem_id="pt-send",
                                     interactive=False)
                with gr.Column(scale=2, min_width=300, elem_id="pt-side"):
                    words(gr.Markdown, {"value": "sources_heading"})
                    sources = gr.HTML(sources_html([], "en"), elem_id="pt-sources")
                    export = words(gr.Button, {"value": "export"}, size="sm", elem_id="pt-export")
                    export_md = gr.Textbox(conversation_markdown([], "en"), visible="hidden", elem_id="pt-export-md")
            examples = gr.Examples([[q] for q in EXAMPLES], inputs=[box], label=t("en", "examples"),
                                   elem_id="pt-examples")
            words.add(examples.dataset, {"label": "examples"})
            with words(gr.Accordion, {"label": "filters"}, open=False, elem_id="pt-filters"):
                papers = words(gr.Dropdown, {"label": "papers"}, multiselect=True, choices=[],
                               elem_id="pt-filter-papers")
                with gr.Row():
                    date_from = words(gr.Dropdown, {"label": "date_from"}, choices=[], value=None, elem_id="pt-from")
                    date_to = words(gr.Dropdown, {"label": "date_to"}, choices=[], value=None, elem_id="pt-to")
                    page = words(gr.Dropdown, {"label": "page_filter"}, choices=[], value=None,
                                 elem_id="pt-filter-page")
        with words(gr.Tab, {"label": "tab_pages"}):
            shown = pages_tab(Library(rag), words, lang, [papers, date_from, date_to, page])

        private: dict[str, Any] = {"api_visibility": "private"}
        chat_io = {"fn": app.respond, "inputs": [box, chatbot, answers, papers, date_from, date_to, page, lang],
                   "outputs": [chatbot, sources, answers, box, export_md], **private}
        view_io = {"fn": app.view, "inputs": [answers, lang], "outputs": [chatbot, sources, export_md, answers],
                   **private}
        box.submit(**chat_io)
        send.click(**chat_io)
        examples.load_input_event.then(**chat_io)
        chatbot.clear(lambda lang: app.view([], lang), [lang], view_io["outputs"], **private)
        export.click(None, [export_md], None, js="(markdown) => papertrailExport(markdown)", **private)
        restore_io = {**view_io, "fn": app.restore, "inputs": [answers, lang, chatbot]}
        event = demo.load(language, [gr.Textbox(visible="hidden")], [lang], js=BROWSER_LANGUAGE, **private)
        event = event.then(words.updates, [lang], words.components, **private).then(**restore_io)
        for step in shown:
            event = event.then(**step)
        # the question box opens once the page is set up (nothing typed is lost), with the question typed before a
        # switch of language
        event.then(lambda: (gr.update(interactive=True),) * 2, None, [box, send], **private).then(
            None, None, [box], js="() => [papertrailTyped()]", **private)
        # Gradio sets its own words (the file drop zone, "Clear") once, as its front end starts: the toggle saves
        # the choice and opens the page again in that language
        lang.input(None, [lang], None, js="(lang) => papertrailChoose(lang)", **private)
        gr.api(app.chat, api_name="chat")
    return demo


def launch(rag: PaperTrail, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True) -> gr.Blocks:
    """Start the server (never shared publicly); with ``block=False`` return once it is up.

    The HTTP API (``ui.api``) is served beside the chat, behind the same ``auth``.
    A background thread swaps in versions saved by other processes (``PaperTrail.refresh``) within
    ``Config.reload_interval``; wrong passwords back off per client (``ui.throttle``).
    """
    config = rag.config
    demo = build_app(rag).queue(default_concurrency_limit=config.serve_concurrency)
    try:
        demo.launch(server_name=host, server_port=port, auth=auth, share=False, ssr_mode=False, quiet=True,
                    max_file_size=config.max_file_bytes, prevent_thread_lock=True, max_threads=config.serve_threads,
                    allowed_paths=[str(config.ocr_dir)],
                    app_kwargs={"middleware": [Middleware(SameOrigin, loopback=is_loopback(host)),
                                               Middleware(LoginBackoff, config=config), Middleware(ChosenLanguage)],
                                "routes": routes(rag, auth)},
                    css_paths=[ASSETS / "app.css"], head=f"<script>{(ASSETS / 'app.js').read_text()}</script>")
    except ValueError:
        # Gradio gives up on a server it has started when one HEAD of its page takes over 3 s, as it can on a
        # busy machine; the server is up when it answers a patient request.
        if not answers(demo.local_url or f"http://127.0.0.1:{port}/"):
            demo.close()
            raise
        log.warning("the web chat was slow to answer its first request; serving anyway")
    watch(rag, demo)
    if block:
        print(f"PaperTrail web chat on http://{host}:{port}/, HTTP API under /api and /v1 (Ctrl+C to stop)")
        demo.block_thread()
    return demo


def answers(url: str, tries: int = 3, timeout: float = 30.0) -> bool:
    """Whether ``url`` answers (any status below 500) within ``tries`` requests of ``timeout`` seconds each."""
    for _ in range(tries):
        try:
            return httpx.get(url, timeout=timeout).status_code < 500
        except httpx.TransportError:
            time.sleep(1.0)
    return False


def watch(rag: PaperTrail, demo: gr.Blocks) -> threading.Thread:
    """Call ``rag.refresh()`` every ``Config.reload_interval`` seconds until the server closes."""
    def loop() -> None:
        while demo.is_running:
            rag.refresh()
            time.sleep(rag.config.reload_interval)

    thread = threading.Thread(target=loop, name="papertrail-reload", daemon=True)
    thread.start()
    return thread
