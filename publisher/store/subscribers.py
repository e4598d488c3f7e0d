"""SQL for subscribers: rows, interests, attributes, status history and the forget list.

Functions that write run inside the caller's transaction (``store.transaction()`` or ``write()``);
addresses compare case-insensitively (the column is ``COLLATE NOCASE``, with one unique index).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.models import Subscriber
from publisher.store import Store, chunks
from publisher.store.sql import CHUNK, flat, insert_many, marks

BULK_CACHE_MB = 256  # SQLite page cache during an import (released afterwards)
_COLUMNS = "id, email, name, locale, status, consent_source, consent_at, created_at, updated_at, status_at, paused_at"


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change of a subscriber (status, consent, interests or pause)."""

    subscriber_id: int
    at: datetime
    change: str
    old_value: str | None
    new_value: str | None
    source: str
    detail: str = ""

    def row(self) -> tuple:
        return (
            self.subscriber_id,
            to_db(self.at),
            self.change,
            self.old_value,
            self.new_value,
            self.source,
            self.detail,
        )


@contextmanager
def write(store: Store, dry_run: bool = False, bulk: bool = False) -> Iterator[None]:
    """One write transaction of the store; with ``dry_run`` everything is done, then rolled back.

    ``bulk`` (imports) enlarges SQLite's page cache for the transaction — a bulk import inserts
    into indexes at random places (the addresses), which thrashes the default 2 MB cache — and
    skips foreign key checks, which the importer makes redundant.
    """
    if store.conn.in_transaction:
        raise RuntimeError("subscribers.write() cannot join an open transaction")
    cache_mb = BULK_CACHE_MB if bulk else 0
    previous = store.conn.execute("PRAGMA cache_size").fetchone()[0]
    if cache_mb:
        store.conn.execute(f"PRAGMA cache_size = {-1024 * int(cache_mb)}")
    if bulk:
        # Each child row would look its subscriber and tag up again; the import writes only ids it
        # has just inserted and tags it has read, under the write lock, so the checks are redundant.
        store.conn.execute("PRAGMA foreign_keys = OFF")
    try:
        if not dry_run:
            with store.transaction():
                yield
            return
        store.begin()
        try:
            yield
        finally:
            store.conn.execute("ROLLBACK")
    finally:
        store.conn.execute(f"PRAGMA cache_size = {int(previous)}")
        store.conn.execute("PRAGMA foreign_keys = ON")


def _subscriber(row: tuple) -> Subscriber:
    id_, email, name, locale, status, source, consent_at, created, updated, status_at, paused_at = row
    return Subscriber(
        id=id_,
        email=email,
        name=name,
        locale=locale,
        status=status,
        consent_source=source,
        consent_at=from_db(consent_at) if consent_at else None,
        created_at=from_db(created),
        updated_at=from_db(updated),
        status_at=from_db(status_at) if status_at else None,
        paused_at=from_db(paused_at) if paused_at else None,
    )


# --- reading ----------------------------------------------------------------------------


def get_subscriber(store: Store, subscriber_id: int) -> Subscriber | None:
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
    return _subscriber(row) if row else None


def find_by_email(store: Store, email: str) -> Subscriber | None:
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM subscribers WHERE email = ? COLLATE NOCASE", (email,)).fetchone()
    return _subscriber(row) if row else None


def find_by_emails(store: Store, emails: list[str]) -> list[Subscriber]:
    """The stored subscribers with these addresses (compared as the column does: NOCASE)."""
    return [_subscriber(row) for row in _rows_by_email(store, _COLUMNS, emails)]


def stored_emails_among(store: Store, emails: list[str]) -> list[str]:
    """The stored addresses among these (compared as the column does: NOCASE), as stored."""
    return [email for (email,) in _rows_by_email(store, "email", emails)]


def _rows_by_email(store: Store, columns: str, emails: list[str]) -> Iterator[tuple]:
    for chunk in chunks(emails, CHUNK):
        yield from store.conn.execute(
            f"SELECT {columns} FROM subscribers WHERE email COLLATE NOCASE IN ({marks(chunk)})", chunk
        )


