"""Migrations: a store made by an earlier version keeps its data when upgraded."""

import sqlite3

import pytest

from publisher import store as store_module
from publisher.store import Store


def test_0007_rebuilds_the_ledger_with_its_rows_and_a_check_that_still_refuses_bad_statuses(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", [m for m in store_module.MIGRATIONS if m[0] <= 6])
    with Store(path) as old:
        old.migrate()
        with old.transaction() as conn:
            conn.execute(
                "INSERT INTO subscribers (id, email, created_at, updated_at) VALUES (7, 'a@example.org', 'x', 'x')"
            )
            conn.execute(
                "INSERT INTO editions (id, newsletter, segment, content_key, subject, html, text, article_ids, "
                "created_at) VALUES (1, 'hebdo', 'tous', 'k', 'S', '', '', '[]', 'x')"
            )
            conn.execute(
                "INSERT INTO deliveries (edition_id, subscriber_id, status, batch_id, provider_message_id, error, "
                "event, event_at) VALUES (1, 7, 'sent', 3, 'm1', NULL, 'delivered', '2026-11-26T09:00:00Z')"
            )
    monkeypatch.undo()

    with Store(path) as upgraded:
        assert upgraded.migrate()[0] == "0007_ledger_check"
        conn = upgraded.conn
        assert conn.execute("SELECT * FROM deliveries").fetchall() == [
            (1, 7, "sent", 3, "m1", None, "delivered", "2026-11-26T09:00:00Z")
        ]
        assert conn.execute("PRAGMA index_list(deliveries)").fetchall()[0][1] == "deliveries_subscriber"
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            conn.execute("UPDATE deliveries SET status = 'lost'")
        with upgraded.transaction() as conn:  # erasing a subscriber still erases their deliveries
            conn.execute("DELETE FROM subscribers WHERE id = 7")
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
