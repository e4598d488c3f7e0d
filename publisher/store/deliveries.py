"""SQL for the delivery ledger, its batches and the Event Webhook's updates (newsletter runs,
the sender lock and rate limits: publisher.store.senders; event ids: publisher.store.webhook_events).

The ledger protocol (publisher.delivery.engine drives it):
  pending → claimed by a batch 'sending' → sent | failed | unknown (row.batch_id set),
  or left pending (batch 'retry') when the request was answered with 429/5xx.
A batch covers the pending rows of its edition in [first_subscriber, last_subscriber]
(the engine reads pending rows in subscriber order and never gives two batches in flight
overlapping ranges), so claiming writes one batch row and no ledger row. A batch is
'sending' only while its request may be on the wire: after a crash, the pending rows in
the range of a batch still 'sending' are exactly the recipients whose outcome is unknown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.errors import DeliveryError
from publisher.store import Store, chunks
from publisher.store.sql import marks

ENQUEUE_CHUNK = 5000
# The pending rows of a batch (edition, first and last subscriber), and one pending row.
_RANGE = "WHERE edition_id = ? AND subscriber_id BETWEEN ? AND ? AND status = 'pending'"
_RANGE_COUNT = f"SELECT count(*) FROM deliveries {_RANGE}"
_ROW = "WHERE edition_id = ? AND subscriber_id = ? AND status = 'pending'"


# (subscriber_id, email, name, subscriber status) of a pending ledger row
PendingRow = tuple[int, str, str, str]


@dataclass(frozen=True)
class BatchInfo:
    id: int
    edition_id: int
    newsletter: str
    status: str
    recipients: int
    error: str | None
    started_at: datetime


@dataclass(frozen=True)
class FailureReason:
    reason: str
    count: int
    subscriber_ids: tuple[int, ...]  # the first few


@dataclass(frozen=True)
class EditionDeliveries:
    edition_id: int
    newsletter: str
    segment: str
    edition_status: str
    status_reason: str | None
    created_at: datetime
    counts: dict[str, int]


def _now(store: Store) -> str:
    return to_db(store.clock.now())


# --- the ledger ----------------------------------------------------------------------


def enqueue(store: Store, edition_id: int, subscriber_ids: Iterable[int]) -> int:
    """Write a pending row for every subscriber not already in this edition's ledger.

    Joins the caller's transaction if there is one; returns how many rows were added. The ids
    go in as one JSON array per chunk (json_each): a third of the cost of executemany.
    """
    added = 0
    with store.transaction() as conn:
        for chunk in chunks(subscriber_ids, ENQUEUE_CHUNK):
            before = conn.total_changes
            conn.execute(
                "INSERT OR IGNORE INTO deliveries (edition_id, subscriber_id) SELECT ?, value FROM json_each(?)",
                (edition_id, json.dumps(chunk)),
            )
            added += conn.total_changes - before
    return added


def next_pending(store: Store, edition_id: int, after_subscriber: int, limit: int) -> list[PendingRow]:
    """Pending rows of an edition after a subscriber id, in subscriber order, with the
    subscriber's current address and status (an unsubscribe since planning is honoured)."""
    return store.conn.execute(
        "SELECT d.subscriber_id, s.email, s.name, s.status FROM deliveries d "
        "JOIN subscribers s ON s.id = d.subscriber_id "
        "WHERE d.edition_id = ? AND d.subscriber_id > ? AND d.status = 'pending' "
        "ORDER BY d.subscriber_id LIMIT ?",
        (edition_id, after_subscriber, limit),
    ).fetchall()


def close_deliveries(store: Store, edition_id: int, status: str, reasons: dict[int, str]) -> None:
    """Give pending rows a final status without a request: 'skipped' (the subscriber left
    before the message went out) or 'failed' (refused before sending, e.g. over a limit)."""
    if status not in ("skipped", "failed"):
        raise ValueError(f"cannot close deliveries as {status!r}")
    with store.transaction() as conn:
        conn.executemany(
            f"UPDATE deliveries SET status = ?, error = ? {_ROW}",
            [(status, reason, edition_id, subscriber_id) for subscriber_id, reason in reasons.items()],
        )


def claim_batch(
    store: Store, edition_id: int, subscriber_ids: list[int], attempt: int = 1, one_at_a_time: bool = False
) -> int:
    """Record a batch as 'sending': call right before its request leaves.

    ``subscriber_ids``: increasing, pending, and every pending row of the edition between the
    first and the last of them (the engine guarantees it; checked here). ``one_at_a_time``: its
    messages leave one after the other, each recorded by ``record_message``.
    """
    first, last = subscriber_ids[0], subscriber_ids[-1]
    with store.transaction() as conn:
        pending = conn.execute(_RANGE_COUNT, (edition_id, first, last)).fetchone()[0]
        if pending != len(subscriber_ids):
            raise DeliveryError(
                f"edition {edition_id}: ledger rows {first}..{last} changed under the sender "
                f"({pending} pending, {len(subscriber_ids)} expected); is another process sending it?"
            )
        return conn.execute(
            "INSERT INTO delivery_batches (edition_id, recipients, first_subscriber, last_subscriber, attempt, "
            "started_at, on_wire) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (edition_id, len(subscriber_ids), first, last, attempt, _now(store), first if one_at_a_time else None),
        ).lastrowid


