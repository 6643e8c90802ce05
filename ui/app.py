"""The Gradio app: chat with streamed cited answers, a sources panel, filters and page uploads."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from rag.load import SUFFIXES
from rag.pipeline import PaperTrail
from rag.types import Answer
from ui.api import routes
from ui.filters import filters
from ui.render import chat_markdown, sources_html, text
from ui.throttle import LoginBackoff
from ui.uploads import UploadError, add_upload, page_meta

ASSETS = Path(__file__).parent / "assets"
EXAMPLES = ["青藏铁路电气化外电配套工程总投资多少亿元？", "How many high-tech enterprises did Tibet have in 2019?"]
PAGE_COLUMNS = ["file", "paper", "date", "page", "chunks", "added"]
log = logging.getLogger(__name__)


def refuse(message: str) -> gr.Error:
    """An error shown to the user as is; it is the user's to fix, so no server traceback."""
    return gr.Error(message, print_exception=False)


class ChatApp:
    """Event handlers over one shared, already loaded ``PaperTrail``."""

    def __init__(self, rag: PaperTrail) -> None:
        self.rag = rag

    def chat(self, question: str, papers: list[str] | None = None, date_from: str | None = None,
             date_to: str | None = None) -> dict:
        """Answer a question from the pages; returns the answer text and its citations (``Answer.to_dict()``)."""
        question = (question or "").strip()
        if not question:
            raise refuse("The question is empty: type a question about the pages.")
        try:
            return self.rag.ask(question, **filters(papers, date_from, date_to)).to_dict()
        except ValueError as err:
            raise refuse(str(err)) from err

    def respond(self, question: str, history: list[dict], answers: list[dict], papers: list[str] | None,
                date_from: str | None, date_to: str | None) -> Iterator[tuple]:
        """Stream one answer (a follow-up to the earlier ones) into the chat, then show its sources."""
        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question first.")
            yield history, gr.skip(), answers, ""
            return
        history = [*history, {"role": "user", "content": text(question)}, {"role": "assistant", "content": ""}]
        answer = None
        try:
            turns = [(a["question"], a["answer"]) for a in answers]
            for piece in self.rag.ask_stream(question, history=turns, **filters(papers, date_from, date_to)):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    history[-1]["content"] += text(piece)
                    yield history, gr.skip(), answers, ""
        except Exception as err:  # the UI boundary: show the reason, keep the trace in the server log
            log.exception("question failed: %s", question)
            history[-1]["content"] = f"**Error:** this question could not be answered: {text(str(err))}"
            yield history, gr.skip(), answers, ""
            return
        answers = [*answers, answer.to_dict()]
        history[-1]["content"] = chat_markdown(answer, len(answers))
        yield history, sources_html(answers), answers, ""

    def upload(self, files: list[str] | None, paper: str | None, date: str | None, page: str | None,
               progress: gr.Progress = gr.Progress()) -> tuple:
        """Store, ingest and report uploaded pages; the index is searchable as soon as this returns.

        Chats keep being answered from the current version while a page is embedded (``PaperTrail.ingest``)."""
        if not files:
            raise refuse(f"Choose a page file first ({', '.join(sorted(SUFFIXES))}).")
        try:
            meta = page_meta(paper, date, page)
        except UploadError as err:
            raise refuse(str(err)) from err
        lines = []
        for i, file in enumerate(files):
            name = Path(file).name
            progress((i, len(files)), desc=f"Reading {name}")
            embedding = lambda done, total, name=name: progress(  # noqa: E731
                (done, total), desc=f"Embedding {name} ({done}/{total} passages and sentences)")
            done = add_upload(self.rag, Path(file), name, meta, embedding)
            if done.stored:
                lines.append(f"- **added** {text(name)} → {text(done.stored.name)} ({done.chunks} passages), "
                             "searchable now")
            lines.extend(f"- **{done.outcome}** {text(r)}" for r in done.reasons)
            lines.extend(f"- **warning** {text(w)}" for w in done.warnings)
        progress((len(files), len(files)), desc="Done")
        return ("\n".join(lines), *self.catalog())

    def catalog(self) -> tuple:
        """The pages table and the paper/date filter choices, from what is in the index now."""
        pages = self.rag.pages()
        rows = [[p.file, p.paper or "", p.date or "", p.page or "", p.chunks, "upload" if p.uploaded else "index"]
                for p in pages]
        papers = sorted({p.paper for p in pages if p.paper})
        dates = sorted({p.date for p in pages if p.date})
        return (rows, gr.update(choices=papers), gr.update(choices=dates), gr.update(choices=dates))


