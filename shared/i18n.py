"""Languages (French and English): each service's message catalogue, the language of the
request being served, the choice among the ones a browser or MCP client accepts (RFC 9110
section 12.5.4), dates and numbers as that language writes them (Babel, CLDR), and the
errors whose reason is said in the language of whoever reads it (MarkedError).

The source text is English; a service's French lives in ``<package>/locales/fr/LC_MESSAGES/
messages.po``. The catalogue is compiled in memory when the service starts (a few
milliseconds), not at install or build time: the ``.po`` in the repository is then the only
copy, so no stale ``.mo`` can be served after an edit, and a checkout, an editable install and
the image all run the same text with no build step to forget. Fuzzy entries are left out, as
gettext leaves them out."""

from __future__ import annotations

import datetime
import gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property, lru_cache
from io import BytesIO
from pathlib import Path

from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from shared.clock import PARIS
from shared.settings import SettingsError

SOURCE_LOCALE = "en"
LOCALES = ("fr", "en")
# What each language is called in itself, on the switch of every page.
NAMES = {"fr": "Français", "en": "English"}
# How a time reads in both languages: "1 déc. 2026, 19:58", "1 Dec 2026, 19:58" (24 hours).
TIME_PATTERN = "d MMM y, HH:mm"
# An Accept-Language longer than this is not read (its first entries are enough).
_MAX_ACCEPT_LANGUAGE = 1000

# The language of the request or tool call being served; set by each service's edge.
_active: ContextVar[str] = ContextVar("hospiai_locale", default=SOURCE_LOCALE)


def checked_locale(name: str, value: str) -> str:
    """A default language setting: one of LOCALES, else SettingsError naming ``name``."""
    if value not in LOCALES:
        raise SettingsError(f"{name} must be one of {', '.join(LOCALES)}, got {value!r}")
    return value


def negotiate(accept_language: str | None, default: str) -> str:
    """The language the client prefers among LOCALES (``fr-CA`` is French), else ``default``.
    Entries are ranked by their ``q`` weight, ``q=0`` meaning "not this one"; a malformed entry
    is skipped. Asked on every page and every MCP request, whose clients send the same few
    headers again and again: the answers are kept, for headers cut to _MAX_ACCEPT_LANGUAGE
    characters (so the cache stays small whatever a client sends)."""
    return _negotiated((accept_language or "")[:_MAX_ACCEPT_LANGUAGE], default)


@lru_cache(maxsize=256)
def _negotiated(accept_language: str, default: str) -> str:
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, parameters = item.strip().partition(";")
        weight = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        if tag.strip() and 0 < weight <= 1:
            ranked.append((-weight, position, tag.strip().lower()))
    preferred = [tag for _weight, _position, tag in sorted(ranked)]
    return negotiate_locale(preferred, LOCALES, sep="-") or default


def active_locale() -> str:
    return _active.get()


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Serve what runs inside in ``locale`` (one of LOCALES)."""
    token = _active.set(locale)
    try:
        yield
    finally:
        _active.reset(token)


class Catalogue:
    """One service's messages, translated into the active language."""

    def __init__(self, locales: Path) -> None:
        self.locales = locales

    @cached_property
    def _translations(self) -> dict[str, gettext.NullTranslations]:
        loaded: dict[str, gettext.NullTranslations] = {SOURCE_LOCALE: gettext.NullTranslations()}
        for locale in LOCALES:
            if locale == SOURCE_LOCALE:
                continue
            with (self.locales / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
                catalog = read_po(po, locale=locale)
            compiled = BytesIO()
            write_mo(compiled, catalog)
            compiled.seek(0)
            loaded[locale] = Translations(compiled)
        return loaded

    def load(self) -> None:
        """Read the catalogues now (at start-up), not on a first request."""
        _ = self._translations

    def gettext(self, message: str) -> str:
        """``message`` in the active language (what Jinja's i18n extension calls)."""
        return self._translations[active_locale()].gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form for ``n`` in the active language."""
        return self._translations[active_locale()].ngettext(singular, plural, n)

    def translate(self, message: str, **values: object) -> str:
        """``message`` in the active language, its ``%(name)s`` replaced by ``values`` (the
        ``_`` of Python code)."""
        text = self.gettext(message)
        return text % values if values else text

    def translate_plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The form for ``n``; its ``%(num)s`` is ``n`` as the active language writes it."""
        return self.ngettext(singular, plural, n) % {"num": show_number(n), **values}


def show_moment(moment: datetime.datetime, seconds: bool = False) -> str:
    """A moment as the hospital's users read it: Europe/Paris, in the active language;
    ``seconds`` for the audit log, where the order of events a few seconds apart matters."""
    pattern = TIME_PATTERN + ":ss" if seconds else TIME_PATTERN
    return format_datetime(moment.astimezone(PARIS), pattern, locale=active_locale())


def show_day(day: datetime.date, pattern: str = "d MMM") -> str:
    """A day in the active language ("1 déc." in French, "1 Dec" in English)."""
    return format_date(day, pattern, locale=active_locale())


def show_number(number: int | float) -> str:
    """A number in the active language ("1 234" in French, "1,234" in English)."""
    return format_decimal(number, locale=active_locale())


def mark(message: str) -> str:
    """``N_``: marks ``message`` for the catalogue; it is translated where it is shown."""
    return message


class MarkedError(Exception):
    """A refusal whose reason is safe to show, raised where the language is not known and said
    where it is: ``str()`` is the English, as the code says it (an OAuth error_description, the
    CLI), and ``reason`` says it in a page's language. ``message`` is marked for the catalogue
    (``N_``), ``what`` names the thing refused (a marked text too, translated before it is put
    in), and ``values`` are the request's own (a host, an email), shown as they are."""

    def __init__(self, message: str, *, what: str = "", **values: object) -> None:
        self.message, self.what, self.values = message, what, values
        # ``str`` translates nothing: the English.
        super().__init__(self.reason(str))

    def reason(self, translate: Callable[[str], str]) -> str:
        """The reason in the language of ``translate`` (a catalogue's gettext)."""
        values = {**self.values, "what": translate(self.what)} if self.what else self.values
        text = translate(self.message)
        return text % values if values else text
