"""Stable ASCII slugs for tag names: "actualité emploi-formation" → "actualite-emploi-formation"."""

import re
import unicodedata

# Letters that Unicode decomposition does not reduce to ASCII.
_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "đ": "d", "ł": "l", "Ł": "L"}
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """Lower-case ASCII words joined by hyphens; apostrophes and punctuation separate words."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
    unaccented = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return _NOT_ALNUM.sub("-", unaccented).strip("-")
