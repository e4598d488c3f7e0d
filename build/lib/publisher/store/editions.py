"""SQL for editions: compiled digests shared by every recipient of the same content."""

from __future__ import annotations

import json

from publisher.clock import to_db
from publisher.errors import NotFoundError
from publisher.models import Edition
from publisher.store import Store


def insert_edition(store: Store, edition: Edition) -> Edition:
    """Store a compiled edition; return it with its id."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO editions (newsletter, segment, content_key, subject, preheader, html, text, "
            "article_ids, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                edition.newsletter,
                edition.segment,
                edition.content_key,
                edition.subject,
                edition.preheader,
                edition.html,
                edition.text,
                json.dumps(list(edition.article_ids)),
                edition.status,
                to_db(store.clock.now()),
            ),
        )
    return get_edition(store, cursor.lastrowid)


def get_edition(store: Store, edition_id: int) -> Edition:
    row = store.conn.execute(
        "SELECT id, newsletter, segment, content_key, subject, preheader, html, text, article_ids, status "
        "FROM editions WHERE id = ?",
        (edition_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"edition {edition_id} does not exist")
    id_, newsletter, segment, key, subject, preheader, html, text, article_ids, status = row
    return Edition(
        id=id_,
        newsletter=newsletter,
        segment=segment,
        content_key=key,
        subject=subject,
        preheader=preheader,
        html=html,
        text=text,
        article_ids=tuple(json.loads(article_ids)),
        status=status,
    )


def set_edition_status(store: Store, edition_id: int, status: str, reason: str | None = None) -> None:
    finished = to_db(store.clock.now()) if status in ("sent", "failed") else None
    with store.transaction() as conn:
        conn.execute(
            "UPDATE editions SET status = ?, status_reason = ?, finished_at = coalesce(?, finished_at) WHERE id = ?",
            (status, reason, finished, edition_id),
        )
