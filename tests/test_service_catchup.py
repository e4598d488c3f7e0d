"""Catch-up without duplicates, with a fake clock: a send missed by less than [service]
catch_up_minutes goes out once; an older one is skipped, logged and recorded; a newsletter is
never sent on the first run that sees it; DST does not move the window. The newsletter job is
the same for `publisher serve` and `publisher run-once`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from publisher.article_import import import_files
from publisher.cycle import run_once
from publisher.delivery.send import send_due_newsletter
from publisher.demo import demo_file
from publisher.store import deliveries as ledger
from publisher.store import senders
from publisher.subscribers import lifecycle


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def demo(app):
    """The demo articles and three active subscribers (the demo's 340 would only slow this down)."""
    import_files(app.store, [demo_file("articles.jsonl")], "fr")
    for name in ("camille", "dominique", "sacha"):
        lifecycle.subscribe(app, f"{name}@example.org", name.title(), ["apprentissage"], "test")
        lifecycle.confirm(app, lifecycle.find_subscriber(app, f"{name}@example.org").id, "test")
    return app


def sent_editions(app) -> int:
    return len(ledger.recent_edition_deliveries(app.store, 100))


def test_a_send_missed_within_the_window_goes_out_once(demo, clock):
    senders.set_last_fire(demo.store, "hebdo", at("2026-11-23T08:00:00+01:00"))
    clock.set(at("2026-11-30T08:40:00+01:00"))  # the service was down at 08:00
    summary = send_due_newsletter(demo, "hebdo")
    assert "sent" in summary and "skipped" not in summary
    assert senders.last_fire(demo.store, "hebdo") == at("2026-11-30T08:00:00+01:00")
    editions = sent_editions(demo)
    assert editions >= 1
    clock.advance(minutes=5)
    # Handled: nothing twice, and `status` says when the next one is.
    assert send_due_newsletter(demo, "hebdo") == "not due (next: 2026-12-07 08:00 CET)"
    assert sent_editions(demo) == editions


def test_a_send_missed_by_more_than_the_window_is_skipped_and_logged(demo, clock, caplog):
    senders.set_last_fire(demo.store, "hebdo", at("2026-11-23T08:00:00+01:00"))
    clock.set(at("2026-11-30T10:30:00+01:00"))  # 2 h 30 late, the window is 2 h
    with caplog.at_level(logging.WARNING):
        summary = send_due_newsletter(demo, "hebdo")
    assert "skipped" in summary
    assert "missed by more than 2:00:00" in caplog.text
    assert sent_editions(demo) == 0
    assert senders.last_fire(demo.store, "hebdo") == at("2026-11-30T08:00:00+01:00")
    clock.set(at("2026-12-07T08:00:30+01:00"))  # the next Monday is sent as usual
    assert "sent" in send_due_newsletter(demo, "hebdo")
    assert sent_editions(demo) >= 1


def test_missed_fire_times_are_coalesced_into_the_latest(demo, clock):
    senders.set_last_fire(demo.store, "hebdo", at("2026-11-02T08:00:00+01:00"))
    clock.set(at("2026-11-30T08:10:00+01:00"))  # three Mondays missed, the fourth is now
    send_due_newsletter(demo, "hebdo")
    assert senders.last_fire(demo.store, "hebdo") == at("2026-11-30T08:00:00+01:00")
    assert len({edition.newsletter for edition in ledger.recent_edition_deliveries(demo.store, 100)}) == 1


def test_the_first_run_that_sees_a_newsletter_does_not_send_an_old_fire_time(demo, clock):
    clock.set(at("2026-11-26T10:00:00+01:00"))  # Thursday; hebdo last fired on Monday
    assert send_due_newsletter(demo, "hebdo") == "not due (next: 2026-11-30 08:00 CET)"
    assert sent_editions(demo) == 0
    assert senders.added_at(demo.store, "hebdo") == clock.now()
    [hebdo] = [result for result in run_once(demo) if result.name == "newsletter:hebdo"]  # run-once alike
    assert hebdo.summary.startswith("not due")
    assert sent_editions(demo) == 0


def test_the_window_counts_real_time_across_the_spring_change(demo, clock):
    senders.set_last_fire(demo.store, "hebdo", at("2027-03-22T08:00:00+01:00"))
    clock.set(at("2027-03-29T09:50:00+02:00"))  # 1 h 50 after 08:00 summer time
    assert "skipped" not in send_due_newsletter(demo, "hebdo")
    assert senders.last_fire(demo.store, "hebdo") == at("2027-03-29T08:00:00+02:00")
