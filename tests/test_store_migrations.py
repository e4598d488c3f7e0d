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
        assert upgraded.migrate()[0] == "0007_ledger_check"  # then any later ones
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


def test_0012_starts_each_reader_at_the_newest_plan_that_served_them_and_forgets_them_with_the_subscriber(
    tmp_path, monkeypatch
):
    path = tmp_path / "old.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", [m for m in store_module.MIGRATIONS if m[0] <= 11])
    with Store(path) as old:
        old.migrate()
        with old.transaction() as conn:
            for subscriber in (7, 8, 9):
                conn.execute(
                    "INSERT INTO subscribers (id, email, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
                    (subscriber, f"s{subscriber}@example.org"),
                )
            # plan, segment, watermark, edition status, readers
            for plan, segment, watermark, status, readers in (
                (1, "tous", "2026-11-02T08:00:00Z", "sent", (7, 8)),
                (2, "apprentissage-tours", "2026-11-05T08:00:00Z", "sent", (7,)),
                (3, "tous", "2026-11-09T08:00:00Z", "failed", (8,)),
            ):
                conn.execute(
                    "INSERT INTO digest_plans (id, newsletter, segment, planned_at, status, watermark) "
                    "VALUES (?, 'hebdo', ?, 'x', 'planned', ?)",
                    (plan, segment, watermark),
                )
                conn.execute(
                    "INSERT INTO editions (id, newsletter, segment, content_key, subject, html, text, article_ids, "
                    "created_at, status, plan_id) VALUES (?, 'hebdo', ?, 'k', 'S', '', '', '[]', 'x', ?, ?)",
                    (plan, segment, status, plan),
                )
                for reader in readers:
                    conn.execute("INSERT INTO deliveries (edition_id, subscriber_id) VALUES (?, ?)", (plan, reader))
    monkeypatch.undo()

    with Store(path) as upgraded:
        upgraded.migrate()
        rows = (
            "SELECT r.subscriber_id, r.newsletter, g.plan_id FROM reader_watermarks r "
            "JOIN watermark_groups g ON g.id = r.group_id ORDER BY r.subscriber_id"
        )
        assert upgraded.conn.execute(rows).fetchall() == [(7, "hebdo", 2), (8, "hebdo", 1)]
        with upgraded.transaction() as conn:
            conn.execute("DELETE FROM subscribers WHERE id = 7")
        assert upgraded.conn.execute(rows).fetchall() == [(8, "hebdo", 1)]
