"""Stable ASCII slugs for tag names: "actualité emploi-formation" → "actualite-emploi-formation"."""

import hashlib
import re
import unicodedata

# Letters that Unicode decomposition does not reduce to ASCII.
_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "đ": "d", "ł": "l", "Ł": "L"}
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# A slug names files (tags/<slug>.rss.xml) and URLs; migration 0008 caps the stored ones alike.
MAX_SLUG_LENGTH = 80
_HASH_LENGTH = 8


def slugify(name: str) -> str:
    """Lower-case ASCII words joined by hyphens; apostrophes and punctuation separate words."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
    unaccented = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return cap_slug(_NOT_ALNUM.sub("-", unaccented).strip("-"))


def cap_slug(slug: str) -> str:
    """The slug, or for one longer than MAX_SLUG_LENGTH its start and a short hash of the whole,
    so that long names that differ only at the end keep different slugs."""
    if len(slug) <= MAX_SLUG_LENGTH:
        return slug
    digest = hashlib.sha256(slug.encode()).hexdigest()[:_HASH_LENGTH]
    return slug[: MAX_SLUG_LENGTH - _HASH_LENGTH - 1].rstrip("-") + "-" + digest
