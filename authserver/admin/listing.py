"""The admin lists' paging and search: one reading of `page` and `q`, bounded, and the links to
the pages beside. No value reaches the database unbounded; a search too long is a clear error
page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request

from authserver.messages import _
from authserver.web.pages import PageError, whole_number
from shared.i18n import show_number

PAGE_SIZE = 50
# Deep enough for every list a hospital has (500 000 rows), shallow enough that the OFFSET of
# the last page stays a short index walk.
MAX_PAGE = 10_000
# Long enough for a client id, which may be the URL of its metadata document.
MAX_QUERY = 200

Row = TypeVar("Row")


@dataclass(frozen=True)
class Listing:
    path: str
    page: int
    q: str
    # Other query fields of the list (a client id, a filter), kept in its links.
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def limit(self) -> int:
        """One more than a page: whether there is a next one."""
        return PAGE_SIZE + 1

    def link(self, page: int) -> str:
        values = [(name, value) for name, value in (("q", self.q), *self.fields) if value]
        return f"{self.path}?{urlencode([*values, ('page', str(page))])}"

    def rows(self, found: Sequence[Row]) -> Page[Row]:
        following = self.link(self.page + 1) if len(found) > PAGE_SIZE else None
        previous = self.link(self.page - 1) if self.page > 1 else None
        return Page(list(found[:PAGE_SIZE]), self.page, previous, following, self.link(1))


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    number: int
    previous: str | None
    following: str | None
    first: str


def search_text(request: Request, name: str = "q") -> str:
    """A search box's text, trimmed; longer than MAX_QUERY is refused, not cut unseen."""
    typed = (request.query_params.get(name) or "").strip()
    if len(typed) > MAX_QUERY:
        raise PageError(
            _("This search is too long"),
            _("Search for at most %(num)s characters.", num=show_number(MAX_QUERY)),
            link=(request.url.path, _("Start again")),
        )
    return typed


def listing(request: Request, *fields: str) -> Listing:
    """The page of a list that the query asks for, ``q`` and ``fields`` as typed. ``page``
    is read as a page, never refused: one that is not a number is the first, one beyond
    MAX_PAGE the last (its page says there is nothing on it, with a link to the first)."""
    page = max(1, min(whole_number(request.query_params.get("page")) or 1, MAX_PAGE))
    kept = tuple((name, search_text(request, name)) for name in fields)
    return Listing(request.url.path, page, search_text(request), kept)
