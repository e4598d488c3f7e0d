"""SQL for digest planning: audience watermarks, new articles, plans and edition contents.

An audience is one newsletter sent to one segment. Its watermark is the newest
``published_at`` considered by its last successful plan; an article already in one of its
editions that did not fail never goes to it again, whatever later edits do to its dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.models import Article, Recipient
from publisher.store import Store, chunks
from publisher.store.articles import attach_tags
from publisher.store.sql import CHUNK, as_dicts, marks

PLANNED = "planned"
NOTHING_NEW = "nothing-new"
NO_RECIPIENTS = "no-recipients"


@dataclass(frozen=True)
class DigestPlan:
    """One planning of a newsletter for a segment (a row of ``digest_plans``)."""

    id: int
    newsletter: str
    segment: str
    planned_at: datetime
    status: str
    watermark: datetime | None
    candidate_count: int
    edition_count: int
    recipient_count: int


def audience_watermark(store: Store, newsletter: str, segment: str) -> datetime | None:
    """The newest ``published_at`` already considered for this audience, or None before its first plan.

    A plan counts while at least one of its editions has not failed (or when it found new
    articles but nobody to send them to); marking every edition of a plan 'failed' hands its
    articles back to the next plan.
    """
    (watermark,) = store.conn.execute(
        "SELECT max(p.watermark) FROM digest_plans p "
        "WHERE p.newsletter = ? AND p.segment = ? AND p.watermark IS NOT NULL AND (p.status = ? OR EXISTS "
        "(SELECT 1 FROM editions e WHERE e.plan_id = p.id AND e.status != 'failed'))",
        (newsletter, segment, NO_RECIPIENTS),
    ).fetchone()
    return from_db(watermark) if watermark else None


def new_articles(
    store: Store,
    newsletter: str,
    segment: str,
    since: datetime | None,
    until: datetime,
    tag_slugs: list[str] | None = None,
    limit: int = 500,
) -> list[Article]:
    """Published articles with ``since < published_at <= until``, newest first, that this
    audience never received; with ``tag_slugs``, only articles with one of those tags."""
    received = (
        "SELECT 1 FROM edition_articles ea JOIN editions e ON e.id = ea.edition_id "
        "WHERE ea.article_id = a.id AND e.newsletter = ? AND e.segment = ? AND e.status != 'failed'"
    )
    return published_articles(store, since, until, tag_slugs, limit, (received, [newsletter, segment]))


def latest_articles(
    store: Store, until: datetime, tag_slugs: list[str] | None = None, limit: int = 500
) -> list[Article]:
    """The newest published articles up to ``until``, sent or not (for previews when nothing is new)."""
    return published_articles(store, None, until, tag_slugs, limit)


def published_articles(
    store: Store,
    since: datetime | None,
    until: datetime,
    tag_slugs: list[str] | None,
    limit: int,
    excluded: tuple[str, list[object]] | None = None,
) -> list[Article]:
    """Published articles with ``since < published_at <= until``, newest first, with one of
    ``tag_slugs`` if given, but none for which ``excluded`` (a correlated subquery on ``a``
    and its parameters) finds a row."""
    sql = "SELECT a.* FROM articles a WHERE a.status = 'published' AND a.published_at > ? AND a.published_at <= ? "
    params: list[object] = [to_db(since) if since else "", to_db(until)]
    if tag_slugs:
        sql += (
            "AND EXISTS (SELECT 1 FROM article_tags at JOIN tags t ON t.id = at.tag_id "
            f"WHERE at.article_id = a.id AND t.slug IN ({marks(tag_slugs)})) "
        )
        params += tag_slugs
    if excluded:
        sql += f"AND NOT EXISTS ({excluded[0]}) "
        params += excluded[1]
    rows = store.conn.execute(sql + "ORDER BY a.published_at DESC, a.id DESC LIMIT ?", [*params, limit])
    return attach_tags(store, list(as_dicts(rows)))


def article_tag_ids(store: Store, article_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """article id → its tag ids, in the article's tag order."""
    found: dict[int, list[int]] = {article_id: [] for article_id in article_ids}
    for chunk in chunks(found, CHUNK):
        for article_id, tag_id in store.conn.execute(
            f"SELECT article_id, tag_id FROM article_tags WHERE article_id IN ({marks(chunk)}) "
            "ORDER BY article_id, position",
            chunk,
        ):
            found[article_id].append(tag_id)
    return {article_id: tuple(tag_ids) for article_id, tag_ids in found.items()}


