"""send_newsletter end to end: segment members (publisher.subscribers.segments) → planned editions
(publisher.digests) → ledger → SendGrid-compatible server, and the "newsletters" step of
`publisher run-once`. Runs once the segments and digests features are merged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from support.apps import app_for
from support.delivery import add_subscribers, use_sendgrid
from support.sendgrid_fake import FakeSendgrid

from publisher.cli import main
from publisher.cycle import run_once
from publisher.delivery.send import dry_run, send_newsletter
from publisher.demo import load_demo
from publisher.store.senders import last_fire, set_last_fire

segments = pytest.importorskip("publisher.subscribers.segments")
pytest.importorskip("publisher.digests")


def members(app, segment: str) -> set[str]:
    return {recipient.email for chunk in segments.stream_members(app, segment) for recipient in chunk}


def prepared(app):
    load_demo(app)
    if not members(app, "tous"):
        add_subscribers(app.store, 40)
    return members(app, "tous")


def test_send_newsletter_reaches_every_member_once_and_never_twice(app, config_file, clock):
    expected = prepared(app)
    fake = FakeSendgrid().start()
    try:
        use_sendgrid(config_file, fake.url, batch_size=7)
        sender = app_for(config_file, clock, sendgrid_api_key="SG.e2e")

        planned = dry_run(sender, "hebdo")
        assert sum(edition.recipients for edition in planned) == len(expected)
        assert not fake.requests  # a dry run sends nothing

        report = send_newsletter(sender, "hebdo")

        received = fake.recipients()
        assert set(received) == expected and set(received.values()) == {1}
        assert report.sent == len(expected) and all(edition.status == "sent" for edition in report.editions)
        requests = fake.requests
        again = send_newsletter(sender, "hebdo")
        assert again.sent == 0 and fake.requests == requests  # nothing new: nobody gets it twice
        sender.close()
    finally:
        fake.stop()
    assert not fake.invalid


def test_dry_run_and_test_copy_from_the_command_line(app, config_file, monkeypatch):
    prepared(app)
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    result = CliRunner().invoke(main, ["--config", str(config_file), "send", "hebdo", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "hebdo → segment tous:" in result.output and "recipients (dry run)" in result.output
    result = CliRunner().invoke(
        main, ["--config", str(config_file), "send", "hebdo", "--test-to", "redaction@horizons-emploi.example.org"]
    )
    assert result.exit_code == 0, result.output
    assert not any(app.store.db["deliveries"].rows)


def test_run_once_sends_due_newsletters_to_the_outbox_and_records_the_fire(app, config, clock):
    expected = prepared(app)
    set_last_fire(app.store, "hebdo", datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    clock.set(datetime(2026, 11, 30, 7, 5, tzinfo=UTC))  # Monday 08:05 in Paris
    results = {result.name: result.summary for result in run_once(app)}
    assert "sent" in results["newsletter:hebdo"]
    outbox = config.delivery.outbox.path
    assert {path.name.split("-e")[0] for path in outbox.glob("*.eml")} >= {"hebdo"}
    assert len(list(outbox.glob("hebdo-*.eml"))) == len(expected)
    assert last_fire(app.store, "hebdo") == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    again = {result.name: result.summary for result in run_once(app)}["newsletter:hebdo"]
    assert again == "not due (next: 2026-12-07 08:00 CET)"
