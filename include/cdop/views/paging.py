"""Pages of a list: at most PAGE_SIZE rows a page, with the total for the pager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of rows and where it sits in the whole list."""

    rows: list[dict[str, Any]]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(page: int) -> int:
    return max(1, int(page))


def paginate(session: Session, query: Select, page: int, size: int, *,
             counted: Select | None = None, total: int | None = None) -> tuple[list, int]:
    """One page of `query` and how many rows it has in all. `counted`, if given, is a
    query with the same rows and fewer joins (the outer joins that only add columns):
    the total is taken from it, so counting does not look up every row's joined rows.
    `total`, if given, is the count the caller already has (nothing is counted)."""
    if total is None:
        total = count_rows(session, query if counted is None else counted)
    rows = session.execute(query.limit(size).offset(page_offset(page, size))).all()
    return rows, total


def count_rows(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def page_offset(page: int, size: int) -> int:
    """How many rows come before page `page`."""
    return (page_number(page) - 1) * size