def stored_emails(store: Store) -> list[str]:
    """Every stored address."""
    return [email for (email,) in store.conn.execute("SELECT email FROM subscribers")]


def count_subscribers_not_among(store: Store, emails: list[str]) -> int:
    """How many stored subscribers have none of these addresses."""
    sql = f"SELECT count(*) FROM subscribers WHERE email NOT IN ({marks(emails)})"
    return store.conn.execute(sql, emails).fetchone()[0]


def count_subscribers(store: Store) -> int:
    return store.conn.execute("SELECT count(*) FROM subscribers").fetchone()[0]


def interests_of(store: Store, ids: list[int]) -> dict[int, set[int]]:
    """Tag ids of each subscriber's interests."""
    found: dict[int, set[int]] = {subscriber_id: set() for subscriber_id in ids}
    for chunk in chunks(ids, CHUNK):
        for subscriber_id, tag_id in store.conn.execute(
            f"SELECT subscriber_id, tag_id FROM subscriber_interests WHERE subscriber_id IN ({marks(chunk)})", chunk
        ):
            found[subscriber_id].add(tag_id)
    return found


def attributes_of(store: Store, ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {subscriber_id: {} for subscriber_id in ids}
    for chunk in chunks(ids, CHUNK):
        for subscriber_id, name, value in store.conn.execute(
            "SELECT subscriber_id, name, value FROM subscriber_attributes "
            f"WHERE subscriber_id IN ({marks(chunk)}) ORDER BY subscriber_id, name",
            chunk,
        ):
            found[subscriber_id][name] = value
    return found


def history_of(store: Store, subscriber_id: int) -> list[HistoryEntry]:
    return [
        HistoryEntry(subscriber_id, from_db(at), change, old, new, source, detail)
        for at, change, old, new, source, detail in store.conn.execute(
            "SELECT at, change, old_value, new_value, source, detail FROM subscriber_history "
            "WHERE subscriber_id = ? ORDER BY id",
            (subscriber_id,),
        )
    ]


def tag_ids(store: Store) -> dict[str, int]:
    """slug → id of every tag."""
    return dict(store.conn.execute("SELECT slug, id FROM tags"))


def tags_by_id(store: Store) -> dict[int, tuple[str, str]]:
    """id → (slug, name) of every tag."""
    return {tag_id: (slug, name) for tag_id, slug, name in store.conn.execute("SELECT id, slug, name FROM tags")}


def attribute_names(store: Store) -> list[str]:
    return [name for (name,) in store.conn.execute("SELECT DISTINCT name FROM subscriber_attributes ORDER BY name")]


def attribute_values(store: Store, name: str | None = None) -> list[tuple[str, str, int]]:
    """(name, value, how many subscribers have it) of every attribute, or of one, by name and value
    (served by subscriber_attributes_value)."""
    where, params = ("", ()) if name is None else ("WHERE name = ? ", (name,))
    rows = store.conn.execute(
        f"SELECT name, value, count(*) FROM subscriber_attributes {where}GROUP BY name, value ORDER BY name, value",
        params,
    )
    return [(attribute, value, count) for attribute, value, count in rows]


def has_attribute(store: Store, name: str) -> bool:
    """Whether any subscriber has this attribute (one index probe)."""
    return (
        store.conn.execute("SELECT 1 FROM subscriber_attributes WHERE name = ? LIMIT 1", (name,)).fetchone() is not None
    )


def stored_values_among(store: Store, name: str, values: list[str]) -> set[str]:
    """Those of ``values`` that some subscriber has as attribute ``name`` (one index probe each)."""
    return {
        value
        for value in values
        if store.conn.execute(
            "SELECT 1 FROM subscriber_attributes WHERE name = ? AND value = ? LIMIT 1", (name, value)
        ).fetchone()
    }


def next_subscriber_id(store: Store) -> int:
    return store.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM subscribers").fetchone()[0]


def count_by_status(store: Store) -> dict[str, int]:
    return dict(store.conn.execute("SELECT status, count(*) FROM subscribers GROUP BY status ORDER BY status"))


# --- writing ----------------------------------------------------------------------------


_INSERT_SUBSCRIBERS = (
    "INSERT INTO subscribers (id, email, name, locale, status, consent_source, consent_at, created_at, "
    "updated_at, status_at) SELECT column1, column2, column3, column4, column5, column6, column7, ?1, ?1, ?1 "
    "FROM (VALUES {rows})"
)
_INSERT_INTERESTS = "INSERT OR IGNORE INTO subscriber_interests (subscriber_id, tag_id) VALUES {rows}"
_INSERT_ATTRIBUTES = "INSERT INTO subscriber_attributes (subscriber_id, name, value) VALUES {rows}"
_INSERT_HISTORY = (
    "INSERT INTO subscriber_history (subscriber_id, at, change, old_value, new_value, source, detail) VALUES {rows}"
)
# The first history row of subscribers created from lines of a file, from (subscriber_id, line)
# pairs: their status, and their consent as stored, from ``source:LINE`` (?1). SQLite writes them
# from the stored rows; only the pairs cross over from Python.
_INSERT_CREATION_HISTORY = (
    "INSERT INTO subscriber_history (subscriber_id, at, change, old_value, new_value, source, detail) "
    "SELECT s.id, s.created_at, 'status', NULL, s.status, ?1 || ':' || v.column2, "
    "'consent: ' || s.consent_source || coalesce(', ' || s.consent_at, '') "
    "FROM (VALUES {rows}) AS v JOIN subscribers AS s ON s.id = v.column1"
)


@dataclass(frozen=True)
class NewSubscriber:
    """A subscriber's own columns, ``consent_at`` as stored text (publisher.clock.to_db)."""

    id: int
    email: str
    name: str
    locale: str
    status: str
    consent_source: str
    consent_at: str | None

    def row(self) -> tuple:
        """The row for insert_subscriber_rows."""
        return (self.id, self.email, self.name, self.locale, self.status, self.consent_source, self.consent_at)


def insert_subscribers(store: Store, subscribers: list[NewSubscriber], now: datetime) -> None:
    insert_subscriber_rows(store, [subscriber.row() for subscriber in subscribers], to_db(now))


def insert_subscriber_rows(store: Store, rows: Iterable[tuple], now_text: str) -> None:
    """Rows of (id, email, name, locale, status, consent_source, consent_at as stored text), created
    (and changed) at ``now_text``."""
    insert_many(store.conn, _INSERT_SUBSCRIBERS, 7, flat(rows), (now_text,))


@dataclass
class NewRows:
    """Subscribers an import creates from lines of a file, ready to write: each table's values
    one after another, as they bind into multi-row INSERTs (a million rows cross from the
    reading process this way, without a Python object per row).

    subscribers: NewSubscriber.row values (7 each); interests: subscriber_id, tag_id;
    attributes: subscriber_id, name, value; created_from: subscriber_id, line of the file.
    """

    subscribers: list = field(default_factory=list)
    interests: list = field(default_factory=list)
    attributes: list = field(default_factory=list)
    created_from: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.created_from) // 2


