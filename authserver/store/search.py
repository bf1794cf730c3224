"""The admin console's text search, the same on SQLite and PostgreSQL: a column contains the
words typed, in any case, with % and _ matching only themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_


def contains_text(typed: str, *columns: Any) -> ColumnElement[bool]:
    """Whether any of ``columns`` contains ``typed``, lower-cased on both sides (PostgreSQL's
    LIKE is case-sensitive, SQLite's is not for ASCII only). A scan bounded by the page's
    LIMIT: a leading wildcard can use no B-tree index."""
    wanted = typed.lower()
    return or_(*(func.lower(column).contains(wanted, autoescape=True) for column in columns))
