"""The SQLite store: the only place that talks SQL.

All SQL is written by hand, parameterised, on ``Store.conn`` (a plain ``sqlite3`` connection):
the hot paths need control of the statement's shape (multi-row INSERTs and ``json_each`` for
imports and the ledger, ``INDEXED BY`` and ``CROSS JOIN`` where SQLite would choose a slow
plan), and comments name the index that serves a query where it matters. sqlite-utils wraps
the same connection as ``Store.db``: the product uses it only to ask whether the migrations
table exists; the tests and benches use it to seed and read tables (``insert_all``,
``update``, ``rows``).

One handle: every store function takes the ``Store`` first. Functions that write either open
their own ``store.transaction()`` or, when they are steps of a larger change (a subscriber
import, a sign-up), run inside the caller's (``store.transaction()`` or
``subscribers.write()``); a nested ``transaction()`` joins the open one. Only the helpers of
``sql.py`` take ``store.conn``.

The connection runs in autocommit mode and every write happens inside an explicit
``transaction()`` (BEGIN IMMEDIATE … COMMIT), so a failure never leaves half a change.
Schema changes only through the numbered files in ``migrations/``.

Modules, by what they store:

- ``articles``: articles and tags (and the tags offered in forms);
- ``feeds``: what each feed shows, feed build state, WebSub pings to send;
- ``digests``: audience watermarks, digest plans and edition contents;
- ``watermarks``: readers' watermarks (up to where each newsletter served each reader);
- ``editions``: compiled editions;
- ``archive``: the sent editions readers may browse;
- ``subscribers``: subscribers, interests, attributes, history, the forget list;
- ``segments``: segment filters compiled to SQL, counted and streamed;
- ``signup_mails``: the queue of sign-up emails;
- ``deliveries``: the delivery ledger, its batches and webhook updates;
- ``sends``: the editions of one send grouped, as /admin/ lists them;
- ``senders``: newsletter runs, the sender lock, shared rate limits;
- ``webhook_events``: Event Webhook events already applied;
- ``figures``: the counters of each edition's figures, and the counts behind readers over time;
- ``runs``: one row per publishing cycle or long command;
- ``sql``: the helpers all of them share (placeholders, chunk size, multi-row INSERT);
- ``backup``: consistent, checked copies of the store (SQLite's online backup) and restoring one;
- ``process_lock``: the lock file ``publisher serve`` and ``publisher restore`` hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from publisher.clock import Clock, SystemClock, to_db
from publisher.errors import StoreBusy, StoreDamaged, StoreError
from publisher.slugs import cap_slug


def _migration_files() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every migrations/NNNN_name.sql, in order."""
    found = []
    for entry in resources.files("publisher.store.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append((int(number), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


MIGRATIONS = _migration_files()
# How long a write waits for another process's write to finish before StoreBusy.
BUSY_TIMEOUT_SECONDS = 30.0
T = TypeVar("T")


class Store:
    """An open SQLite database with the publisher schema."""

    def __init__(self, path: str | Path, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock = clock or SystemClock()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                str(path), isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as error:
            if is_damage(error):
                raise damaged_store(path, error) from None
            raise StoreError(f"{path}: cannot open the store: {error}") from None
        conn.create_function("cap_slug", 1, cap_slug, deterministic=True)  # for migration 0008
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        self.db = sqlite_utils.Database(conn)
        self.conn = conn

    @classmethod
    def open(cls, path: str | Path, clock: Clock | None = None) -> Store:
        """Open a store that is fully migrated; refuse one that needs ``publisher init``."""
        store = cls(path, clock)
        pending = store.pending_migrations()
        if pending:
            store.close()
            names = ", ".join(f"{number:04d}_{name}" for number, name, _ in pending)
            raise StoreError(f"{path}: the store needs migrations {names}: run `publisher init`")
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested calls join the outer transaction."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.begin()
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def begin(self) -> None:
        """Start a write transaction (BEGIN IMMEDIATE); StoreBusy when another process keeps the
        write lock longer than BUSY_TIMEOUT_SECONDS."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            raise StoreBusy(
                f"{self.path}: the store is busy with another write (waited {BUSY_TIMEOUT_SECONDS:g} s); try again"
            ) from None

    # --- migrations -------------------------------------------------------------------

    def applied_migrations(self) -> set[int]:
        if not self.db["migrations"].exists():
            return set()
        return {number for (number,) in self.conn.execute("SELECT number FROM migrations")}

    def pending_migrations(self) -> list[tuple[int, str, str]]:
        applied = self.applied_migrations()
        return [migration for migration in MIGRATIONS if migration[0] not in applied]

    def migrate(self) -> list[str]:
        """Apply every pending migration, each in its own transaction; return their names."""
        applied = []
        for number, name, sql in self.pending_migrations():
            with self.transaction() as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS migrations "
                    "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO migrations (number, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, to_db(self.clock.now())),
                )
            applied.append(f"{number:04d}_{name}")
        return applied


_DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def is_damage(error: BaseException) -> bool:
    """Whether SQLite found the file damaged or not a database at all (any command can meet
    this, on any page it reads)."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.DatabaseError) and code is not None and code & 0xFF in _DAMAGE_CODES


def damaged_store(path: str | Path | None, error: BaseException) -> StoreDamaged:
    return StoreDamaged(
        f"{path or 'the store'}: the store file looks damaged ({error}); stop the service and restore "
        "the last backup (docs/operations.md, section A damaged store)"
    )


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Successive lists of ``size`` items (itertools.batched needs Python 3.12)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _statements(sql: str) -> Iterator[str]:
    """Split a migration script into complete statements (executescript would COMMIT)."""
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip() and not all(part.strip().startswith("--") or not part.strip() for part in pending.splitlines()):
        raise StoreError(f"incomplete SQL statement in migration: {pending.strip()[:60]}")
