"""The one article factory of the tests, and the one way to store articles."""

from __future__ import annotations

from datetime import datetime, timedelta

from publisher.models import Article, Tag
from publisher.store import Store
from publisher.store.articles import upsert_articles

SITE = "https://www.horizons-emploi.example.org"


def make_article(number: int, tags: tuple[str, ...] = (), published: datetime | None = None, **fields) -> Article:
    """A small published article of the demo site, its guid and url made from ``number``;
    ``published`` defaults to ``number`` hours after 2026-01-01 08:00 UTC; ``fields`` override."""
    published = published or datetime.fromisoformat("2026-01-01T08:00:00+00:00") + timedelta(hours=number)
    values = {
        "guid": f"{SITE}/actualites/{number}",
        "url": f"{SITE}/actualites/{number}",
        "title": f"Article n° {number} : « l'emploi » à Orléans",
        "published_at": published,
        "updated_at": published,
        "language": "fr",
        "summary": f"Résumé de l'article {number}.",
        "content_html": f"<p>Contenu de l'article <strong>{number}</strong>.</p>",
        "author": "Claire Lefèvre",
        "tags": tuple(Tag.from_name(name) for name in tags),
    }
    return Article(**(values | fields))


def store_articles(store: Store, *articles: Article) -> dict[str, int]:
    """Insert or update the articles; return guid → id of every stored article."""
    upsert_articles(store, list(articles))
    return dict(store.conn.execute("SELECT guid, id FROM articles"))
