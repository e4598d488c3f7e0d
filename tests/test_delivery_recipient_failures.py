"""A recipient that cannot be sent fails alone, with its reason; the rest of the batch goes out.

Rows that predate the address policy (a name with CR/LF or NUL, a non-ASCII local part, a
quoted one…) are written straight into a real store, bypassing import and sign-up, then the
newsletter is sent with the real CLI through the outbox and through SMTP (aiosmtpd)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import invoke_cli
from support.config import set_keys
from support.delivery import add_subscribers, make_edition
from test_delivery_outbox_smtp import Recorder, start_smtp_server

from publisher.app import App
from publisher.clock import to_db
from publisher.delivery.send import enqueue
from publisher.demo import load_demo
from publisher.models import Recipient
from publisher.store.deliveries import delivery_counts, ledger_rows

HOSTILE = json.loads((Path(__file__).parent / "data/hostile/sendfail_recipients.json").read_text(encoding="utf-8"))
FIRST_BAD = 1000  # the hostile rows get ids 1000, 1001…; good ones 1..20 and 2000..2019


def add_hostile_rows(app: App) -> dict[int, str]:
    """The hostile rows of tests/data/hostile, written as a careless old import would have:
    subscriber id → the reason its delivery must fail with."""
    now = to_db(app.clock.now())
    rows = [
        {"id": FIRST_BAD + n, "email": row["email"], "name": row["name"], "status": "active"}
        for n, row in enumerate(HOSTILE)
    ]
    with app.store.transaction():
        app.store.db["subscribers"].insert_all([row | {"created_at": now, "updated_at": now} for row in rows])
    return {FIRST_BAD + n: row["reason"] for n, row in enumerate(HOSTILE)}


def hostile_edition(app: App) -> tuple[int, dict[int, str], list[int]]:
    """An edition to 40 good subscribers around the hostile ones: (edition id, bad, good)."""
    good = add_subscribers(app.store, 20) + add_subscribers(app.store, 20, start=2000)
    bad = add_hostile_rows(app)
    edition = make_edition(app.store)
    enqueue(app.store, edition, good + [Recipient(subscriber_id, "", "") for subscriber_id in bad])
    return edition.id, bad, [recipient.subscriber_id for recipient in good]


def run(config_file: Path, *args: str):
    return invoke_cli(config_file, *args)


@pytest.fixture
def signing_secret(monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "s" * 32)


def assert_each_bad_row_failed_alone(app: App, edition_id: int, bad: dict[int, str], good: list[int]) -> None:
    rows = {subscriber: (status, error) for subscriber, status, _, error in ledger_rows(app.store, edition_id)}
    assert {subscriber: rows[subscriber] for subscriber in bad} == {
        subscriber: ("failed", reason) for subscriber, reason in bad.items()
    }
    assert {rows[subscriber] for subscriber in good} == {("sent", None)}


def assert_status_lists_the_failures(config_file: Path, edition_id: int, bad: dict[int, str]) -> None:
    result = run(config_file, "status")
    assert result.exit_code == 0, result.output
    edition_line = next(line for line in result.output.splitlines() if f"edition {edition_id} hebdo/tous" in line)
    assert f"40 sent, {len(bad)} failed" in edition_line
    failures = [line for line in result.output.splitlines() if "FAILED" in line]
    for reason in set(bad.values()):
        ids = sorted(subscriber for subscriber, why in bad.items() if why == reason)
        line = next(line for line in failures if f"{len(ids)} × {reason} — subscriber" in line)
        assert ", ".join(map(str, ids[:5])) in line
    addresses = [row["email"] for row in HOSTILE if "@" in row["email"]]
    assert not [email for email in addresses if email in result.output], "status shows ids, never addresses"


@pytest.mark.parametrize("batch_size, concurrency", [(3, 2), (1, 1)])
def test_outbox_sends_everyone_else_and_fails_each_bad_row_with_its_reason(
    app, config_file, signing_secret, batch_size, concurrency
):
    # Small batches: many hold only bad rows; refusing them must neither pause nor stop the send.
    set_keys(config_file, "delivery", batch_size=batch_size, concurrency=concurrency, pause_after_failures=2)
    edition_id, bad, good = hostile_edition(app)

    result = run(config_file, "send", "hebdo")

    assert result.exit_code == 0, result.output
    assert f"resumed, 1 edition, 40 sent, {len(bad)} failed" in result.output
    outbox = app.config.delivery.outbox.path
    assert sorted(path.name for path in outbox.iterdir()) == sorted(f"hebdo-e{edition_id}-s{n}.eml" for n in good)
    assert_each_bad_row_failed_alone(app, edition_id, bad, good)
    assert_status_lists_the_failures(config_file, edition_id, bad)


class Refusing(Recorder):
    """Refuses abonne3 at RCPT (550) and abonne2005's message at DATA (554)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == "abonne3@example.org":
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos == ["abonne2005@example.org"]:
            return "554 5.7.1 message refused as spam"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def refusing_smtp():
    recorder, controller = start_smtp_server(Refusing())
    yield recorder
    controller.stop()


def test_smtp_sends_everyone_else_and_fails_bad_rows_and_refusals_alone(
    app, config_file, signing_secret, refusing_smtp
):
    set_keys(config_file, "delivery", transport="smtp", batch_size=7, concurrency=2, pause_after_failures=2)
    set_keys(config_file, "delivery.smtp", host="127.0.0.1", port=refusing_smtp.port, starttls=False, username="")
    edition_id, bad, good = hostile_edition(app)

    result = run(config_file, "send", "hebdo")

    assert result.exit_code == 0, result.output
    assert f"resumed, 1 edition, 38 sent, {len(bad) + 2} failed" in result.output
    delivered = [to for _, (to,), _ in refusing_smtp.messages]
    expected = [f"abonne{n}@example.org" for n in good if n not in (3, 2005)]
    assert sorted(delivered) == sorted(expected), "everyone else got it, exactly once"
    refused = {3: "SMTP 550 5.1.1 mailbox unavailable", 2005: "SMTP 554 5.7.1 message refused as spam"}
    assert_each_bad_row_failed_alone(app, edition_id, bad | refused, [n for n in good if n not in refused])
    counts = delivery_counts(app.store, edition_id)
    assert (counts["sent"], counts["failed"], counts["unknown"], counts["pending"]) == (38, len(bad) + 2, 0, 0)


def test_a_test_copy_to_an_address_no_message_can_carry_is_one_error_line(app, config_file, signing_secret):
    load_demo(app)
    result = run(config_file, "send", "hebdo", "--test-to", "élodie@example.org")
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("Error: ") and "ASCII" in line, line
    assert not app.config.delivery.outbox.path.exists() or not list(app.config.delivery.outbox.path.iterdir())