def record_message(
    store: Store, batch_id: int, subscriber_id: int, status: str, detail: str | None, next_on_wire: int
) -> None:
    """The outcome of one message of a one-at-a-time batch, before the next one leaves:
    'sent' (detail: its message id), 'failed' or 'unknown' (detail: the reason), or 'retry' (the
    row stays pending). ``next_on_wire``: the subscriber whose message leaves next (0: none)."""
    columns = {
        "sent": "status = 'sent', provider_message_id = ?, error = NULL",
        "failed": "status = 'failed', error = ?",
        "unknown": "status = 'unknown', error = ?",
        "retry": "error = ?",
    }[status]
    with store.transaction() as conn:
        conn.execute(
            f"UPDATE deliveries SET {columns}, batch_id = ? WHERE subscriber_id = ? AND status = 'pending' "
            "AND edition_id = (SELECT edition_id FROM delivery_batches WHERE id = ?)",
            (detail, batch_id, subscriber_id, batch_id),
        )
        conn.execute("UPDATE delivery_batches SET on_wire = ? WHERE id = ?", (next_on_wire, batch_id))


def record_batch(
    store: Store,
    batch_id: int,
    sent: dict[int, str | None],
    failed: dict[int, str],
    unknown: Iterable[int] = (),
    error: str | None = None,
) -> None:
    """Apply the outcome of one batch in one transaction (keys are subscriber ids).

    ``sent``: → provider message id; ``failed``: → error; ``unknown``: rows whose outcome
    cannot be known. The batch's other rows stay pending (to retry), with the error noted.
    """
    now = _now(store)
    unknown = list(unknown)
    if unknown:
        status = "unknown"
    elif sent:
        status = "sent"
    elif failed:
        status = "failed"
    else:
        status = "retry"
    message_ids = set(sent.values())
    batch_message_id = next(iter(message_ids)) if len(message_ids) == 1 else None
    with store.transaction() as conn:
        edition_id, first, last, recipients = conn.execute(
            "SELECT edition_id, first_subscriber, last_subscriber, recipients FROM delivery_batches WHERE id = ?",
            (batch_id,),
        ).fetchone()
        if (len(sent) == recipients and batch_message_id is not None) or (not sent and len(failed) == recipients):
            # The usual cases: the whole batch accepted under one message id, or refused.
            row_status, row_error = ("sent", None) if sent else ("failed", next(iter(failed.values())))
            conn.execute(
                f"UPDATE deliveries SET status = ?, batch_id = ?, error = ? {_RANGE}",
                (row_status, batch_id, row_error, edition_id, first, last),
            )
        else:
            individual = batch_message_id is None
            conn.executemany(
                f"UPDATE deliveries SET status = 'sent', batch_id = ?, provider_message_id = ?, error = NULL {_ROW}",
                [
                    (batch_id, message_id if individual else None, edition_id, subscriber_id)
                    for subscriber_id, message_id in sent.items()
                ],
            )
            conn.executemany(
                f"UPDATE deliveries SET status = 'failed', batch_id = ?, error = ? {_ROW}",
                [(batch_id, reason, edition_id, subscriber_id) for subscriber_id, reason in failed.items()],
            )
            conn.executemany(
                f"UPDATE deliveries SET status = 'unknown', batch_id = ?, error = ? {_ROW}",
                [(batch_id, error, edition_id, subscriber_id) for subscriber_id in unknown],
            )
            if error and len(sent) + len(failed) + len(unknown) < recipients:
                conn.execute(f"UPDATE deliveries SET error = ? {_RANGE}", (error, edition_id, first, last))
        conn.execute(
            "UPDATE delivery_batches SET status = ?, provider_message_id = ?, error = ?, finished_at = ? WHERE id = ?",
            (status, batch_message_id, error, now, batch_id),
        )


