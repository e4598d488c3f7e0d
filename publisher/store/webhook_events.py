"""SQL for the Event Webhook events already applied (``webhook_events``), keyed by ``sg_event_id``."""

from __future__ import annotations

from datetime import datetime

from publisher.clock import to_db
from publisher.store import Store


def remember_event(store: Store, sg_event_id: str, event: str) -> bool:
    """Record an event id; False if it was already processed. Joins the caller's transaction."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO webhook_events (sg_event_id, event, received_at) VALUES (?, ?, ?)",
            (sg_event_id, event, to_db(store.clock.now())),
        )
    return cursor.rowcount == 1


def delete_older_than(store: Store, cutoff: datetime) -> int:
    """Forget the event ids received before ``cutoff``; how many were deleted."""
    with store.transaction() as conn:
        cursor = conn.execute("DELETE FROM webhook_events WHERE received_at < ?", (to_db(cutoff),))
    return cursor.rowcount
