"""The product's own words, written correctly: counts by Babel's plural rules and « de »/« d’ »
before a name.

The rules of the product's own French text (tests/test_french.py checks every template and
every French string of publisher/):

- the apostrophe is the typographic one, ’ (U+2019), never the straight ';
- a narrow no-break space (U+202F) goes before « : ; ! ? » and », and after «: a line never
  starts with them;
- counts agree with their number by the CLDR rules of the language: in French 0 and 1 are
  singular (« 0 envoi », « 1 envoi », « 2 envois »), in English only 1 is ("1 edition");
- « de » before a name becomes « d’ » before a vowel or an h (« d’Horizons Emploi-Formation »):
  ``[site] name_elides`` overrides it for a name that does not elide (an aspirated h, « de
  Hauts-de-France ») or that does.

Articles' titles and summaries are their authors' text: these rules never change them.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale, UnknownLocaleError

APOSTROPHE = "\u2019"
NARROW_NBSP = "\u202f"
_ELIDING = frozenset("aeiouyh")


@lru_cache(maxsize=8)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("fr")


def plural(count: int, one: str, other: str, language: str = "fr") -> str:
    """``one`` or ``other`` for ``count``, by the CLDR plural rule of ``language``."""
    return one if _locale(language).plural_form(abs(count)) == "one" else other


def count_of(count: int, one: str, other: str, language: str = "fr") -> str:
    """« 1 envoi », « 305 envois »; in English "1 edition", "0 editions"."""
    return f"{count} {plural(count, one, other, language)}"


def elides(name: str) -> bool:
    """Whether « de » becomes « d’ » before ``name``: its first letter, accents aside, is a
    vowel, y or h (an h taken as mute)."""
    first = unicodedata.normalize("NFD", name.strip()[:1].lower())[:1]
    return first in _ELIDING


def of(name: str, name_elides: bool | None = None) -> str:
    """« de Tours Métropole », « d’Horizons Emploi-Formation »: « de » before ``name``, elided as
    :func:`elides` says unless ``name_elides`` (``[site] name_elides``) is set."""
    elided = elides(name) if name_elides is None else name_elides
    return f"d{APOSTROPHE}{name}" if elided else f"de {name}"