def recover_in_flight(store: Store, edition_id: int) -> int:
    """Batches left 'sending' by a process that died: the outcome of the rows they had on the
    wire is unknown (every pending row of a one-request batch; the one message on the wire of a
    one-at-a-time batch, whose other pending rows were not tried and stay pending).

    Returns how many rows became 'unknown'. Call only while holding the newsletter's sender lock.
    """
    note = "outcome unknown: the sending process stopped while this batch was in flight"
    changed = 0
    with store.transaction() as conn:
        batches = conn.execute(
            "SELECT id, first_subscriber, last_subscriber, on_wire FROM delivery_batches "
            "WHERE status = 'sending' AND edition_id = ?",
            (edition_id,),
        ).fetchall()
        for batch_id, first, last, on_wire in batches:
            if on_wire is not None:
                first = last = on_wire
            unknown = conn.execute(
                f"UPDATE deliveries SET status = 'unknown', batch_id = ?, error = ? {_RANGE}",
                (batch_id, note, edition_id, first, last),
            ).rowcount
            conn.execute(
                "UPDATE delivery_batches SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                ("unknown" if unknown else "retry", note, _now(store), batch_id),
            )
            changed += unknown
    return changed


def unknown_rows(store: Store, edition_id: int) -> list[int]:
    """Subscriber ids of an edition's rows whose outcome is unknown, found through its unknown
    batches (indexed), so that an edition without any costs nothing."""
    rows = store.conn.execute(
        # CROSS JOIN: SQLite then reads the batches first, and only their ranges of the ledger.
        "SELECT DISTINCT d.subscriber_id FROM delivery_batches b CROSS JOIN deliveries d "
        "ON d.edition_id = b.edition_id AND d.subscriber_id BETWEEN b.first_subscriber AND b.last_subscriber "
        "AND d.status = 'unknown' WHERE b.edition_id = ? AND b.status = 'unknown' ORDER BY d.subscriber_id",
        (edition_id,),
    )
    return [subscriber_id for (subscriber_id,) in rows]


def settle_unknown(store: Store, edition_id: int, sent: dict[int, str]) -> int:
    """Decide an edition's unknown rows from the transport's own record: those in ``sent``
    (subscriber id → message id) were sent, the others were not and become pending again.
    Their batches are no longer unknown ('sent', or 'resent' when some rows go out again).
    Returns how many rows became pending."""
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE deliveries SET status = 'sent', provider_message_id = ?, error = NULL "
            "WHERE edition_id = ? AND subscriber_id = ? AND status = 'unknown'",
            [(message_id, edition_id, subscriber_id) for subscriber_id, message_id in sent.items()],
        )
        conn.execute(
            "UPDATE delivery_batches SET status = CASE WHEN EXISTS (SELECT 1 FROM deliveries d "
            "WHERE d.edition_id = delivery_batches.edition_id AND d.batch_id = delivery_batches.id "
            "AND d.status = 'unknown') THEN 'resent' ELSE 'sent' END WHERE edition_id = ? AND status = 'unknown'",
            (edition_id,),
        )
        return conn.execute(
            "UPDATE deliveries SET status = 'pending', error = NULL WHERE edition_id = ? AND status = 'unknown'",
            (edition_id,),
        ).rowcount


def requeue(store: Store, edition_id: int, status: str) -> int:
    """Put 'unknown' (resend) or 'failed' (retry) rows of an edition back to pending."""
    if status not in ("unknown", "failed"):
        raise ValueError(f"cannot requeue {status!r} deliveries")
    with store.transaction() as conn:
        if status == "unknown":
            conn.execute(
                "UPDATE delivery_batches SET status = 'resent' WHERE edition_id = ? AND status = 'unknown'",
                (edition_id,),
            )
        return conn.execute(
            "UPDATE deliveries SET status = 'pending' WHERE edition_id = ? AND status = ?", (edition_id, status)
        ).rowcount


def delivery_counts(store: Store, edition_id: int) -> dict[str, int]:
    """status → rows for one edition; 'in_flight' counts the pending rows of batches 'sending'
    (a one-at-a-time batch records its messages as they go)."""
    counts = {"pending": 0, "sent": 0, "failed": 0, "unknown": 0, "skipped": 0}
    counts.update(
        store.conn.execute("SELECT status, count(*) FROM deliveries WHERE edition_id = ? GROUP BY 1", (edition_id,))
    )
    in_flight = store.conn.execute(
        "SELECT count(*) FROM delivery_batches b JOIN deliveries d ON d.edition_id = b.edition_id "
        "AND d.subscriber_id BETWEEN b.first_subscriber AND b.last_subscriber AND d.status = 'pending' "
        "WHERE b.edition_id = ? AND b.status = 'sending'",
        (edition_id,),
    ).fetchone()[0]
    if in_flight:
        counts["in_flight"] = in_flight
        counts["pending"] -= in_flight
    return counts


def unfinished_editions(store: Store, newsletter: str, segment: str | None = None) -> list[int]:
    """Editions of a newsletter that still have work: ready, sending or paused."""
    rows = store.conn.execute(
        "SELECT id FROM editions WHERE newsletter = ? AND (? IS NULL OR segment = ?) "
        "AND status IN ('ready', 'sending', 'paused') ORDER BY id",
        (newsletter, segment, segment),
    )
    return [edition_id for (edition_id,) in rows]


