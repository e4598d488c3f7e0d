"""SQL for sends: the editions one send of a newsletter to a segment planned together (one for a
whole-list newsletter, one per distinct content for a per-interest one), as /admin/ lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.clock import from_db
from publisher.store import Store
from publisher.store.deliveries import EditionDeliveries, delivery_counts

# What /admin/ shows a send as when its editions differ: the one that needs a look first.
_STATUS_ORDER = ("paused", "failed", "sending", "ready", "sent")
# Editions that count: with a ledger (something was sent or is being sent), or paused.
_SHOWN = "(EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = editions.id) OR status = 'paused')"


@dataclass(frozen=True)
class Send:
    newsletter: str
    segment: str
    created_at: datetime
    editions: list[EditionDeliveries]  # in creation order

    @property
    def counts(self) -> dict[str, int]:
        """status → ledger rows, over every edition of the send."""
        total: dict[str, int] = {}
        for edition in self.editions:
            for status, count in edition.counts.items():
                total[status] = total.get(status, 0) + count
        return total

    @property
    def recipients(self) -> int:
        return sum(self.counts.values())

    @property
    def status(self) -> str:
        statuses = {edition.edition_status for edition in self.editions}
        return next((status for status in _STATUS_ORDER if status in statuses), self.editions[0].edition_status)


def recent_sends(store: Store, limit: int = 10) -> list[Send]:
    """The ``limit`` latest sends, newest first: the editions of one digest plan (an edition
    made without a plan is a send of its own)."""
    keys = store.conn.execute(
        f"SELECT plan_id, min(id) FROM editions WHERE {_SHOWN} "
        "GROUP BY coalesce(plan_id, -id) ORDER BY max(id) DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [_send(store, plan_id, first) for plan_id, first in keys]


def _send(store: Store, plan_id: int | None, first: int) -> Send:
    where, key = ("plan_id = ?", plan_id) if plan_id is not None else ("id = ?", first)
    rows = store.conn.execute(
        f"SELECT id, newsletter, segment, status, status_reason, created_at FROM editions "
        f"WHERE {where} AND {_SHOWN} ORDER BY id",
        (key,),
    ).fetchall()
    editions = [
        EditionDeliveries(id_, newsletter, segment, status, reason, from_db(created), delivery_counts(store, id_))
        for id_, newsletter, segment, status, reason, created in rows
    ]
    return Send(editions[0].newsletter, editions[0].segment, editions[0].created_at, editions)
