"""Read page files and what is known of their paper, date and page."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.config import Config
from rag.types import PageMeta

SUFFIXES = {".txt", ".md"}
MANIFEST = "metadata.json"
SIDECAR = ".meta.json"


class IngestError(Exception):
    """A file that cannot be ingested; the message names the file and the reason."""


@dataclass
class RawPage:
    """A file's decoded text and metadata, before cleaning."""

    path: Path
    text: str
    meta: PageMeta
    sha256: str


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Page files under the given files or folders, sorted, manifests excluded."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES
                         and not p.name.endswith(SIDECAR))
        elif path.exists():
            found.append(path)
        else:
            raise IngestError(f"{path}: no such file or folder")
    return found


def read_page(path: Path, config: Config) -> RawPage:
    """Decode one page file and attach its metadata."""
    if path.suffix.lower() not in SUFFIXES:
        raise IngestError(f"{path.name}: unsupported file type {path.suffix or '(none)'}; use .txt or .md")
    try:
        size = path.stat().st_size
        if size > config.max_file_bytes:
            raise IngestError(f"{path.name}: {size} bytes is over the {config.max_file_bytes}-byte limit")
        data = path.read_bytes()
    except OSError as err:
        raise IngestError(f"{path.name}: cannot read ({err.strerror})") from err
    text = decode(data, path.name)
    if not text.strip():
        raise IngestError(f"{path.name}: empty file")
    return RawPage(path, text, metadata_for(path), hashlib.sha256(data).hexdigest())


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030; refuse binary content."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{name}: binary content, not text")
    for encoding in ("utf-8-sig", "utf-16", "gb18030"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(f"{name}: unknown text encoding")


def metadata_for(path: Path) -> PageMeta:
    """Metadata from a ``NAME.meta.json`` sidecar, else ``metadata.json`` beside the file, else unknown."""
    sidecar = path.with_name(path.name + SIDECAR)
    entry = _read_manifest(sidecar) if sidecar.is_file() else _read_manifest(path.parent / MANIFEST).get(path.name, {})
    page = entry.get("page")
    return PageMeta(paper=entry.get("paper"), date=entry.get("date"), page=int(page) if page is not None else None)


def _read_manifest(manifest: Path) -> dict[str, dict]:
    if not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise IngestError(f"{manifest}: invalid metadata manifest ({err})") from err
    if not isinstance(data, dict):
        raise IngestError(f"{manifest}: metadata manifest must map file names to {{paper, date, page}}")
    return data


def iter_pages(paths: Iterable[Path], config: Config) -> Iterator[RawPage | IngestError]:
    """Each page file under ``paths``, or the error that stopped it (bad files never stop the run)."""
    for path in find_files(paths):
        try:
            yield read_page(path, config)
        except IngestError as err:
            yield err
