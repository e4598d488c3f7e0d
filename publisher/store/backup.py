"""Backups of the store: a consistent copy taken while other processes write, and restoring one.

The copy uses SQLite's online backup API in a single step: one read transaction, so the copy is
the store as it was at one instant even while ``publisher serve`` and a send keep writing (WAL
mode lets them go on meanwhile). It is written beside its target, checked with
``PRAGMA integrity_check`` and only then renamed into place: a backup file is whole or absent.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from publisher.errors import StoreError
from publisher.store import Store, is_damage

# SQLite's files beside a database; they travel with it when it is put aside.
JOURNALS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Restored:
    previous: Path | None  # where the store that was in place is kept (None: there was none)
    size: int
    migrations: list[str]  # applied to the restored store, when the backup is older than the code


def backup_file(path: str, today: date) -> Path:
    """Where ``publisher backup PATH`` writes: PATH, or ``publisher-YYYY-MM-DD.db`` inside it
    when PATH is a folder or ends with a slash (which cron lines can name without a ``%``)."""
    if path.endswith(os.sep) or Path(path).is_dir():
        return Path(path) / f"publisher-{today.isoformat()}.db"
    return Path(path)


def back_up(store: Store, target: Path) -> int:
    """Write a checked copy of ``store`` to ``target`` (replacing it) and return its size in bytes."""
    _copy(store.path, target)
    return target.stat().st_size


def restore(store_path: Path, backup: Path, stamp: str) -> Restored:
    """Put a checked copy of ``backup`` in place of the store at ``store_path`` and apply the
    migrations it lacks; the store that was there is kept aside, with its journals, as
    ``NAME.before-restore-STAMP``.

    The caller holds the store's process lock (``publisher serve`` cannot be running)."""
    if not backup.is_file():
        raise StoreError(f"{backup}: no such backup file")
    check_backup(backup)
    _copy(backup, store_path.with_name(store_path.name + ".restoring"))
    previous = _put_aside(store_path, f"before-restore-{stamp}")
    os.replace(store_path.with_name(store_path.name + ".restoring"), store_path)
    size = store_path.stat().st_size
    with Store(store_path) as store:
        return Restored(previous, size, store.migrate())


def check_backup(path: Path) -> None:
    """StoreError unless ``path`` is an undamaged SQLite file holding a publisher store."""
    try:
        conn = _read_only(path)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            has_schema = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'migrations'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        if not is_damage(error):
            raise StoreError(f"{path}: cannot be read as a store ({error})") from None
        problems = [str(error)]
    if problems != ["ok"]:
        raise StoreError(f"{path}: damaged, not a good backup ({problems[0]})")
    if not has_schema:
        raise StoreError(f"{path}: not a publisher store (no migrations table)")


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _copy(source: Path, target: Path) -> None:
    """Copy the database ``source`` to ``target`` through a temporary file beside it, checked
    before the rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    reader, copy = _read_only(source), sqlite3.connect(partial)
    try:
        reader.backup(copy)  # all pages in one step: one consistent snapshot
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        reader.close()
        copy.close()
    try:
        check_backup(partial)
    except StoreError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)


def _put_aside(path: Path, suffix: str) -> Path | None:
    """Rename the database at ``path`` and its journals to ``PATH.SUFFIX``; None if there is none."""
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.{suffix}")
    for journal in JOURNALS:
        companion = path.with_name(path.name + journal)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + journal))
    os.replace(path, aside)
    return aside
