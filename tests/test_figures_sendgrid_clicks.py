"""Never both trackers on one link: a SendGrid message with our /r/… links turns SendGrid's
click tracking off; with track_clicks = false the articles' own links go out, SendGrid's
tracking is left as the account has it, and its signed click events count per article, once.
Opens: SendGrid's open tracking is off on every message unless the newsletter has
track_opens = true; then open events count per edition, machine opens apart, once."""

from __future__ import annotations

import re

import pytest
from support.apps import app_for
from support.config import set_keys
from support.delivery import use_sendgrid
from support.sendgrid_fake import FakeSendgrid
from support.webhook_signing import Signer, body_of

from publisher.delivery.events import handle_event_webhook
from publisher.delivery.send import send_newsletter
from publisher.demo import load_demo
from publisher.figures.report import edition_figures
from publisher.store.figures import edition_articles


def sent(config_file, clock, **hebdo):
    set_keys(config_file, "newsletters.hebdo", **hebdo) if hebdo else None
    fake = FakeSendgrid().start()
    try:
        use_sendgrid(config_file, fake.url)
        app = app_for(config_file, clock, migrate=True, sendgrid_api_key="SG.clicks")
        load_demo(app)
        report = send_newsletter(app, "hebdo")
    finally:
        fake.stop()
    assert not fake.invalid and report.sent
    return app, fake.accepted


def test_our_links_turn_sendgrid_click_tracking_off(config_file, clock):
    _, accepted = sent(config_file, clock)
    for request in accepted:
        assert request.body["tracking_settings"] == {
            "click_tracking": {"enable": False, "enable_text": False},
            "open_tracking": {"enable": False},
        }
        html = next(part["value"] for part in request.body["content"] if part["type"] == "text/html")
        assert re.search(r"/r/\d+/\d+/[A-Za-z0-9_-]{22}", html)


def a_recipient(app, edition_id: int) -> tuple[int, str]:
    return app.store.conn.execute(
        "SELECT s.id, s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.edition_id = ?",
        (edition_id,),
    ).fetchone()


def test_without_our_links_sendgrid_click_events_count_per_article(config_file, clock):
    signer = Signer()
    signer.configure(config_file)
    app, accepted = sent(config_file, clock, track_clicks=False)
    assert all(request.body["tracking_settings"] == {"open_tracking": {"enable": False}} for request in accepted)
    edition_id = int(accepted[0].body["custom_args"]["edition_id"])
    subscriber_id, email = a_recipient(app, edition_id)
    first = edition_articles(app.store, edition_id)[0]
    html = next(part["value"] for part in accepted[0].body["content"] if part["type"] == "text/html")
    own = re.search(r'href="([^"]*' + re.escape(first.url) + r'[^"]*)"', html).group(1).replace("&amp;", "&")

    def click(number: int, url: str) -> dict:
        return {
            "event": "click",
            "email": email,
            "url": url,
            "timestamp": 1795000000,
            "sg_event_id": f"click{number}",
            "newsletter": "hebdo",
            "edition_id": str(edition_id),
            "subscriber_id": str(subscriber_id),
        }

    events = [click(1, own), click(2, own), click(3, "https://elsewhere.example/")]
    for _ in range(2):  # the batch redelivered
        body = body_of(events)
        handle_event_webhook(app, body, signer.headers(body, clock.now()))

    figures = edition_figures(app, edition_id)
    assert {article.id: article.clicks for article in figures.articles if article.clicks} == {first.id: 2}
    assert figures.as_dict()["clicks"] == 2


def open_events(edition_id: int, subscriber_id: int, email: str) -> list[dict]:
    common = {"email": email, "timestamp": 1795000000, "newsletter": "hebdo"}
    ids = {"edition_id": str(edition_id), "subscriber_id": str(subscriber_id)}
    return [
        {**common, **ids, "event": "open", "sg_event_id": "open1", "sg_machine_open": False},
        {**common, **ids, "event": "open", "sg_event_id": "open2"},
        {**common, **ids, "event": "open", "sg_event_id": "open3", "sg_machine_open": True},
    ]


@pytest.mark.parametrize("track_opens", [False, True])
def test_opens_only_when_staff_turn_them_on_machine_opens_apart(config_file, clock, track_opens):
    signer = Signer()
    signer.configure(config_file)
    app, accepted = sent(config_file, clock, track_opens=track_opens)
    assert {request.body["tracking_settings"]["open_tracking"]["enable"] for request in accepted} == {track_opens}
    edition_id = int(accepted[0].body["custom_args"]["edition_id"])
    events = open_events(edition_id, *a_recipient(app, edition_id))
    for _ in range(2):  # the batch redelivered
        body = body_of(events)
        handle_event_webhook(app, body, signer.headers(body, clock.now()))
    figures = edition_figures(app, edition_id).as_dict()
    assert (figures["opens"], figures["machine_opens"]) == ((2, 1) if track_opens else (0, 0))