def build_app(rag: PaperTrail) -> gr.Blocks:
    """The web chat over ``rag``; ``/chat`` and ``/upload`` are the pinned API endpoints."""
    app = ChatApp(rag)
    suffixes = sorted(SUFFIXES)
    with gr.Blocks(title="PaperTrail", analytics_enabled=False) as demo:
        gr.Markdown("## PaperTrail · 报纸问答\nAnswers from the loaded newspaper pages, each sentence cited.")
        answers = gr.State([])
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Chat", height=520, elem_id="pt-chat", feedback_options=None,
                                         buttons=["copy"], sanitize_html=True, latex_delimiters=[])
                    with gr.Row():
                        box = gr.Textbox(show_label=False, scale=5, elem_id="pt-question", autofocus=True,
                                         placeholder="Ask about the pages · 请输入问题")
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="pt-send")
                    examples = gr.Examples([[q] for q in EXAMPLES], inputs=[box], label="Try")
                    with gr.Accordion("Filters", open=False):
                        papers = gr.Dropdown(label="Papers", multiselect=True, choices=[])
                        with gr.Row():
                            date_from = gr.Dropdown(label="From date", choices=[], value=None)
                            date_to = gr.Dropdown(label="To date", choices=[], value=None)
                with gr.Column(scale=2):
                    gr.Markdown("**Sources**")
                    sources = gr.HTML(sources_html([]), elem_id="pt-sources")
        with gr.Tab("Pages"):
            files = gr.File(label=f"Add pages ({', '.join(suffixes)})", file_count="multiple",
                            file_types=suffixes, type="filepath", elem_id="pt-files")
            with gr.Row():
                paper = gr.Textbox(label="Paper", placeholder="铜仁日报", elem_id="pt-paper")
                date = gr.Textbox(label="Date", placeholder="2026-04-02", elem_id="pt-date")
                page = gr.Textbox(label="Page (版)", placeholder="3", elem_id="pt-page")
            add = gr.Button("Add to index", variant="primary", elem_id="pt-add")
            status = gr.Markdown(elem_id="pt-status")
            pages = gr.Dataframe(headers=PAGE_COLUMNS, interactive=False, label="Pages in the index",
                                 elem_id="pt-pages")

        chat_io = {"fn": app.respond, "inputs": [box, chatbot, answers, papers, date_from, date_to],
                   "outputs": [chatbot, sources, answers, box], "api_visibility": "private"}
        box.submit(**chat_io)
        send.click(**chat_io)
        examples.load_input_event.then(**chat_io)
        chatbot.clear(lambda: ([], sources_html([])), None, [answers, sources], api_visibility="private")
        catalog = [pages, papers, date_from, date_to]
        add.click(app.upload, [files, paper, date, page], [status, *catalog], api_name="upload",
                  concurrency_limit=1)
        demo.load(app.catalog, None, catalog, api_visibility="private")
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
    demo.launch(server_name=host, server_port=port, auth=auth, share=False, ssr_mode=False, quiet=True,
                max_file_size=config.max_file_bytes, prevent_thread_lock=True, max_threads=config.serve_threads,
                app_kwargs={"middleware": [Middleware(LoginBackoff, config=config)], "routes": routes(rag, auth)},
                css_paths=[ASSETS / "app.css"], head=f"<script>{(ASSETS / 'app.js').read_text()}</script>")
    watch(rag, demo)
    if block:
        print(f"PaperTrail web chat on http://{host}:{port}/, HTTP API under /api and /v1 (Ctrl+C to stop)")
        demo.block_thread()
    return demo


def watch(rag: PaperTrail, demo: gr.Blocks) -> threading.Thread:
    """Call ``rag.refresh()`` every ``Config.reload_interval`` seconds until the server closes."""
    def loop() -> None:
        while demo.is_running:
            rag.refresh()
            time.sleep(rag.config.reload_interval)

    thread = threading.Thread(target=loop, name="papertrail-reload", daemon=True)
    thread.start()
    return thread
