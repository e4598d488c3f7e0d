"""SQL for the figures of editions (``edition_figures``): aggregate counters, never a subscriber.

A counter is (edition, measure, article): article 0 for a figure of the whole edition. The
ledger (``deliveries``) gives what was accepted and what failed; the counters give what the
Event Webhook and the click links reported afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.store import Store
from publisher.store.sql import flat, insert_many

# (edition id, measure, article id or 0) → how many to add
CounterKey = tuple[int, str, int]


@dataclass(frozen=True)
class EditionRow:
    id: int
    newsletter: str
    segment: str
    subject: str
    status: str
    sent_at: datetime


@dataclass(frozen=True)
class ArticleRow:
    id: int
    title: str
    url: str | None


def add_counts(store: Store, counts: Mapping[CounterKey, int]) -> None:
    """Add to the counters, a few hundred per statement; joins the caller's transaction."""
    rows = [(edition, measure, article, count) for (edition, measure, article), count in counts.items() if count]
    if not rows:
        return
    with store.transaction() as conn:
        insert_many(
            conn,
            "INSERT INTO edition_figures (edition_id, measure, article_id, count) VALUES {rows} "
            "ON CONFLICT (edition_id, measure, article_id) DO UPDATE SET count = count + excluded.count",
            4,
            flat(rows),
        )


def edition_counts(store: Store, edition_id: int) -> dict[str, int]:
    """measure → count, for the figures of the whole edition."""
    rows = store.conn.execute(
        "SELECT measure, count FROM edition_figures WHERE edition_id = ? AND article_id = 0 ORDER BY measure",
        (edition_id,),
    )
    return dict(rows)


def article_counts(store: Store, edition_id: int) -> dict[str, dict[int, int]]:
    """measure → article id → count, for the figures per article."""
    counts: dict[str, dict[int, int]] = {}
    rows = store.conn.execute(
        "SELECT measure, article_id, count FROM edition_figures WHERE edition_id = ? AND article_id != 0",
        (edition_id,),
    )
    for measure, article_id, count in rows:
        counts.setdefault(measure, {})[article_id] = count
    return counts


def ledger_counts(store: Store, edition_id: int) -> dict[str, int]:
    """ledger status → rows, for one edition."""
    rows = store.conn.execute("SELECT status, count(*) FROM deliveries WHERE edition_id = ? GROUP BY 1", (edition_id,))
    return dict(rows)


def failures_by_reason(store: Store, edition_id: int, limit: int = 20) -> list[tuple[str, int]]:
    """(reason, failed messages), the most frequent first."""
    rows = store.conn.execute(
        "SELECT coalesce(error, ''), count(*) FROM deliveries WHERE edition_id = ? AND status = 'failed' "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
        (edition_id, limit),
    )
    return [(reason, count) for reason, count in rows]


_EDITION = "id, newsletter, segment, subject, status, coalesce(finished_at, created_at)"


def _edition(row: tuple) -> EditionRow:
    id_, newsletter, segment, subject, status, sent_at = row
    return EditionRow(id_, newsletter, segment, subject, status, from_db(sent_at))


def sent_editions(store: Store, newsletter: str | None, since: datetime | None, limit: int) -> list[EditionRow]:
    """Editions that went out (sending, paused or sent), newest first."""
    rows = store.conn.execute(
        f"SELECT {_EDITION} FROM editions WHERE status IN ('sending', 'paused', 'sent') "
        "AND (?1 IS NULL OR newsletter = ?1) AND (?2 IS NULL OR created_at >= ?2) ORDER BY id DESC LIMIT ?3",
        (newsletter, to_db(since) if since else None, limit),
    )
    return [_edition(row) for row in rows]


def find_edition(store: Store, edition_id: int) -> EditionRow | None:
    row = store.conn.execute(f"SELECT {_EDITION} FROM editions WHERE id = ?", (edition_id,)).fetchone()
    return _edition(row) if row else None


def edition_articles(store: Store, edition_id: int) -> list[ArticleRow]:
    """The articles of an edition in digest order (an article deleted since has no title nor URL)."""
    rows = store.conn.execute(
        "SELECT CAST(j.value AS INTEGER), coalesce(a.title, ''), a.url FROM editions e, json_each(e.article_ids) j "
        "LEFT JOIN articles a ON a.id = j.value WHERE e.id = ? ORDER BY j.key",
        (edition_id,),
    )
    return [ArticleRow(*row) for row in rows]


def click_target(store: Store, edition_id: int, article_id: int) -> tuple[str, str] | None:
    """(newsletter, the article's stored URL) when the article is one of the edition's."""
    row = store.conn.execute(
        "SELECT e.newsletter, a.url FROM editions e JOIN articles a ON a.id = ?2 WHERE e.id = ?1 "
        "AND EXISTS (SELECT 1 FROM json_each(e.article_ids) WHERE value = ?2)",
        (edition_id, article_id),
    ).fetchone()
    return (row[0], row[1]) if row else None


# The status changes that make the figures of readers over time (subscriber_history).
_READER_MEASURES = (
    "CASE WHEN h.new_value = 'pending' OR (h.new_value = 'active' AND coalesce(h.old_value, '') != 'pending' "
    "AND coalesce(h.old_value, '') != 'active') THEN 'sign_ups' "
    "WHEN h.new_value = 'active' AND h.old_value = 'pending' THEN 'confirmations' "
    "WHEN h.old_value IS NULL THEN NULL "  # imported already unsubscribed, bounced…: not this week's
    "WHEN h.new_value = 'unsubscribed' THEN 'unsubscribes' "
    "WHEN h.new_value = 'bounced' THEN 'bounces' "
    "WHEN h.new_value = 'complained' THEN 'complaints' END"
)


def reader_changes(store: Store, since: datetime) -> list[tuple[str, str, str, int]]:
    """(Monday of the week, UTC; measure; the subscriber's consent source; count) of the status
    changes since ``since``, counted in SQL: no subscriber leaves the store."""
    rows = store.conn.execute(
        f"SELECT date(substr(h.at, 1, 10), '-6 days', 'weekday 1') AS week, {_READER_MEASURES} AS measure, "
        "s.consent_source, count(*) FROM subscriber_history h JOIN subscribers s ON s.id = h.subscriber_id "
        "WHERE h.change = 'status' AND h.at >= ? GROUP BY 1, 2, 3 HAVING measure IS NOT NULL ORDER BY 1, 2, 3",
        (to_db(since),),
    )
    return [(week, measure, source, count) for week, measure, source, count in rows]
