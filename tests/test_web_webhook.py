"""POST /webhooks/sendgrid over real HTTP: the raw body reaches the delivery handler; bad bodies,
missing signatures and oversized bodies are refused with the status SendGrid expects."""

import json

import httpx
from webserver import served

from publisher.service.apps import AppFactory
from publisher.web import create_app


def serve_with(app, config):
    return served(create_app(AppFactory(config, app.secrets, app.clock)))


def test_events_are_handed_to_the_delivery_handler(app):
    events = [{"event": "delivered", "email": "a@example.org", "sg_event_id": "ev-1", "timestamp": 1795000000}]
    with serve_with(app, app.config) as url:
        response = httpx.post(url + "/webhooks/sendgrid", content=json.dumps(events))
        again = httpx.post(url + "/webhooks/sendgrid", content=json.dumps(events))
        malformed = httpx.post(url + "/webhooks/sendgrid", content=b"{not json")
        too_large = httpx.post(url + "/webhooks/sendgrid", content=b"[" + b" " * (6 * 1024 * 1024) + b"]")
    assert response.status_code == 200 and response.json()["received"] == 1
    assert again.status_code == 200 and again.json()["received"] == 1
    assert malformed.status_code == 400
    assert too_large.status_code == 413


def test_unsigned_events_are_refused_when_a_verification_key_is_set(app):
    sendgrid = app.config.delivery.sendgrid.model_copy(update={"webhook_verification_key": "MFkwEwYHKoZIzj0CAQYIKoZI"})
    config = app.config.model_copy(update={"delivery": app.config.delivery.model_copy(update={"sendgrid": sendgrid})})
    with serve_with(app, config) as url:
        response = httpx.post(url + "/webhooks/sendgrid", content=b"[]")
    assert response.status_code == 403