# --- status --------------------------------------------------------------------------


def recent_edition_deliveries(store: Store, limit: int = 10) -> list[EditionDeliveries]:
    editions = store.conn.execute(
        "SELECT id, newsletter, segment, status, status_reason, created_at FROM editions "
        "WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = editions.id) OR status = 'paused' "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        EditionDeliveries(
            edition_id=id_,
            newsletter=newsletter,
            segment=segment,
            edition_status=status,
            status_reason=reason,
            created_at=from_db(created),
            counts=delivery_counts(store, id_),
        )
        for id_, newsletter, segment, status, reason, created in editions
    ]


def failure_reasons(store: Store, edition_id: int, limit: int = 10, sample: int = 5) -> list[FailureReason]:
    """The reasons of an edition's failed rows, the most frequent first, each with its count and
    the first ``sample`` subscriber ids."""
    rows = store.conn.execute(
        "SELECT error, total, group_concat(subscriber_id) FROM ("
        "  SELECT coalesce(error, '') AS error, subscriber_id, count(*) OVER (PARTITION BY error) AS total,"
        "  row_number() OVER (PARTITION BY error ORDER BY subscriber_id) AS rank"
        "  FROM deliveries WHERE edition_id = ? AND status = 'failed'"
        ") WHERE rank <= ? GROUP BY error ORDER BY total DESC, error LIMIT ?",
        (edition_id, sample, limit),
    )
    return [
        FailureReason(reason, total, tuple(sorted(int(part) for part in ids.split(",")))) for reason, total, ids in rows
    ]


def unknown_batches(store: Store, limit: int = 20) -> list[BatchInfo]:
    """Batches whose outcome is unknown, with the number of their rows that are (all of a
    one-request batch, the message on the wire of a one-at-a-time one)."""
    rows = store.conn.execute(
        "SELECT b.id, b.edition_id, e.newsletter, b.status, "
        "CASE WHEN b.on_wire IS NULL THEN b.recipients ELSE 1 END, b.error, b.started_at "
        "FROM delivery_batches b JOIN editions e ON e.id = b.edition_id "
        "WHERE b.status = 'unknown' ORDER BY b.id DESC LIMIT ?",
        (limit,),
    )
    return [BatchInfo(*row[:6], from_db(row[6])) for row in rows]


def newsletter_of_delivery(store: Store, edition_id: int, subscriber_id: int) -> str | None:
    """The newsletter of an edition this subscriber has a ledger row for; None without that row."""
    row = store.conn.execute(
        "SELECT e.newsletter FROM deliveries d JOIN editions e ON e.id = d.edition_id "
        "WHERE d.edition_id = ? AND d.subscriber_id = ?",
        (edition_id, subscriber_id),
    ).fetchone()
    return row[0] if row else None


def apply_event(
    store: Store, edition_id: int, subscriber_id: int, event: str, at: datetime, message_id: str | None
) -> bool:
    """Note an event on its ledger row. An event proves SendGrid accepted the message, so a
    row whose outcome was unknown (or still pending in a dead batch) becomes 'sent'."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "UPDATE deliveries SET event = ?, event_at = ?, "
            "provider_message_id = CASE WHEN status IN ('unknown', 'pending') THEN ? ELSE provider_message_id END, "
            "error = CASE WHEN status IN ('unknown', 'pending') THEN NULL ELSE error END, "
            "status = CASE WHEN status IN ('unknown', 'pending') THEN 'sent' ELSE status END "
            "WHERE edition_id = ? AND subscriber_id = ?",
            (event, to_db(at), message_id, edition_id, subscriber_id),
        )
    return cursor.rowcount == 1


def stream_subscriber_ids(store: Store, status: str = "active") -> Iterator[int]:
    """Ids of subscribers with a status, in id order (for benchmarks and simple segments)."""
    for (subscriber_id,) in store.conn.execute("SELECT id FROM subscribers WHERE status = ? ORDER BY id", (status,)):
        yield subscriber_id


def edition_statuses(store: Store, edition_ids: list[int]) -> dict[int, str]:
    return dict(store.conn.execute(f"SELECT id, status FROM editions WHERE id IN ({marks(edition_ids)})", edition_ids))


def ledger_rows(store: Store, edition_id: int) -> list[tuple[int, str, str | None, str | None]]:
    """(subscriber id, status, provider message id, error) of every row of an edition."""
    return store.conn.execute(
        "SELECT d.subscriber_id, d.status, coalesce(d.provider_message_id, b.provider_message_id), d.error "
        "FROM deliveries d LEFT JOIN delivery_batches b ON b.id = d.batch_id "
        "WHERE d.edition_id = ? ORDER BY d.subscriber_id",
        (edition_id,),
    ).fetchall()