def insert_new_subscribers(store: Store, new: NewRows, now_text: str, source: str) -> None:
    """Write the subscribers of ``new``, created at ``now_text`` from the file ``source``, with
    their interests, attributes and first history row (the bulk path of imports)."""
    insert_many(store.conn, _INSERT_SUBSCRIBERS, 7, new.subscribers, (now_text,))
    insert_many(store.conn, _INSERT_INTERESTS, 2, new.interests)
    insert_many(store.conn, _INSERT_ATTRIBUTES, 3, new.attributes)
    insert_many(store.conn, _INSERT_CREATION_HISTORY, 2, new.created_from, (source,))


def update_subscriber(store: Store, subscriber_id: int, now: datetime, **fields: object) -> None:
    """Set some of name, locale, status, consent_source, consent_at, status_at, paused_at."""
    allowed = {"email", "name", "locale", "status", "consent_source", "consent_at", "status_at", "paused_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"cannot update subscribers.{', '.join(sorted(unknown))}")
    values = [to_db(value) if isinstance(value, datetime) else value for value in fields.values()]
    assignments = ", ".join(f"{name} = ?" for name in fields)
    store.conn.execute(
        f"UPDATE subscribers SET {assignments}, updated_at = ? WHERE id = ?", (*values, to_db(now), subscriber_id)
    )


def add_interests(store: Store, pairs: Iterable[tuple[int, int]]) -> None:
    """(subscriber_id, tag_id) pairs; already present ones are kept."""
    insert_many(store.conn, _INSERT_INTERESTS, 2, flat(pairs))


def remove_interests(store: Store, pairs: Iterable[tuple[int, int]]) -> None:
    store.conn.executemany("DELETE FROM subscriber_interests WHERE subscriber_id = ? AND tag_id = ?", pairs)


def add_attributes(store: Store, triples: Iterable[tuple[int, str, str]]) -> None:
    """(subscriber_id, name, value) triples of subscribers who have none of these attributes yet."""
    insert_many(store.conn, _INSERT_ATTRIBUTES, 3, flat(triples))


def set_attributes(store: Store, triples: Iterable[tuple[int, str, str]]) -> None:
    """(subscriber_id, name, value) triples; a new value replaces the old one."""
    insert_many(
        store.conn,
        "INSERT INTO subscriber_attributes (subscriber_id, name, value) VALUES {rows} "
        "ON CONFLICT (subscriber_id, name) DO UPDATE SET value = excluded.value",
        3,
        flat(triples),
    )


def add_history(store: Store, entries: Iterable[HistoryEntry]) -> None:
    add_history_rows(store, (entry.row() for entry in entries))


def add_history_rows(store: Store, rows: Iterable[tuple]) -> None:
    """Rows of (subscriber_id, at, change, old_value, new_value, source, detail), ``at`` as stored text."""
    insert_many(store.conn, _INSERT_HISTORY, 7, flat(rows))


def delete_subscriber(store: Store, subscriber_id: int) -> None:
    """Delete a subscriber with their interests, attributes and history (ON DELETE CASCADE)."""
    store.conn.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))


