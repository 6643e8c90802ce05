"""The index, now in ``rag.store``; this import path stays for code written against it."""

from rag.store import SENTENCES, Index, IndexLoadError

__all__ = ["SENTENCES", "Index", "IndexLoadError"]
