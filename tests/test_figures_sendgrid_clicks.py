"""Never both trackers on one link: a SendGrid message with our /r/… links turns SendGrid's
click tracking off; with track_clicks = false the articles' own links go out, SendGrid's
tracking is left as the account has it, and its signed click events count per article, once."""

from __future__ import annotations

import re

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
        assert request.body["tracking_settings"] == {"click_tracking": {"enable": False, "enable_text": False}}
        html = next(part["value"] for part in request.body["content"] if part["type"] == "text/html")
        assert re.search(r"/r/\d+/\d+/[A-Za-z0-9_-]{22}", html)


def test_without_our_links_sendgrid_click_events_count_per_article(config_file, clock):
    signer = Signer()
    signer.configure(config_file)
    app, accepted = sent(config_file, clock, track_clicks=False)
    assert all("tracking_settings" not in request.body for request in accepted)
    edition_id = int(accepted[0].body["custom_args"]["edition_id"])
    subscriber_id, email = app.store.conn.execute(
        "SELECT s.id, s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.edition_id = ?",
        (edition_id,),
    ).fetchone()
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
