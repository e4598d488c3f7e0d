"""SQL for sending newsletters besides the ledger: when each newsletter was added and last
fired, the lock that makes one process the sender of a newsletter, and the rate limits shared
by every process."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.errors import DeliveryError
from publisher.store import Store


def _now(store: Store) -> str:
    return to_db(store.clock.now())


# --- newsletter runs: due-ness and the sender lock -----------------------------------


def last_fire(store: Store, newsletter: str) -> datetime | None:
    row = store.conn.execute("SELECT last_fire_at FROM newsletter_runs WHERE newsletter = ?", (newsletter,)).fetchone()
    return from_db(row[0]) if row and row[0] else None


def added_at(store: Store, newsletter: str) -> datetime | None:
    """When the store first saw this newsletter in config.toml (None: not yet)."""
    row = store.conn.execute("SELECT added_at FROM newsletter_runs WHERE newsletter = ?", (newsletter,)).fetchone()
    return from_db(row[0]) if row and row[0] else None


def note_added(store: Store, newsletter: str) -> datetime:
    """Record now as when this newsletter was added, unless the store already knows; return when it was."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO newsletter_runs (newsletter, added_at) VALUES (?, ?) "
            "ON CONFLICT (newsletter) DO UPDATE SET added_at = coalesce(added_at, excluded.added_at)",
            (newsletter, _now(store)),
        )
        (added,) = conn.execute("SELECT added_at FROM newsletter_runs WHERE newsletter = ?", (newsletter,)).fetchone()
    return from_db(added)


def set_last_fire(store: Store, newsletter: str, fire_at: datetime) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO newsletter_runs (newsletter, last_fire_at, last_run_at) VALUES (?, ?, ?) "
            "ON CONFLICT (newsletter) DO UPDATE SET last_fire_at = excluded.last_fire_at, "
            "last_run_at = excluded.last_run_at",
            (newsletter, to_db(fire_at), _now(store)),
        )


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_sender(store: Store, newsletter: str, force: bool = False) -> None:
    """Become the one process sending this newsletter; a dead holder on this host is replaced.

    Raises DeliveryError when another live process holds it (``force`` takes it over anyway).
    """
    me = this_process()
    with store.transaction() as conn:
        row = conn.execute("SELECT sender, sender_since FROM newsletter_runs WHERE newsletter = ?", (newsletter,))
        row = row.fetchone()
        holder = row[0] if row else None
        if holder and holder != me and not force and _alive(holder):
            raise DeliveryError(
                f"newsletter {newsletter!r} is being sent by process {holder} since {row[1]}; "
                "wait for it, or use --force if that process is gone"
            )
        conn.execute(
            "INSERT INTO newsletter_runs (newsletter, sender, sender_since) VALUES (?, ?, ?) "
            "ON CONFLICT (newsletter) DO UPDATE SET sender = excluded.sender, sender_since = excluded.sender_since",
            (newsletter, me, _now(store)),
        )


def release_sender(store: Store, newsletter: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE newsletter_runs SET sender = NULL, sender_since = NULL WHERE newsletter = ? AND sender = ?",
            (newsletter, this_process()),
        )


def _alive(holder: str) -> bool:
    """Whether a host:pid holder is still running; a holder on another host is assumed alive."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


# --- the shared rate limiter -----------------------------------------------------------


def reserve_rate(store: Store, name: str, now: float, cost: float, not_before: float = 0.0) -> float:
    """GCRA step, atomic across processes: return the start time (epoch seconds) granted to
    ``cost`` seconds of sending capacity, and move the shared horizon past it."""
    with store.transaction() as conn:
        row = conn.execute("SELECT next_free FROM rate_limits WHERE name = ?", (name,)).fetchone()
        start = max(now, not_before, row[0] if row else 0.0)
        conn.execute(
            "INSERT INTO rate_limits (name, next_free) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET next_free = excluded.next_free",
            (name, start + cost),
        )
    return start


def hold_rate(store: Store, name: str, until: float) -> None:
    """Nobody starts before ``until`` (a 429's X-RateLimit-Reset)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO rate_limits (name, next_free) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET next_free = max(next_free, excluded.next_free)",
            (name, until),
        )
