"""The paper, date and page filters of a question as a user sends them (web chat or HTTP API), checked."""

from __future__ import annotations

from typing import Any

from rag.metadata import MAX_PAGE, iso_date
from ui.i18n import Refusal


def page_of(typed: str | int | None) -> int | None:
    """A page number as chosen in the chat (a string) or sent to the API; ``Refusal`` for one that is not."""
    if typed is None or typed == "":
        return None
    if isinstance(typed, int) or str(typed).strip().isdigit():
        return int(typed)
    raise Refusal("not_a_page", typed=typed)


def filters(papers: list[str] | None, date_from: str | None, date_to: str | None,
            page: int | None = None) -> dict[str, Any]:
    """``PaperTrail.ask`` keyword filters; dates become ISO days (2026-04-02, 2026年4月2日, 20260402 …).

    Raises ``Refusal`` (a ``ValueError``), with a message for the user, for a value that is not a date, an
    inverted range or a page number below 1.
    """
    if page is not None and not 1 <= page <= MAX_PAGE:
        raise Refusal("not_a_page", typed=page)
    days = []
    for typed in (date_from, date_to):
        day = iso_date(typed) if typed else None
        if typed and not day:
            raise Refusal("not_a_date", typed=typed)
        days.append(day)
    if days[0] and days[1] and days[0] > days[1]:
        raise Refusal("empty_range", start=days[0], end=days[1])
    return {"papers": list(papers) if papers else None, "date_from": days[0], "date_to": days[1], "page": page}
