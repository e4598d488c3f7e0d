"""SQL for feed builds: which articles a feed shows, what changed since the last build,
the state of every published feed, and WebSub notifications still to send.

A visible article is published and not dated in the future: ``status = 'published' AND
published_at <= now``. Times are compared as store text (``to_db``), which sorts like time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from publisher.models import Article, Tag
from publisher.store import Store, chunks
from publisher.store.articles import attach_tags
from publisher.store.sql import CHUNK, as_dicts, marks

# The newest visible articles of one tag. CROSS JOIN keeps article_tags (served by
# article_tags_tag) as the outer loop: left to itself, SQLite walks every published article
# by date and probes its tags, a thousand times slower for a small tag.
_TAG_ITEMS = (
    "SELECT a.id, a.fingerprint FROM article_tags at CROSS JOIN articles a ON a.id = at.article_id "
    "WHERE at.tag_id = ? AND a.status = 'published' AND a.published_at <= ? "
    "ORDER BY a.published_at DESC, a.id DESC LIMIT ?"
)
# Every visible article with its tags, newest first: articles_status_published gives the
# order, the primary key of article_tags the tags.
_ITEMS_NEWEST_FIRST = (
    "SELECT a.id, a.fingerprint, at.tag_id FROM articles a JOIN article_tags at ON at.article_id = a.id "
    "WHERE a.status = 'published' AND a.published_at <= ? ORDER BY a.published_at DESC, a.id DESC"
)
# The newest visible articles of the site, served by articles_status_published.
_SITE_ITEMS = (
    "SELECT id, fingerprint FROM articles WHERE status = 'published' AND published_at <= ? "
    "ORDER BY published_at DESC, id DESC LIMIT ?"
)


@dataclass(frozen=True)
class FeedRecord:
    """A feed as the last build published it."""

    name: str
    tag_id: int | None
    label: str  # the tag's name, or the site title
    digest: str
    items: int
    updated_at: str


# --- build state ------------------------------------------------------------------------------


def get_state(store: Store, key: str) -> str | None:
    row = store.conn.execute("SELECT value FROM feed_state WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_state(store: Store, key: str, value: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO feed_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def delete_state(store: Store, key: str) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM feed_state WHERE key = ?", (key,))


def published_feeds(store: Store) -> dict[str, FeedRecord]:
    rows = store.conn.execute("SELECT name, tag_id, label, digest, items, updated_at FROM feeds ORDER BY name")
    return {row[0]: FeedRecord(*row) for row in rows}


def save_feeds(store: Store, feeds: list[tuple[FeedRecord, list[int]]]) -> None:
    """Record published feeds and the articles each shows."""
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO feeds (name, tag_id, label, digest, items, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET tag_id = excluded.tag_id, label = excluded.label, "
            "digest = excluded.digest, items = excluded.items, updated_at = excluded.updated_at",
            [(r.name, r.tag_id, r.label, r.digest, r.items, r.updated_at) for r, _ in feeds],
        )
        conn.executemany("DELETE FROM feed_items WHERE feed = ?", [(record.name,) for record, _ in feeds])
        conn.executemany(
            "INSERT INTO feed_items (feed, article_id) VALUES (?, ?)",
            [(record.name, article_id) for record, article_ids in feeds for article_id in article_ids],
        )


def delete_feed(store: Store, name: str) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM feeds WHERE name = ?", (name,))  # feed_items cascade


# --- what changed -----------------------------------------------------------------------------


def change_log_end(store: Store) -> int:
    """Id of the newest change-log row (0 when the log is empty)."""
    return store.conn.execute("SELECT coalesce(max(id), 0) FROM feed_changes").fetchone()[0]


def changed_articles(store: Store, up_to: int) -> set[int]:
    """Ids of the articles inserted, updated or deleted since the log was last cleared."""
    return {id_ for (id_,) in store.conn.execute("SELECT article_id FROM feed_changes WHERE id <= ?", (up_to,))}


def clear_change_log(store: Store, up_to: int) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM feed_changes WHERE id <= ?", (up_to,))


def articles_dated_between(store: Store, after: str, until: str) -> set[int]:
    """Published articles whose date lies in (after, until]: they became visible (or, when the
    clock went back, stopped being visible) between two builds without being edited."""
    rows = store.conn.execute(
        "SELECT id FROM articles WHERE status = 'published' AND published_at > ? AND published_at <= ?",
        (after, until),
    )
    return {id_ for (id_,) in rows}


def feeds_showing(store: Store, article_ids: Iterable[int]) -> set[str]:
    """Names of the feeds that currently show any of these articles."""
    names: set[str] = set()
    for chunk in chunks(article_ids, CHUNK):
        rows = store.conn.execute(f"SELECT DISTINCT feed FROM feed_items WHERE article_id IN ({marks(chunk)})", chunk)
        names.update(name for (name,) in rows)
    return names


def visible_among(store: Store, article_ids: Iterable[int], now: str) -> set[int]:
    """Those of ``article_ids`` that are visible at ``now``."""
    visible: set[int] = set()
    for chunk in chunks(article_ids, CHUNK):
        rows = store.conn.execute(
            f"SELECT id FROM articles WHERE id IN ({marks(chunk)}) AND status = 'published' AND published_at <= ?",
            (*chunk, now),
        )
        visible.update(id_ for (id_,) in rows)
    return visible


def tags_of_articles(store: Store, article_ids: Iterable[int]) -> dict[int, Tag]:
    """The tags (by id) of these articles."""
    tags: dict[int, Tag] = {}
    for chunk in chunks(article_ids, CHUNK):
        rows = store.conn.execute(
            f"SELECT DISTINCT t.id, t.slug, t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id "
            f"WHERE at.article_id IN ({marks(chunk)})",
            chunk,
        )
        tags.update((id_, Tag(slug, name)) for id_, slug, name in rows)
    return tags


def tags_by_id(store: Store, tag_ids: Iterable[int] | None = None) -> dict[int, Tag]:
    """Tags by id: the given ones, or all of them."""
    if tag_ids is None:
        return {id_: Tag(slug, name) for id_, slug, name in store.conn.execute("SELECT id, slug, name FROM tags")}
    tags: dict[int, Tag] = {}
    for chunk in chunks(tag_ids, CHUNK):
        rows = store.conn.execute(f"SELECT id, slug, name FROM tags WHERE id IN ({marks(chunk)})", chunk)
        tags.update((id_, Tag(slug, name)) for id_, slug, name in rows)
    return tags


# --- feed contents ----------------------------------------------------------------------------


def site_items(store: Store, now: str, limit: int) -> list[tuple[int, str]]:
    """(id, fingerprint) of the site's newest visible articles, newest first."""
    return store.conn.execute(_SITE_ITEMS, (now, limit)).fetchall()


