"""The closest spelling of a name someone typed, among the names that exist (the one module that
uses difflib).

Names are compared folded: without accents, case or punctuation, so « Orleans » finds « Orléans »
and « APRENTISSAGE » finds « apprentissage »; the suggestion is given as it is stored.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

# How alike (difflib's ratio, 0 to 1) a name must be to be suggested: one or two letters off in a word.
CUTOFF = 0.75
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(name: str) -> str:
    """``name`` without accents, case or punctuation: « Bassin d'Emploi » → « bassin d emploi »."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return _NOT_ALNUM.sub(" ", bare).strip() or bare


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name`` once folded, or None when none is close."""
    by_fold: dict[str, str] = {}
    for candidate in known:
        by_fold.setdefault(fold(candidate), candidate)
    found = difflib.get_close_matches(fold(name), by_fold, n=1, cutoff=CUTOFF)
    return by_fold[found[0]] if found else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` — did you mean 'x'?`` for the closest known name, or "" when none is close."""
    suggestion = closest(name, known)
    return f" — did you mean {suggestion!r}?" if suggestion is not None else ""
