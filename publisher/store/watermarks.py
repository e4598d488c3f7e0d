"""SQL for readers' watermarks: up to where each newsletter has served each reader.

Per newsletter, each reader served belongs to one watermark group; the group points to the
plan that last served its readers, and their watermark is that plan's
(``digest_plans.watermark``, the newest ``published_at`` it considered). A plan that serves a
whole group moves the group (one row); readers served apart from the rest of their group move
to a new group of the plan (one row each). A plan stops counting once every one of its
editions failed (the rule of ``publisher.store.digests.audience_watermark``): its readers then
count as never served.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.models import Article
from publisher.store import Store, chunks
from publisher.store.digests import NO_RECIPIENTS, published_articles

MOVE_CHUNK = 5000


def group_watermarks(store: Store, newsletter: str) -> dict[int, datetime | None]:
    """group id → its watermark, for every watermark group of ``newsletter``; None for a group
    whose plan no longer counts."""
    rows = store.conn.execute(
        "SELECT g.id, p.watermark, p.status = ? OR EXISTS "
        "(SELECT 1 FROM editions e WHERE e.plan_id = p.id AND e.status != 'failed') "
        "FROM watermark_groups g JOIN digest_plans p ON p.id = g.plan_id WHERE g.newsletter = ?",
        (NO_RECIPIENTS, newsletter),
    )
    return {group_id: from_db(mark) if mark and counts else None for group_id, mark, counts in rows}


def reader_groups(store: Store, newsletter: str, subscriber_ids: Sequence[int]) -> dict[int, int]:
    """subscriber id → their watermark group; readers never served are left out."""
    return dict(
        store.conn.execute(
            "SELECT subscriber_id, group_id FROM reader_watermarks "
            "WHERE subscriber_id IN (SELECT value FROM json_each(?)) AND newsletter = ?",
            (json.dumps(list(subscriber_ids)), newsletter),
        )
    )


def advance_readers(store: Store, newsletter: str, plan_id: int, served: Mapping[int | None, Sequence[int]]) -> None:
    """Record that plan ``plan_id`` served these readers (their group, None for readers never
    served → their subscriber ids): a group served whole now points to the plan; the other
    readers move to a new group of the plan."""
    with store.transaction() as conn:
        moving = []
        readers = _readers_by_group(store, newsletter) if served.keys() - {None} else {}
        for group_id, subscriber_ids in served.items():
            if group_id is not None and len(subscriber_ids) == readers.get(group_id):
                conn.execute("UPDATE watermark_groups SET plan_id = ? WHERE id = ?", (plan_id, group_id))
            elif subscriber_ids:
                moving.append(subscriber_ids)
        if not moving:
            return
        group_id = conn.execute(
            "INSERT INTO watermark_groups (newsletter, plan_id) VALUES (?, ?)", (newsletter, plan_id)
        ).lastrowid
        for subscriber_ids in moving:
            for chunk in chunks(subscriber_ids, MOVE_CHUNK):
                conn.execute(
                    "INSERT INTO reader_watermarks (subscriber_id, newsletter, group_id) "
                    "SELECT value, ?, ? FROM json_each(?) WHERE true "
                    "ON CONFLICT (subscriber_id, newsletter) DO UPDATE SET group_id = excluded.group_id",
                    (newsletter, group_id, json.dumps(chunk)),
                )


def _readers_by_group(store: Store, newsletter: str) -> dict[int, int]:
    """group id → how many readers it has (one scan of the table)."""
    return dict(
        store.conn.execute(
            "SELECT group_id, count(*) FROM reader_watermarks WHERE newsletter = ? GROUP BY group_id", (newsletter,)
        )
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
