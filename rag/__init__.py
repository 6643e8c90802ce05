"""PaperTrail: cited question answering over Chinese newspaper pages.

>>> import rag
>>> pt = rag.open_index()            # the default index (see rag.config.data_home), built from the samples if missing
>>> pt.ask("北京技术合同成交额增长了多少？").to_dict()
"""

from rag.config import Config
from rag.store import Index, IndexLoadError
from rag.lock import IndexBusyError
from rag.ingest import IngestReport, UnknownPage
from rag.load import IngestError
from rag.pipeline import PaperTrail
from rag.types import Answer, Chunk, Citation, Document, Hit, Page, PageMeta

open_index = PaperTrail.open

__all__ = ["Answer", "Chunk", "Citation", "Config", "Document", "Hit", "Index", "IndexBusyError", "IndexLoadError", "IngestError",
           "IngestReport", "Page", "PageMeta", "PaperTrail", "UnknownPage", "open_index"]
