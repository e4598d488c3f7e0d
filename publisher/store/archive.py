"""SQL for the archive of sent editions: which ones a reader may browse, and their HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.clock import from_db
from publisher.store import Store
from publisher.store.sql import marks


@dataclass(frozen=True)
class ArchivedEdition:
    id: int
    newsletter: str
    subject: str
    sent_at: datetime
    created_at: datetime


_ARCHIVED = "id, newsletter, subject, coalesce(finished_at, created_at), created_at"


def _archived(row: tuple) -> ArchivedEdition:
    id_, newsletter, subject, sent_at, created_at = row
    return ArchivedEdition(id_, newsletter, subject, from_db(sent_at), from_db(created_at))


def archived_editions(store: Store, newsletters: list[str], limit: int = 100) -> list[ArchivedEdition]:
    """Sent editions of these newsletters, newest first (served by editions_status)."""
    if not newsletters:
        return []
    rows = store.conn.execute(
        f"SELECT {_ARCHIVED} FROM editions WHERE status = 'sent' AND newsletter IN ({marks(newsletters)}) "
        "ORDER BY id DESC LIMIT ?",
        (*newsletters, limit),
    )
    return [_archived(row) for row in rows]


@dataclass(frozen=True)
class ArchivedContent:
    """A sent edition's HTML, placeholders still in, and the segment and content key that name them."""

    edition: ArchivedEdition
    segment: str
    content_key: str
    html: str


def archived_edition_html(store: Store, edition_id: int) -> ArchivedContent | None:
    """A sent edition and its HTML, or None."""
    row = store.conn.execute(
        f"SELECT {_ARCHIVED}, segment, content_key, html FROM editions WHERE id = ? AND status = 'sent'", (edition_id,)
    ).fetchone()
    if row is None:
        return None
    *edition, segment, content_key, html = row
    return ArchivedContent(_archived(tuple(edition)), segment, content_key, html)
