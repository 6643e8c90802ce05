"""Storage: the collection of documents and chunks, the stores keyed by stable chunk id, and versions on disk.

``Index`` (``rag.store.index``) joins them; ``VectorStore`` (``rag.store.vectors``) is the seam a dense backend
implements, ``FaissStore`` the embedded default (its FAISS index chosen by size: ``Layout``), ``QdrantStore`` the
Qdrant one (``qdrant-client`` imported only when used). BM25 is ``LexicalStore`` in the process, or
``QdrantLexicalStore`` as sparse vectors beside Qdrant's dense ones (``SparseStore``, either). Filters are
``rag.types.Filters``, pushed down by every store.
"""

from rag.store.collection import Collection
from rag.store.disk import file_sha256
from rag.store.faiss_store import FaissStore, Layout
from rag.store.index import FORMAT, READABLE, Index, SparseStore
from rag.store.lexical import LexicalQuery, LexicalStore
from rag.store.qdrant_lexical import QdrantLexicalStore
from rag.store.qdrant_store import QdrantStore
from rag.store.sentences import FILE as SENTENCES
from rag.store.sentences import SentenceStore
from rag.store.vectors import Scored, VectorStore
from rag.versions import IndexLoadError

__all__ = ["FORMAT", "READABLE", "SENTENCES", "Collection", "FaissStore", "Index", "IndexLoadError", "Layout",
           "LexicalQuery", "LexicalStore", "QdrantLexicalStore", "QdrantStore", "Scored", "SentenceStore", "SparseStore",
           "VectorStore", "file_sha256"]
