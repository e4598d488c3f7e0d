"""SQL for the runs table: one row per publishing cycle or long command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.clock import from_db, to_db
from publisher.store import Store


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    summary: str
    error: str | None


def start_run(store: Store, kind: str) -> int:
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO runs (kind, started_at, status) VALUES (?, ?, 'running')", (kind, to_db(store.clock.now()))
        )
    return cursor.lastrowid


def finish_run(store: Store, run_id: int, summary: str, error: str | None = None) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ?, error = ? WHERE id = ?",
            (to_db(store.clock.now()), "failed" if error else "ok", summary, error, run_id),
        )


def recent_runs(store: Store, limit: int = 10) -> list[Run]:
    rows = store.conn.execute(
        "SELECT id, kind, started_at, finished_at, status, summary, error FROM runs "
        "ORDER BY started_at DESC, id DESC LIMIT ?",
        (limit,),
    )
    return [
        Run(id, kind, from_db(started), from_db(finished) if finished else None, status, summary, error)
        for id, kind, started, finished, status, summary, error in rows
    ]