def tag_items(store: Store, tag_id: int, now: str, limit: int) -> list[tuple[int, str]]:
    """(id, fingerprint) of one tag's newest visible articles, newest first."""
    return store.conn.execute(_TAG_ITEMS, (tag_id, now, limit)).fetchall()


def tag_items_all(store: Store, now: str, limit: int) -> dict[int, list[tuple[int, str]]]:
    """``tag_items`` of every tag that has visible articles, in one pass.

    The visible articles are read newest first and dealt to their tags until every tag has
    ``limit``: for a large store that is a small part of it, where one query per tag would read
    every article of every tag. A tag still short after ``2 × limit × tags`` rows (a tag whose
    articles are all old) gets its own query.
    """
    lists: dict[int, list[tuple[int, str]]] = {tag_id: [] for (tag_id,) in store.conn.execute("SELECT id FROM tags")}
    short = len(lists)
    budget = 2 * limit * max(len(lists), 1)
    complete = True
    cursor = store.conn.execute(_ITEMS_NEWEST_FIRST, (now,))
    for seen, (article_id, fingerprint, tag_id) in enumerate(cursor, start=1):
        items = lists[tag_id]
        if len(items) < limit:
            items.append((article_id, fingerprint))
            short -= len(items) == limit
        if not short:
            break
        if seen >= budget:
            complete = False
            break
    cursor.close()
    if not complete:
        for tag_id, items in lists.items():
            if len(items) < limit:
                lists[tag_id] = tag_items(store, tag_id, now, limit)
    return {tag_id: items for tag_id, items in lists.items() if items}


def load_articles(store: Store, article_ids: Iterable[int]) -> list[Article]:
    """The articles with these ids, with their tags (in no particular order)."""
    articles: list[Article] = []
    for chunk in chunks(article_ids, CHUNK):
        cursor = store.conn.execute(f"SELECT * FROM articles WHERE id IN ({marks(chunk)})", chunk)
        articles += attach_tags(store, list(as_dicts(cursor)))
    return articles


# --- WebSub -----------------------------------------------------------------------------------


def queue_pings(store: Store, topic_urls: Iterable[str], now: str) -> None:
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO websub_pending (topic_url, queued_at) VALUES (?, ?) ON CONFLICT (topic_url) DO NOTHING",
            [(url, now) for url in topic_urls],
        )


def pending_pings(store: Store) -> list[str]:
    return [url for (url,) in store.conn.execute("SELECT topic_url FROM websub_pending ORDER BY topic_url")]


def pings_sent(store: Store, topic_urls: list[str]) -> None:
    with store.transaction() as conn:
        conn.executemany("DELETE FROM websub_pending WHERE topic_url = ?", [(url,) for url in topic_urls])


def pings_failed(store: Store, topic_urls: list[str], error: str) -> None:
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE websub_pending SET attempts = attempts + 1, last_error = ? WHERE topic_url = ?",
            [(error, url) for url in topic_urls],
        )


def forget_pings(store: Store) -> None:
    """Drop every pending notification (no hub is configured any more)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM websub_pending")
