"""Small helpers shared by the subscriber tests: tags in the store and CSV files."""

from __future__ import annotations

from pathlib import Path

from publisher.models import Tag
from publisher.store import Store

TAG_NAMES = ("apprentissage", "bassin d'emploi", "VAE", "jeunes", "travaux publics", "égalité femmes-hommes")
HEADER = "email,name,locale,interests,status,consent_source,consent_at,bassin,role"


def add_tags(store: Store, names: tuple[str, ...] = TAG_NAMES) -> dict[str, int]:
    """Create tags as an article import would; return slug → id."""
    with store.transaction() as conn:
        for name in names:
            tag = Tag.from_name(name)
            conn.execute("INSERT OR IGNORE INTO tags (slug, name) VALUES (?, ?)", (tag.slug, tag.name))
    return dict(store.conn.execute("SELECT slug, id FROM tags"))


def write_csv(path: Path, *lines: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path
