"""Find page files, read them safely and decode them into pages with metadata.

Text files (``.txt``, ``.md``) are one page each, in any of UTF-8 (with or without
BOM), GB18030/GBK or UTF-16 (encoding detected with charset-normalizer). A PDF
gives one page per PDF page, with source ``NAME.pdf#p3`` (see ``rag.pdf``); its
image-only pages, and page images (``.png``, ``.jpg``, ``.tif``: one page per frame,
``NAME.tif#p2`` when there are several), are OCR'd (``rag.scan``). Files over
``Config.max_file_bytes`` are refused. Metadata: see ``rag.metadata``.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import charset_normalizer

from rag.config import Config
from rag.files import FileRefused, TooLarge, read_regular
from rag.images import IMAGE_SUFFIXES, ImageError
from rag.metadata import MetadataError, file_metadata, from_pdf, merge, page_metadata
from rag.ocr import OcrUnavailable
from rag.pdf import PdfError, read_pdf
from rag.types import PageMeta

if TYPE_CHECKING:
    from rag.scan import Pages, Scan

TEXT_SUFFIXES = {".txt", ".md"}
SUFFIXES = TEXT_SUFFIXES | {".pdf"} | IMAGE_SUFFIXES
GB = {"gb2312", "gbk", "gb18030", "hz"}
CHAOS_MARGIN = 0.05
"""Short texts decode cleanly in several CJK encodings; GB18030 wins unless clearly worse (this is a Chinese app)."""
CONTROL_SHARE = 0.01
"""Decoded text with more control characters than this share is binary, not text."""


class IngestError(Exception):
    """A file that cannot be ingested; the message names the file and the reason."""


@dataclass
class RawPage:
    """One page's decoded text and metadata, before cleaning; ``sha256`` is the whole file's."""

    path: Path
    text: str
    meta: PageMeta
    sha256: str
    source: str = ""
    doc_id: str = ""
    scan: Scan | None = None
    """The page image behind a scan or PDF page, with the boxes of its lines (``None`` for a text file)."""

    def __post_init__(self) -> None:
        self.source = self.source or self.path.name
        self.doc_id = self.doc_id or self.sha256[:16]


def find_files(paths: Iterable[Path]) -> Iterator[Path | IngestError]:
    """Page files under the given files or folders, sorted; a bad path gives an error in its place.

    Inside a folder, sub-folders are walked whatever their name (a folder ``x.txt`` is not a page).
    """
    for path in paths:
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.suffix.lower() in SUFFIXES and not p.is_dir() \
                        and not any(part.startswith(".") for part in p.relative_to(path).parts):
                    yield p
        elif path.exists() or path.is_symlink():
            yield path
        else:
            yield IngestError(f"{path}: no such file or folder")


def read_bytes(path: Path, config: Config) -> bytes:
    """A page file's bytes, refusing other file types, folders, special files and files over the size limit."""
    if path.suffix.lower() not in SUFFIXES:
        raise IngestError(f"{path}: unsupported file type {path.suffix or '(none)'}; "
                          "use .txt, .md, .pdf or a page image (.png, .jpg, .tif)")
    try:
        return read_regular(path, config.max_file_bytes)
    except TooLarge as err:
        raise IngestError(f"{path}: {err} (Config.max_file_bytes)") from err
    except FileRefused as err:
        raise IngestError(f"{path}: {err}") from err
    except FileNotFoundError as err:
        raise IngestError(f"{path}: cannot read (broken link or file removed)") from err
    except OSError as err:
        raise IngestError(f"{path}: cannot read ({err.strerror})") from err


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(path: Path, data: bytes, config: Config, pages: Pages | None = None) -> list[RawPage]:
    """The pages of a file's bytes, with their metadata; ``pages`` follows the OCR of a scan page by page."""
    digest = sha256(data)
    try:
        if path.suffix.lower() in TEXT_SUFFIXES:
            text = decode(data, path)
            if not text.strip():
                raise IngestError(f"{path}: empty file")
            return [RawPage(path, text, merge(file_metadata(path, config)), digest)]
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return image_pages(path, data, digest, config, pages)
        return pdf_pages(path, data, digest, config, pages)
    except MetadataError as err:
        raise IngestError(f"{path}: {err}") from err
    except (ImageError, PdfError, OcrUnavailable) as err:
        raise IngestError(f"{path}: {err}") from err


