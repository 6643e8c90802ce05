"""The filterable fields of a store's rows (chunk id, paper, date, page) as columns, so that a ``Filters`` is one
vectorised mask rather than a Python predicate per chunk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.types import Filters, PageMeta

UNKNOWN_PAGE = -1


@dataclass(frozen=True, eq=False)
class Payload:
    """Row ``i`` of a store is chunk ``ids[i]`` with its paper, ISO date and page (``""``/``-1``: unknown).

    Rows are kept in ascending id order (ids only grow, deletions keep the order), so a row is found by bisection.
    Every change returns a new ``Payload``: a published index is never changed.
    """

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    papers: np.ndarray = field(default_factory=lambda: np.zeros(0, "U1"))
    dates: np.ndarray = field(default_factory=lambda: np.zeros(0, "U1"))
    pages: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def of(cls, ids: Sequence[int], metas: Sequence[PageMeta]) -> Payload:
        if len(ids) != len(metas):
            raise ValueError("one PageMeta per id")
        return cls(np.asarray(ids, np.int64).reshape(-1), np.array([m.paper or "" for m in metas], str),
                   np.array([m.date or "" for m in metas], str), np.array([_page(m) for m in metas], np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def extend(self, other: Payload) -> Payload:
        """These rows, then ``other``'s (whose ids must all be larger)."""
        check_growing(self.ids, other.ids)
        return Payload(*(np.concatenate([a, b]) for a, b in zip(self.columns(), other.columns())))

    def without(self, ids: Iterable[int]) -> Payload:
        """The rows whose ids are not in ``ids``."""
        keep = ~np.isin(self.ids, np.fromiter(ids, np.int64))
        return Payload(*(c[keep] for c in self.columns()))

    def with_meta(self, ids: Iterable[int], meta: PageMeta) -> Payload:
        """The rows of ``ids`` given ``meta``."""
        rows = self.rows(np.fromiter(ids, np.int64))
        return Payload(self.ids, _put(self.papers, rows, meta.paper or ""), _put(self.dates, rows, meta.date or ""),
                       _put(self.pages, rows, _page(meta)))

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The row of each id (``KeyError`` for an id not here)."""
        rows = np.searchsorted(self.ids, ids)
        if len(ids) and (rows.max() >= len(self.ids) or not np.array_equal(self.ids[rows], ids)):
            raise KeyError(f"unknown chunk ids {sorted(set(ids.tolist()) - set(self.ids.tolist()))[:5]}")
        return rows

    def mask(self, filters: Filters | None) -> np.ndarray:
        """Which rows pass ``filters`` (all when ``None`` or inactive)."""
        keep = np.ones(len(self), bool)
        if filters is None:
            return keep
        if filters.papers:
            keep &= np.isin(self.papers, [p for p in filters.papers if p])
        if filters.date_from or filters.date_to:
            keep &= self.dates != ""
        if filters.date_from:
            keep &= self.dates >= filters.date_from
        if filters.date_to:
            keep &= self.dates <= filters.date_to
        if filters.page is not None:
            keep &= self.pages == filters.page
        return keep

    def columns(self) -> tuple[np.ndarray, ...]:
        return self.ids, self.papers, self.dates, self.pages


def check_growing(held: np.ndarray, ids: np.ndarray) -> None:
    """``ValueError`` unless ``ids`` are distinct and all larger than every id ``held`` (ascending)."""
    if len(held) and len(ids) and ids.min() <= held[-1]:
        raise ValueError(f"ids must grow: {int(ids.min())} after {int(held[-1])}")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("duplicate ids")


def _page(meta: PageMeta) -> int:
    return UNKNOWN_PAGE if meta.page is None else meta.page


def _put(column: np.ndarray, rows: np.ndarray, value: str | int) -> np.ndarray:
    """A copy of ``column`` with ``value`` at ``rows``, widened so that a longer string is not cut."""
    out = column.astype(np.result_type(column, np.array(value)))
    out[rows] = value
    return out
