"""Small builders shared by the digest tests: articles, subscribers, members."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from publisher.app import App
from publisher.clock import Clock
from publisher.models import Article, Recipient
from publisher.store import Store
from support.apps import app_for
from support.articles import SITE, make_article, store_articles

LONG_SUMMARY = (
    "Avec une hausse de 1,8 % des effectifs salariés sur un an, le bassin tourangeau confirme son avance, "
    "portée par les services aux entreprises, la santé et la logistique le long de l'A10 ; les employeurs "
    "« peinent à recruter » des profils qualifiés, notamment en maintenance industrielle."
)


def digest_article(number: int, published: datetime, tags: tuple[str, ...] = ("apprentissage",), **fields) -> Article:
    """The factory's article as the digest tests want it: a long summary, no content, an image
    on odd numbers."""
    values = {
        "title": f"Article {number} : l'apprentissage « en tension » à Orléans",
        "summary": LONG_SUMMARY,
        "content_html": "",
        "image_url": f"{SITE}/medias/{number}.jpg" if number % 2 else None,
    }
    return make_article(number, tags, published, **(values | fields))


def week_of_articles(store: Store, now: datetime, count: int = 10) -> dict[str, int]:
    """``count`` articles published over the last days, alternating tags, half with images."""
    tags = [("apprentissage", "jeunes"), ("bassin d'emploi",), ("travaux publics", "métiers en tension")]
    return store_articles(
        store, *(digest_article(n, now - timedelta(hours=6 + 11 * n), tags[n % len(tags)]) for n in range(1, count + 1))
    )


def tag_id(store: Store, slug: str) -> int:
    return store.conn.execute("SELECT id FROM tags WHERE slug = ?", (slug,)).fetchone()[0]


def add_subscriber(store: Store, email: str, name: str = "", interests: tuple[str, ...] = ()) -> Recipient:
    now = "2026-01-01T00:00:00Z"
    with store.transaction() as conn:
        subscriber_id = conn.execute(
            "INSERT INTO subscribers (email, name, created_at, updated_at) VALUES (?, ?, ?, ?)", (email, name, now, now)
        ).lastrowid
        conn.executemany(
            "INSERT INTO subscriber_interests (subscriber_id, tag_id) VALUES (?, ?)",
            [(subscriber_id, tag_id(store, slug)) for slug in interests],
        )
    return Recipient(subscriber_id, email, name, "fr", tuple(sorted(tag_id(store, slug) for slug in interests)))


def members(count: int, interests: tuple[int, ...] = (), start: int = 1) -> list[Recipient]:
    return [
        Recipient(subscriber_id=n, email=f"abonne{n}@example.org", name=f"Abonné {n}", interests=interests)
        for n in range(start, start + count)
    ]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@contextmanager
def app_with(config_file: Path, clock: Clock) -> Iterator[App]:
    """An App on config_file as it is now (after a test edited it), with a migrated store."""
    app = app_for(config_file, clock, migrate=True)
    try:
        yield app
    finally:
        app.close()
