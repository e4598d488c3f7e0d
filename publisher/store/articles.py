"""SQL for articles and tags (with the tags offered in forms)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from publisher.clock import from_db, to_db
from publisher.models import Article, Tag
from publisher.store import Store, chunks
from publisher.store.sql import CHUNK, as_dicts, marks


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


_COLUMNS = (
    "guid",
    "url",
    "title",
    "summary",
    "content_html",
    "author",
    "image_url",
    "language",
    "status",
    "published_at",
    "updated_at",
    "fingerprint",
)


def article_row(article: Article) -> tuple:
    """The articles row for _COLUMNS; its fingerprint digests every other value and the tags,
    so an identical re-import is detected without reading the stored article."""
    values = (
        article.guid,
        article.url,
        article.title,
        article.summary,
        article.content_html,
        article.author,
        article.image_url,
        article.language,
        article.status,
        to_db(article.published_at),
        to_db(article.updated_at),
    )
    parts = [value or "" for value in values] + [f"{tag.slug}\x1e{tag.name}" for tag in article.tags]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return (*values, digest)


class TagCache:
    """slug → id for the tags of one import; creates missing tags on first sight."""

    def __init__(self, store: Store) -> None:
        self.conn = store.conn
        self.ids = dict(self.conn.execute("SELECT slug, id FROM tags"))

    def id_of(self, tag: Tag) -> int:
        if tag.slug not in self.ids:
            cursor = self.conn.execute("INSERT INTO tags (slug, name) VALUES (?, ?)", (tag.slug, tag.name))
            self.ids[tag.slug] = cursor.lastrowid
        return self.ids[tag.slug]


def upsert_articles(store: Store, articles: Iterable[Article]) -> UpsertCounts:
    """Insert new articles, update changed ones, leave identical ones untouched.

    Keyed by guid; runs in one transaction, so an interrupted import writes nothing.
    """
    counts = UpsertCounts()
    now = to_db(store.clock.now())
    with store.transaction() as conn:
        tags = TagCache(store)
        for chunk in chunks(articles, CHUNK):
            by_guid = {article.guid: article for article in chunk}  # a later duplicate wins
            known = dict(
                (guid, (article_id, digest))
                for guid, article_id, digest in conn.execute(
                    f"SELECT guid, id, fingerprint FROM articles WHERE guid IN ({marks(by_guid)})", list(by_guid)
                )
            )
            new, changed = [], {}
            for guid, article in by_guid.items():
                row = article_row(article)
                if guid not in known:
                    new.append(row)
                elif known[guid][1] != row[-1]:
                    changed[guid] = (*row[1:], now, known[guid][0])
                else:
                    counts.unchanged += 1
            conn.executemany(
                f"INSERT INTO articles ({', '.join(_COLUMNS)}, created_at, changed_at) "
                f"VALUES ({marks(_COLUMNS)}, ?, ?)",
                [(*row, now, now) for row in new],
            )
            conn.executemany(
                f"UPDATE articles SET {', '.join(f'{c} = ?' for c in _COLUMNS[1:])}, changed_at = ? WHERE id = ?",
                changed.values(),
            )
            written = [row[0] for row in new] + list(changed)
            if not written:
                continue
            ids = dict(conn.execute(f"SELECT guid, id FROM articles WHERE guid IN ({marks(written)})", written))
            conn.executemany("DELETE FROM article_tags WHERE article_id = ?", [(ids[g],) for g in changed])
            conn.executemany(
                "INSERT INTO article_tags (article_id, tag_id, position) VALUES (?, ?, ?)",
                [
                    (ids[guid], tags.id_of(tag), position)
                    for guid in written
                    for position, tag in enumerate(by_guid[guid].tags)
                ],
            )
            counts.inserted += len(new)
            counts.updated += len(changed)
    return counts


def count_articles(store: Store) -> int:
    return store.conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def count_articles_not_among(store: Store, urls: list[str]) -> int:
    """How many stored articles have none of these URLs."""
    sql = f"SELECT count(*) FROM articles WHERE url NOT IN ({marks(urls)})"
    return store.conn.execute(sql, urls).fetchone()[0]


def list_articles(store: Store, tag_slug: str | None = None, limit: int = 20) -> list[Article]:
    """The newest published articles, optionally of one tag, with their tags."""
    if tag_slug is None:
        rows = store.conn.execute(
            "SELECT * FROM articles WHERE status = 'published' ORDER BY published_at DESC, id DESC LIMIT ?",
            (limit,),
        )
    else:
        rows = store.conn.execute(
            "SELECT a.* FROM articles a JOIN article_tags at ON at.article_id = a.id "
            "JOIN tags t ON t.id = at.tag_id WHERE t.slug = ? AND a.status = 'published' "
            "ORDER BY a.published_at DESC, a.id DESC LIMIT ?",
            (tag_slug, limit),
        )
    return attach_tags(store, list(as_dicts(rows)))


def find_tag(store: Store, slug: str) -> Tag | None:
    row = store.conn.execute("SELECT slug, name FROM tags WHERE slug = ?", (slug,)).fetchone()
    return Tag(*row) if row else None


@dataclass(frozen=True)
class TagChoice:
    id: int
    slug: str
    name: str
    articles: int


def tag_choices(store: Store) -> list[TagChoice]:
    """Every tag with its number of published articles (served by article_tags_tag)."""
    rows = store.conn.execute(
        "SELECT tags.id, tags.slug, tags.name, "
        "(SELECT count(*) FROM article_tags JOIN articles ON articles.id = article_tags.article_id "
        " WHERE article_tags.tag_id = tags.id AND articles.status = 'published') "
        "FROM tags"
    )
    return [TagChoice(*row) for row in rows]


def attach_tags(store: Store, rows: list[dict]) -> list[Article]:
    """Article objects for article rows, with their tags in the order they were given."""
    tags_by_article: dict[int, list[Tag]] = {row["id"]: [] for row in rows}
    for chunk in chunks(tags_by_article, CHUNK):
        for article_id, slug, name in store.conn.execute(
            f"SELECT at.article_id, t.slug, t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id "
            f"WHERE at.article_id IN ({marks(chunk)}) ORDER BY at.article_id, at.position",
            chunk,
        ):
            tags_by_article[article_id].append(Tag(slug, name))
    return [_article(row, tuple(tags_by_article[row["id"]])) for row in rows]


def _article(row: dict, tags: tuple[Tag, ...]) -> Article:
    return Article(
        id=row["id"],
        guid=row["guid"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        content_html=row["content_html"],
        author=row["author"],
        image_url=row["image_url"],
        language=row["language"],
        status=row["status"],
        published_at=from_db(row["published_at"]),
        updated_at=from_db(row["updated_at"]),
        tags=tags,
    )
