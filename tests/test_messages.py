"""The French catalogues are complete: every text a person reads (templates, Python messages,
the scope catalogue) has a French translation that is neither empty nor fuzzy, no entry is left
that the code no longer uses, placeholders match, and the French follows its typography (a
non-breaking space before ':', a narrow one before '?', '!' and ';'). ``make messages`` updates
the catalogues; this test extracts as it does (same sources, same babel.cfg)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
# As in the Makefile's `messages` target.
SOURCES = {"authserver": ["authserver", "shared/scopes.py"], "mcpserver": ["mcpserver"]}
# A regular space before high punctuation: French wants a non-breaking one.
_LOOSE_PUNCTUATION = re.compile(r" [:;?!]|« | »")


def _extracted(package: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    template = folder / f"{package}.pot"
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run([  # type: ignore[no-untyped-call]
        "pybabel", "-q", "extract", "-F", "babel.cfg", "--no-location", "-o", str(template),
        *SOURCES[package],
    ])
    with template.open("rb") as file:
        return read_po(file)


def _french(package: str) -> Catalog:
    with (ROOT / package / "locales" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale="fr")


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _texts(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string or ())


@pytest.mark.parametrize("package", sorted(SOURCES))
def test_every_text_has_a_french_translation(
    package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracted, french = _extracted(package, tmp_path, monkeypatch), _french(package)
    assert len(extracted) > 10  # the extraction found the texts at all
    used = {_key(message) for message in extracted if message.id}
    translated = {_key(message): message for message in french if message.id}
    untranslated = sorted(
        key for key in used
        if key not in translated or translated[key].fuzzy
        or not all(text.strip() for text in _texts(translated[key]))
    )
    assert not untranslated, f"make messages, then translate in {package}/locales: {untranslated}"
    obsolete = sorted(set(translated) - used) + sorted(_key(m) for m in french.obsolete.values())
    assert not obsolete, f"no longer used (make messages removes them): {obsolete}"


@pytest.mark.parametrize("package", sorted(SOURCES))
def test_translations_keep_placeholders_and_french_typography(package: str) -> None:
    french = _french(package)
    problems = [(message.id, [str(e) for e in errors]) for message, errors in french.check()]
    assert not problems
    loose = [text for message in french if message.id for text in _texts(message)
             if _LOOSE_PUNCTUATION.search(text)]
    assert not loose, "use U+00A0 before ':' and inside « », U+202F before ';', '?' and '!'"
