"""SQL for readers' watermarks: up to where each newsletter has served each reader.

A reader's row for a newsletter points to the plan that last served them; their watermark is
that plan's (``digest_plans.watermark``, the newest ``published_at`` it considered). One row
per reader and newsletter, rewritten by each plan that serves the reader. A plan stops
counting once every one of its editions failed (the rule of
``publisher.store.digests.audience_watermark``): its readers then count as never served.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.models import Article
from publisher.store import Store
from publisher.store.digests import NO_RECIPIENTS, published_articles


def watermark_plans(store: Store, newsletter: str) -> dict[int, datetime | None]:
    """plan id → its watermark, for every plan that some reader of ``newsletter`` points to;
    None for a plan that no longer counts. Reads the index reader_watermarks_plan."""
    rows = store.conn.execute(
        "SELECT p.id, p.watermark, p.status = ? OR EXISTS "
        "(SELECT 1 FROM editions e WHERE e.plan_id = p.id AND e.status != 'failed') FROM digest_plans p "
        "WHERE p.id IN (SELECT DISTINCT plan_id FROM reader_watermarks WHERE newsletter = ?)",
        (NO_RECIPIENTS, newsletter),
    )
    return {plan_id: from_db(mark) if mark and counts else None for plan_id, mark, counts in rows}


def reader_plans(store: Store, newsletter: str, subscriber_ids: Sequence[int]) -> dict[int, int]:
    """subscriber id → the plan that last served them; readers never served are left out."""
    return dict(
        store.conn.execute(
            "SELECT subscriber_id, plan_id FROM reader_watermarks "
            "WHERE subscriber_id IN (SELECT value FROM json_each(?)) AND newsletter = ?",
            (json.dumps(list(subscriber_ids)), newsletter),
        )
    )


def advance_readers(store: Store, newsletter: str, plan_id: int, subscriber_ids: Sequence[int]) -> None:
    """Record that plan ``plan_id`` served these readers: one statement for all of them."""
    if not subscriber_ids:
        return
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO reader_watermarks (subscriber_id, newsletter, plan_id) "
            "SELECT value, ?, ? FROM json_each(?) WHERE true "
            "ON CONFLICT (subscriber_id, newsletter) DO UPDATE SET plan_id = excluded.plan_id",
            (newsletter, plan_id, json.dumps(list(subscriber_ids))),
        )


def articles_after(
    store: Store, newsletter: str, watermark: datetime, until: datetime, tag_slugs: list[str] | None, limit: int
) -> list[Article]:
    """The articles of readers at ``watermark``: published after it and up to ``until``, newest
    first, except those an edition of this newsletter (not failed) already held when they were
    dated before the watermark (edited and re-dated since: the reader was served past them)."""
    served = (
        "SELECT 1 FROM edition_articles ea JOIN editions e ON e.id = ea.edition_id "
        "JOIN digest_plans p ON p.id = e.plan_id WHERE ea.article_id = a.id AND e.newsletter = ? "
        "AND e.status != 'failed' AND p.watermark <= ?"
    )
    return published_articles(store, watermark, until, tag_slugs, limit, (served, [newsletter, to_db(watermark)]))
