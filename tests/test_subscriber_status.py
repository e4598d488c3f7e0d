"""The lifecycle rules table of publisher.subscribers.status, and the config and the store
following it (their status names and the SQL of "who is mailed" are written in their own
language, so they are checked here against the one authority)."""

import sqlite3
from typing import get_args

import pytest

from publisher.config.newsletters import SubscriberStatus
from publisher.store import Store
from publisher.store.segments import FROM_MAILABLE, MAILABLE
from publisher.subscribers.status import (
    LEFT,
    RANK,
    STATUSES,
    TRANSITIONS,
    Source,
    allowed,
    has_left,
    mailable,
)


def changes_allowed_from(source: Source) -> set[tuple[str, str]]:
    return {(old, new) for old in STATUSES for new in STATUSES if allowed(old, new, source)}


def test_a_provider_only_moves_towards_a_stronger_reason_to_leave():
    assert changes_allowed_from(Source.PROVIDER) == {
        (old, new) for old in STATUSES for new in LEFT if RANK[new] > RANK[old]
    }


def test_an_import_leaves_like_a_provider_and_confirms_pending_subscribers():
    assert changes_allowed_from(Source.IMPORT) == changes_allowed_from(Source.PROVIDER) | {("pending", "active")}


def test_a_person_can_only_unsubscribe_who_has_not_left():
    assert changes_allowed_from(Source.PERSON) == {("pending", "unsubscribed"), ("active", "unsubscribed")}


def test_only_a_confirmation_link_brings_back_who_unsubscribed():
    assert changes_allowed_from(Source.CONFIRMATION) == {("pending", "active"), ("unsubscribed", "active")}
    assert [source for source in Source if allowed("unsubscribed", "active", source)] == [Source.CONFIRMATION]


def test_nothing_brings_back_who_bounced_or_complained():
    assert all(TRANSITIONS.values())
    assert [change for change in TRANSITIONS if change[0] in ("bounced", "complained")] == [("bounced", "complained")]
    assert not any(allowed(old, old, source) for old in STATUSES for source in Source)


def test_who_may_be_mailed():
    assert [status for status in STATUSES if mailable(status, paused=False)] == ["active"]
    assert not mailable("active", paused=True)
    assert [status for status in STATUSES if has_left(status)] == ["unsubscribed", "bounced", "complained"]
    assert not has_left(None)


def test_segment_config_accepts_exactly_the_lifecycle_statuses():
    assert get_args(SubscriberStatus) == STATUSES


def test_the_store_mails_whom_the_lifecycle_says(tmp_path):
    with Store(tmp_path / "store.db") as store:
        store.migrate()
        expected = set()
        for number, (status, paused) in enumerate((s, p) for s in STATUSES for p in (False, True)):
            store.conn.execute(
                "INSERT INTO subscribers (id, email, status, paused_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, '2026-01-01', '2026-01-01')",
                (number + 1, f"{number}@example.org", status, "2026-01-02" if paused else None),
            )
            if mailable(status, paused):
                expected.add(number + 1)
        # FROM_MAILABLE names the partial index, whose WHERE must agree with MAILABLE.
        mailed = {row[0] for row in store.conn.execute(f"SELECT s.id FROM {FROM_MAILABLE} WHERE {MAILABLE}")}
        assert mailed == expected == {3}
        with pytest.raises(sqlite3.IntegrityError):
            store.conn.execute(
                "INSERT INTO subscribers (email, status, created_at, updated_at)"
                " VALUES ('x@example.org', 'paused', '2026-01-01', '2026-01-01')"
            )