def tag_ids_by_slug(store: Store, slugs: Iterable[str]) -> dict[str, int]:
    slugs = list(slugs)
    if not slugs:
        return {}
    return dict(store.conn.execute(f"SELECT slug, id FROM tags WHERE slug IN ({marks(slugs)})", slugs))


def start_plan(
    store: Store, newsletter: str, segment: str, status: str, watermark: datetime | None, candidate_count: int
) -> int:
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO digest_plans (newsletter, segment, planned_at, status, watermark, candidate_count) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                newsletter,
                segment,
                to_db(store.clock.now()),
                status,
                to_db(watermark) if watermark else None,
                candidate_count,
            ),
        )
    return cursor.lastrowid


def finish_plan(
    store: Store,
    plan_id: int,
    status: str,
    edition_count: int,
    recipient_count: int,
    watermark: datetime | None,
    candidate_count: int,
) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE digest_plans SET status = ?, edition_count = ?, recipient_count = ?, watermark = ?, "
            "candidate_count = ? WHERE id = ?",
            (
                status,
                edition_count,
                recipient_count,
                to_db(watermark) if watermark else None,
                candidate_count,
                plan_id,
            ),
        )


def attach_edition(store: Store, edition_id: int, plan_id: int, article_ids: Iterable[int]) -> None:
    """Tie an edition to its plan and record its articles (they now count as sent to the audience)."""
    with store.transaction() as conn:
        conn.execute("UPDATE editions SET plan_id = ? WHERE id = ?", (plan_id, edition_id))
        conn.executemany(
            "INSERT INTO edition_articles (edition_id, article_id, position) VALUES (?, ?, ?)",
            [(edition_id, article_id, position) for position, article_id in enumerate(article_ids)],
        )


def recent_plans(store: Store, newsletter: str | None = None, limit: int = 20) -> list[DigestPlan]:
    """The latest plans, newest first, of every newsletter or of one."""
    columns = "id, newsletter, segment, planned_at, status, watermark, candidate_count, edition_count, recipient_count"
    if newsletter is None:
        rows = store.conn.execute(
            f"SELECT {columns} FROM digest_plans ORDER BY planned_at DESC, id DESC LIMIT ?", (limit,)
        )
    else:
        rows = store.conn.execute(
            f"SELECT {columns} FROM digest_plans WHERE newsletter = ? ORDER BY planned_at DESC, id DESC LIMIT ?",
            (newsletter, limit),
        )
    return [
        DigestPlan(
            id=id_,
            newsletter=name,
            segment=segment,
            planned_at=from_db(planned_at),
            status=status,
            watermark=from_db(watermark) if watermark else None,
            candidate_count=candidates,
            edition_count=editions,
            recipient_count=recipients,
        )
        for id_, name, segment, planned_at, status, watermark, candidates, editions, recipients in rows
    ]


def find_recipient(store: Store, email: str) -> Recipient | None:
    """The subscriber with this address (any status), with their interests, for previews."""
    row = store.conn.execute(
        "SELECT id, email, name, locale FROM subscribers WHERE email IN (?, ?) ORDER BY email = ? DESC LIMIT 1",
        (email.strip(), email.strip().lower(), email.strip()),
    ).fetchone()
    if row is None:
        return None
    subscriber_id, address, name, locale = row
    interests = tuple(
        tag_id
        for (tag_id,) in store.conn.execute(
            "SELECT tag_id FROM subscriber_interests WHERE subscriber_id = ? ORDER BY tag_id", (subscriber_id,)
        )
    )
    return Recipient(subscriber_id=subscriber_id, email=address, name=name, locale=locale, interests=interests)