def delete_pending_before(store: Store, before: datetime) -> int:
    """Delete pending subscribers whose last confirmation request is older than ``before``."""
    cursor = store.conn.execute("DELETE FROM subscribers WHERE status = 'pending' AND updated_at < ?", (to_db(before),))
    return cursor.rowcount


# --- the forget list ----------------------------------------------------------------------


def has_suppressions(store: Store) -> bool:
    return store.conn.execute("SELECT EXISTS (SELECT 1 FROM suppressed_addresses)").fetchone()[0] == 1


def suppressions_with_other_keys(store: Store, key_id: str) -> int:
    return store.conn.execute("SELECT count(*) FROM suppressed_addresses WHERE key_id != ?", (key_id,)).fetchone()[0]


def suppressed_among(store: Store, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(hashes, CHUNK):
        found.update(
            address_hash
            for (address_hash,) in store.conn.execute(
                f"SELECT address_hash FROM suppressed_addresses WHERE address_hash IN ({marks(chunk)})", chunk
            )
        )
    return found


def suppression(store: Store, address_hash: str) -> tuple[datetime, str] | None:
    """(when, source) of a forgotten address, if it is one."""
    row = store.conn.execute(
        "SELECT at, source FROM suppressed_addresses WHERE address_hash = ?", (address_hash,)
    ).fetchone()
    return (from_db(row[0]), row[1]) if row else None


def add_suppression(store: Store, address_hash: str, key_id: str, at: datetime, source: str) -> None:
    store.conn.execute(
        "INSERT INTO suppressed_addresses (address_hash, key_id, reason, at, source) VALUES (?, ?, 'forgotten', ?, ?) "
        "ON CONFLICT (address_hash) DO NOTHING",
        (address_hash, key_id, to_db(at), source),
    )
