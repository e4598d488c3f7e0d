"""POST /webhooks/sendgrid over real HTTP: off (404) without a verification key; with one, the raw
body of a signed request reaches the delivery handler; unsigned, malformed and oversized bodies
are refused with the status SendGrid expects."""

import time

import httpx
from support.webhook_signing import Signer, body_of
from support.webserver import served, web_app

from publisher.app import App


def serve_with(app, config):
    return served(web_app(App(config, app.secrets, app.clock)))


def with_key(config, public_key: str):
    sendgrid = config.delivery.sendgrid.model_copy(update={"webhook_verification_key": public_key})
    return config.model_copy(update={"delivery": config.delivery.model_copy(update={"sendgrid": sendgrid})})


EVENTS = [{"event": "delivered", "email": "a@example.org", "sg_event_id": "ev-1", "timestamp": 1795000000}]


def test_signed_events_are_handed_to_the_delivery_handler(app):
    signer = Signer()
    body = body_of(EVENTS)
    headers = signer.headers(body, app.clock.now())
    with serve_with(app, with_key(app.config, signer.public_key)) as url:
        response = httpx.post(url + "/webhooks/sendgrid", content=body, headers=headers)
        again = httpx.post(url + "/webhooks/sendgrid", content=body, headers=headers)
        malformed = httpx.post(
            url + "/webhooks/sendgrid", content=b"{not json", headers=signer.headers(b"{not json", app.clock.now())
        )
        unsigned = httpx.post(url + "/webhooks/sendgrid", content=b"[]")
        too_large = httpx.post(url + "/webhooks/sendgrid", content=b"[" + b" " * (6 * 1024 * 1024) + b"]")
    assert response.status_code == 200 and response.json()["received"] == 1
    assert again.status_code == 200 and again.json()["received"] == 1
    assert malformed.status_code == 400
    assert unsigned.status_code == 403 and unsigned.json() == {"error": "invalid signature"}
    assert too_large.status_code == 413


def test_without_a_verification_key_the_endpoint_answers_404(app):
    assert app.config.delivery.sendgrid.webhook_verification_key is None  # as config.toml ships
    with serve_with(app, app.config) as url:
        response = httpx.post(url + "/webhooks/sendgrid", content=body_of(EVENTS))
        signed = httpx.post(url + "/webhooks/sendgrid", content=b"[]", headers=Signer().headers(b"[]", time.time()))
    assert response.status_code == 404 and signed.status_code == 404
    assert app.store.conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 0