def image_pages(path: Path, data: bytes, digest: str, config: Config, progress: Pages | None = None) -> list[RawPage]:
    """One page per image frame, OCR'd; a single frame is the page ``NAME``, several ``NAME#p1``, ``NAME#p2``…"""
    from rag.scan import scan_image

    scans = scan_image(data, digest, path.name, config, progress)
    pages = numbered(path, [s.text for s in scans], digest, config, split=len(scans) > 1)
    for page, scan in zip(pages, scans):
        page.scan = scan
    pages = [p for p in pages if p.text.strip()]
    if not pages:
        raise IngestError(f"{path}: no text found by OCR")
    return pages


def pdf_pages(path: Path, data: bytes, digest: str, config: Config, progress: Pages | None = None) -> list[RawPage]:
    """One page per PDF page that has text, image-only pages OCR'd; page numbers count on from the metadata's.
    Every page keeps its page image and line boxes (``RawPage.scan``)."""
    from rag.scan import scan_pdf, text_layer

    pdf = read_pdf(data, config.max_pages_per_file)
    scanned = pdf.scanned()
    scans = {s.number: s for s in scan_pdf(data, digest, path.name, scanned, config, progress)} if scanned else {}
    scans |= {i: text_layer(data, digest, pdf, i, config) for i, text in enumerate(pdf.pages)
              if i not in scans and text.strip()}
    texts = [scans[i].text if i in scans else text for i, text in enumerate(pdf.pages)]
    pages = numbered(path, texts, digest, config, pdf.labels, [from_pdf(pdf.title)])
    for i, page in enumerate(pages):
        page.scan = scans.get(i)
    pages = [p for p in pages if p.text.strip()]
    if not pages:
        raise IngestError(f"{path}: no text in the PDF")
    return pages


def numbered(path: Path, texts: list[str], digest: str, config: Config, labels: Sequence[str | None] = (),
             more: Sequence[PageMeta] = (), split: bool = True) -> list[RawPage]:
    """A page per text of a file with several (``NAME#p1``…, unless not ``split``); page numbers count on from
    the metadata's, else the printed labels, else the position."""
    sources = [*file_metadata(path, config), *more]
    first = merge(sources).page
    pages = []
    for i, text in enumerate(texts):
        part = f"p{i + 1}"
        source = f"{path.name}#{part}" if split else path.name
        own = page_metadata(path, source)
        label = labels[i] if i < len(labels) else None
        number = own.page or (first + i if first is not None else int(label) if label and label.isdigit() else
                              None if not split else i + 1)
        known = merge([own, *sources])
        pages.append(RawPage(path, text, PageMeta(known.paper, known.date, number), digest, source,
                             sha256(f"{digest}#{part}".encode())[:16] if split else ""))
    return pages


def decode(data: bytes, path: Path) -> str:
    """Text of a file in UTF-8 (BOM or not), UTF-16 or a detected encoding such as GB18030; refuse binary.

    NUL characters (stray bytes of a bad export) are dropped: they are never kept in stored text.
    """
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return _checked(_strict(data, encoding, path), path)
    try:
        return _checked(data.decode("utf-8"), path)
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise IngestError(f"{path}: binary content or unknown text encoding")
    chinese = next((m for m in matches if m.encoding in GB and m.chaos <= best.chaos + CHAOS_MARGIN), None)
    return _checked(_strict(data, "gb18030" if chinese else best.encoding, path), path)


def _strict(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as err:
        raise IngestError(f"{path}: not valid {encoding} text ({err})") from err


def _checked(text: str, path: Path) -> str:
    """Refuse text that is mostly control characters (binary data that happened to decode); drop NULs."""
    sample = text[:100_000]
    control = sum(1 for c in sample if unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\n\r\t\f")
    if sample and control > CONTROL_SHARE * len(sample):
        raise IngestError(f"{path}: binary content, not text")
    return text.replace("\x00", "")


def read_page(path: Path, config: Config) -> RawPage:
    """The one page of a file (a text file, or a single-page PDF)."""
    pages = parse(path, read_bytes(path, config), config)
    if len(pages) != 1:
        raise IngestError(f"{path}: {len(pages)} pages; use parse() for multi-page PDFs")
    return pages[0]


def absolute(path: Path) -> str:
    """The path as stored in the index: absolute, symlinks kept (so a moved link target is not followed)."""
    return os.path.abspath(path)
