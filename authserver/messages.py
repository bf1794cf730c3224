"""The authorization server's text for people, in French and English (shared.i18n): ``_`` in
Python code, ``N_`` to mark a constant that is translated where it is shown (``_(CONSTANT)``).
OAuth errors (``error_description``) stay English: developers read them, not patients."""

from __future__ import annotations

from pathlib import Path

from shared.i18n import Catalogue, mark

# The package's own data, like its templates: the same for every app built in this process.
CATALOGUE = Catalogue(Path(__file__).parent / "locales")

# ``_("Hello %(name)s", name=...)``: in the language being served.
_ = CATALOGUE.translate
ngettext = CATALOGUE.translate_plural
N_ = mark

