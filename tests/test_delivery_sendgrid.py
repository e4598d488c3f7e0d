"""The SendGrid transport and the engine against a local SendGrid-compatible server.

The official client is pointed at the server through [delivery.sendgrid] api_host; every
request body is validated against SendGrid's mail-send schema (tests/support/sendgrid_fake.py).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from support.apps import app_for
from support.config import set_keys
from support.delivery import add_subscribers, make_edition, placeholders_of, use_sendgrid
from support.sendgrid_fake import FakeSendgrid, mail_send_validator

from publisher.delivery.content import Personalizer, edition_content
from publisher.delivery.engine import deliver_pending
from publisher.delivery.send import enqueue
from publisher.delivery.sendgrid_api import SendgridTransport, build_request
from publisher.delivery.status import status_lines
from publisher.placeholders import RecipientValues, html_key
from publisher.store.deliveries import delivery_counts, ledger_rows
from publisher.store.editions import get_edition
from publisher.tokens import UNSUBSCRIBE, links_signer, verify


@pytest.fixture
def fake():
    server = FakeSendgrid().start()
    yield server
    server.stop()
    assert not server.invalid, f"invalid requests: {server.invalid[:3]}"


@pytest.fixture
def sg_config(config_file: Path, fake: FakeSendgrid) -> Path:
    # build_processes = 1: requests are built in this process (the pool is tested by the must-show test)
    use_sendgrid(config_file, fake.url, build_processes=1)
    return config_file


def sendgrid_app(config_file, clock):
    return app_for(config_file, clock, sendgrid_api_key="SG.test-key")


@pytest.fixture
def sg_app(sg_config, clock, app):  # ``app`` migrates the store of config_file
    application = sendgrid_app(sg_config, clock)
    yield application
    application.close()


def test_requests_carry_personal_values_headers_and_ids_within_limits(sg_app, sg_config, fake, clock):
    set_keys(sg_config, "delivery", unsubscribe_mailto="desabonnement@horizons-emploi.example.org", batch_size=3)
    set_keys(sg_config, "delivery.sendgrid", asm_group_id=4242, categories=["lettres"])
    application = sendgrid_app(sg_config, clock)
    recipients = add_subscribers(application.store, 2)
    recipients += add_subscribers(application.store, 1, start=3, name='Zoé "Z" <Dupont> & fils, Tours; 37')
    edition = make_edition(application.store)
    enqueue(application.store, edition, recipients)

    report = deliver_pending(application, edition.id)

    assert (report.status, report.sent, report.requests) == ("sent", 3, 1)
    body = fake.accepted[0].body
    assert fake.auth_headers == {"Bearer SG.test-key"}
    assert body["custom_args"] == {"newsletter": "hebdo", "edition_id": str(edition.id)}
    assert body["categories"] == ["hebdo", "lettres"]
    assert body["asm"] == {"group_id": 4242}
    assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
    text, html = (part["value"] for part in body["content"])
    ph = placeholders_of(edition)
    assert ph.name in text and ph.name not in html and html_key(ph.name) in html
    assert f"/archive/{edition.id}" in text  # the view-online link is filled once, not per recipient
    zoe = body["personalizations"][2]
    assert zoe["to"] == [{"email": "abonne3@example.org", "name": 'Zoé "Z" <Dupont> & fils  Tours  37'}]
    assert zoe["custom_args"] == {"subscriber_id": "3"}
    subs = zoe["substitutions"]
    assert subs[ph.name] == 'Zoé "Z" <Dupont> & fils, Tours; 37'
    assert subs[html_key(ph.name)] == "Zoé &quot;Z&quot; &lt;Dupont&gt; &amp; fils, Tours; 37"
    token = subs[ph.unsubscribe_url].rsplit("/", 1)[1]
    assert verify("test-secret", token, UNSUBSCRIBE) == 3
    assert zoe["headers"] == {
        "List-Unsubscribe": f"<{subs[ph.unsubscribe_url]}>, "
        "<mailto:desabonnement@horizons-emploi.example.org?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert ledger_rows(application.store, edition.id) == [(n, "sent", "msg00001", None) for n in (1, 2, 3)]
    application.close()


def test_sandbox_mode_is_sent_and_answered_200(sg_app, sg_config, fake, clock):
    set_keys(sg_config, "delivery.sendgrid", sandbox=True)
    application = sendgrid_app(sg_config, clock)
    edition = make_edition(application.store)
    enqueue(application.store, edition, add_subscribers(application.store, 5))
    report = deliver_pending(application, edition.id)
    assert (report.status, report.sent) == ("sent", 5)
    assert fake.answers == Counter({200: 1}) and not fake.accepted
    application.close()


def test_429_waits_for_reset_and_500_retries_then_all_sent_once(sg_app, fake):
    resets = {}

    def faults(number):
        if number == 1:
            resets[1] = time.time() + 1
            return ("429", int(resets[1]) + 1)
        return ("500",) if number in (2, 3) else None

    fake.faults = faults
    edition = make_edition(sg_app.store)
    enqueue(sg_app.store, edition, add_subscribers(sg_app.store, 250))

    report = deliver_pending(sg_app, edition.id)

    assert (report.status, report.sent) == ("sent", 250)
    assert fake.answers[429] == 1 and fake.answers[500] == 2
    assert set(fake.recipients().values()) == {1} and len(fake.recipients()) == 250
    batches = sg_app.store.conn.execute("SELECT status, count(*) FROM delivery_batches GROUP BY 1").fetchall()
    assert dict(batches) == {"retry": 3, "sent": 3}


def test_payload_error_fails_the_batch_with_sendgrids_message_without_retry(sg_app, fake):
    fake.faults = lambda number: ("400", "The from address does not match a verified Sender Identity.")
    edition = make_edition(sg_app.store)
    enqueue(sg_app.store, edition, add_subscribers(sg_app.store, 50))

    report = deliver_pending(sg_app, edition.id)

    assert fake.requests == 1
    assert (report.status, report.failed, report.sent) == ("failed", 50, 0)
    errors = {error for _, _, _, error in ledger_rows(sg_app.store, edition.id)}
    assert errors == {"SendGrid 400: from.email: The from address does not match a verified Sender Identity."}


def test_consecutive_failures_pause_the_edition_and_resume_continues(sg_app, sg_config, fake, clock):
    set_keys(sg_config, "delivery", pause_after_failures=2, max_attempts=2, concurrency=1, batch_size=10)
    application = sendgrid_app(sg_config, clock)
    down = {"down": True}
    fake.faults = lambda number: ("500",) if down["down"] else None
    edition = make_edition(application.store)
    enqueue(application.store, edition, add_subscribers(application.store, 100))

    paused = deliver_pending(application, edition.id)

    assert paused.status == "paused" and "2 batches failed in a row" in paused.reason
    assert "SendGrid 500: internal error" in paused.reason
    assert get_edition(application.store, edition.id).status == "paused"
    assert paused.pending == 100 and not fake.accepted
    assert any("PAUSED" in line for line in status_lines(application))

    down["down"] = False
    resumed = deliver_pending(application, edition.id)
    assert (resumed.status, resumed.sent, resumed.pending) == ("sent", 100, 0)
    assert set(fake.recipients().values()) == {1} and len(fake.recipients()) == 100
    application.close()


def test_bad_credentials_pause_at_once(sg_app, fake):
    fake.faults = lambda number: ("401",)
    edition = make_edition(sg_app.store)
    enqueue(sg_app.store, edition, add_subscribers(sg_app.store, 300))
    report = deliver_pending(sg_app, edition.id)
    assert report.status == "paused" and "401" in report.reason
    assert fake.requests <= 4  # the requests already in flight, nothing after


def test_timeout_after_the_request_left_is_unknown_reported_and_not_resent(sg_app, sg_config, fake, clock):
    set_keys(sg_config, "delivery", request_timeout=1.0, batch_size=10)
    application = sendgrid_app(sg_config, clock)
    fake.faults = lambda number: ("slow", 2.5) if number == 1 else None
    edition = make_edition(application.store)
    enqueue(application.store, edition, add_subscribers(application.store, 30))

    report = deliver_pending(application, edition.id)

    assert (report.status, report.sent, report.unknown) == ("sent", 20, 10)
    assert sum(fake.recipients().values()) == 30  # the slow batch did arrive
    lines = status_lines(application)
    assert any("UNKNOWN batch" in line and "10 recipients" in line and "--resend-unknown" in line for line in lines)

    again = deliver_pending(application, edition.id)  # default policy: not resent
    assert (again.sent, again.unknown) == (20, 10) and fake.requests == 3

    resent = deliver_pending(application, edition.id, resend_unknown=True)
    assert (resent.sent, resent.unknown) == (30, 0) and fake.requests == 4
    application.close()


def test_unsubscribed_since_planning_are_skipped(sg_app, fake):
    edition = make_edition(sg_app.store)
    recipients = add_subscribers(sg_app.store, 10)
    enqueue(sg_app.store, edition, recipients)
    with sg_app.store.transaction():
        sg_app.store.db["subscribers"].update(4, {"status": "unsubscribed"})
    report = deliver_pending(sg_app, edition.id)
    assert (report.sent, report.skipped) == (9, 1)
    assert "abonne4@example.org" not in fake.recipients()


def test_rate_limit_holds_across_workers_and_processes(sg_app, sg_config, fake, clock):
    # 2 senders with their own store connections (as two processes would have), 4 workers
    # each: 2 × 200 messages at 400/s together take at least (400 - 50) / 400 s.
    set_keys(sg_config, "delivery", rate_per_second=400, batch_size=50)
    apps = [sendgrid_app(sg_config, clock) for _ in range(2)]
    editions = []
    recipients = add_subscribers(apps[0].store, 200)
    for number, application in enumerate(apps):
        editions.append(make_edition(application.store, key=f"k{number}"))
        enqueue(application.store, editions[-1], recipients)
    started = time.monotonic()
    threads = [threading.Thread(target=deliver_pending, args=(a, e.id)) for a, e in zip(apps, editions, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert elapsed >= (400 - 50) / 400 * 0.95
    assert sum(fake.recipients().values()) == 400
    for application in apps:
        application.close()


def test_must_show_2000_subscribers_with_30_percent_429_or_500(sg_config, fake, clock, app):
    set_keys(sg_config, "delivery", build_processes=2)  # requests built in 2 processes, as by default on 2 CPUs
    sg_app = sendgrid_app(sg_config, clock)
    rng = random.Random(6)
    lock = threading.Lock()

    def faults(number):
        with lock:
            roll = rng.random()
        if roll < 0.10:
            return ("429", int(time.time()) + 1)
        return ("500",) if roll < 0.30 else None

    fake.faults = faults
    edition = make_edition(sg_app.store)
    enqueue(sg_app.store, edition, add_subscribers(sg_app.store, 2000))

    report = deliver_pending(sg_app, edition.id)

    received = fake.recipients()
    assert len(received) == 2000 and set(received.values()) == {1}
    assert fake.answers[429] + fake.answers[500] >= 0.2 * fake.requests
    assert (report.status, report.sent) == ("sent", 2000)
    assert delivery_counts(sg_app.store, edition.id)["sent"] == 2000
    sg_app.close()


def substituted(part: str, personalization: dict) -> str:
    for key, value in personalization["substitutions"].items():
        part = part.replace(key, value)
    return part


@pytest.mark.parametrize("base_url", ["https://www.horizons-emploi.example.org", "https://example.org/lettres?a=1&b=2"])
def test_personalizations_match_the_placeholder_values(config_file, clock, app, base_url):
    set_keys(config_file, "site", base_url=base_url)
    set_keys(config_file, "delivery", transport="sendgrid")
    application = sendgrid_app(config_file, clock)
    transport = SendgridTransport(application)
    content = edition_content(application, make_edition(application.store))
    names = ['Zoé "Z" <Dupont> & fils', "back\\slash\tet\nretour", "émoji 📬, d'Orléans; ok", ""]
    recipients = [(n, f"abonne{n}+l'x@example.org", name) for n, name in enumerate(names, start=1)]

    batch, ids, rejected = build_request(content, recipients, Personalizer(application), transport.options)

    assert ids == [1, 2, 3, 4] and not rejected
    body = orjson.loads(batch.body)
    text, html = (part["value"] for part in body["content"])
    for (subscriber_id, email, name), personalization in zip(recipients, body["personalizations"], strict=True):
        unsubscribe_url, preferences_url = links_signer(application)(subscriber_id)
        values = RecipientValues(name, email, unsubscribe_url, preferences_url, content.view_online_url)
        # What the recipient reads: SendGrid's substitutions applied to both parts.
        assert substituted(text, personalization) == content.placeholders.fill(content.text, values, html=False)
        assert substituted(html, personalization) == content.placeholders.fill(content.html, values, html=True)
        assert personalization["custom_args"] == {"subscriber_id": str(subscriber_id)}
        assert personalization["headers"]["List-Unsubscribe"] == f"<{unsubscribe_url}>"
        assert personalization["to"][0]["email"] == email
    assert body["personalizations"][2]["to"][0]["name"] == "émoji 📬  d'Orléans  ok"
    assert "name" not in body["personalizations"][3]["to"][0]
    assert mail_send_validator().is_valid(body)
    application.close()
