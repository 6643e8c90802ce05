"""The paper and date filters of a question as a user sends them (web chat or HTTP API), checked."""

from __future__ import annotations

from typing import Any

from rag.metadata import iso_date


def filters(papers: list[str] | None, date_from: str | None, date_to: str | None) -> dict[str, Any]:
    """``PaperTrail.ask`` keyword filters; dates become ISO days (2026-04-02, 2026年4月2日, 20260402 …).

    Raises ``ValueError``, with a message for the user, for a value that is not a date or an inverted range.
    """
    days = []
    for typed in (date_from, date_to):
        day = iso_date(typed) if typed else None
        if typed and not day:
            raise ValueError(f"{typed!r} is not a date like 2026-04-02.")
        days.append(day)
    if days[0] and days[1] and days[0] > days[1]:
        raise ValueError(f"The date range is empty: {days[0]} is after {days[1]}.")
    return {"papers": list(papers) if papers else None, "date_from": days[0], "date_to": days[1]}
