"""The queue of sign-up emails (table signup_mails, migration 0008): written by the sign-up
request, claimed and settled by the worker of ``publisher serve`` (publisher.signup_queue)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.clock import to_db
from publisher.store import Store

FINISHED = ("sent", "failed", "unknown", "dropped")


@dataclass(frozen=True)
class QueuedMail:
    id: int
    subscriber_id: int
    attempts: int  # including the one just claimed


def queue_mail(store: Store, subscriber_id: int, now: datetime) -> None:
    """Queue the sign-up email of a subscriber, due now (nothing when one is already waiting)."""
    store.conn.execute(
        "INSERT OR IGNORE INTO signup_mails (subscriber_id, queued_at, next_attempt_at) VALUES (?, ?, ?)",
        (subscriber_id, to_db(now), to_db(now)),
    )


def any_due(store: Store, now: datetime) -> bool:
    return (
        store.conn.execute(
            "SELECT 1 FROM signup_mails WHERE status = 'queued' AND next_attempt_at <= ? LIMIT 1", (to_db(now),)
        ).fetchone()
        is not None
    )


def claim_due(store: Store, now: datetime) -> QueuedMail | None:
    """The oldest mail due, marked ``sending`` with one more attempt (committed before it leaves)."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT id, subscriber_id, attempts + 1 FROM signup_mails "
            "WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1",
            (to_db(now),),
        ).fetchone()
        if row is None:
            return None
        conn.execute("UPDATE signup_mails SET status = 'sending', attempts = ? WHERE id = ?", (row[2], row[0]))
    return QueuedMail(*row)


def finish(store: Store, mail_id: int, status: str, now: datetime, error: str | None = None) -> None:
    """Record the outcome of a claimed mail: one of FINISHED."""
    if status not in FINISHED:
        raise ValueError(f"finish: status must be one of {', '.join(FINISHED)}, not {status!r}")
    with store.transaction() as conn:
        conn.execute(
            "UPDATE signup_mails SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status = 'sending'",
            (status, to_db(now), error, mail_id),
        )


def retry_at(store: Store, mail_id: int, when: datetime, error: str) -> None:
    """Put a claimed mail back in the queue, due at ``when``."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE signup_mails SET status = 'queued', next_attempt_at = ?, error = ? "
            "WHERE id = ? AND status = 'sending'",
            (to_db(when), error, mail_id),
        )


def settle_sending(store: Store, now: datetime) -> int:
    """Mails left ``sending`` by a process that died: ``unknown`` (they may have left)."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "UPDATE signup_mails SET status = 'unknown', finished_at = ?, "
            "error = 'the service stopped while it was being sent' WHERE status = 'sending'",
            (to_db(now),),
        )
    return cursor.rowcount


def delete_finished_before(store: Store, before: datetime) -> int:
    """Forget the mails finished before ``before``; return how many."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "DELETE FROM signup_mails WHERE finished_at IS NOT NULL AND finished_at < ?", (to_db(before),)
        )
    return cursor.rowcount


def queue_counts(store: Store) -> dict[str, int]:
    """status → number of mails."""
    return dict(store.conn.execute("SELECT status, count(*) FROM signup_mails GROUP BY status ORDER BY status"))
