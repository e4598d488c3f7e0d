"""Signed links for subscribers: unsubscribe, preferences and double opt-in confirmation.

A token is HMAC-signed with PUBLISHER_SECRET (itsdangerous) and scoped to one purpose and
one subscriber: an unsubscribe token opens nothing else. Unsubscribe and preferences tokens
do not expire (a link in an old email must still let its reader leave); confirmation
tokens do.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from publisher.app import App
from publisher.errors import PublisherError

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
CONFIRM = "confirm"
PURPOSES = (UNSUBSCRIBE, PREFERENCES, CONFIRM)
CONFIRM_MAX_AGE = 7 * 24 * 3600


class TokenError(PublisherError):
    """A token was tampered with, is for another purpose, or has expired."""


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"publisher.{purpose}")


def sign(secret: str, purpose: str, subscriber_id: int) -> str:
    return _serializer(secret, purpose).dumps(subscriber_id)


def verify(secret: str, token: str, purpose: str, max_age: int | None = None) -> int:
    """The subscriber id in a valid token of this purpose; TokenError otherwise."""
    try:
        value = _serializer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError(f"{purpose} link has expired") from None
    except BadSignature:
        raise TokenError(f"invalid {purpose} link") from None
    if not isinstance(value, int):
        raise TokenError(f"invalid {purpose} link")
    return value


@dataclass(frozen=True)
class SubscriberLinks:
    unsubscribe_url: str
    preferences_url: str


def links_for(app: App, subscriber_id: int) -> SubscriberLinks:
    secret = app.secrets.require("signing_secret", "PUBLISHER_SECRET", "signing subscriber links")
    base = app.config.site.base_url
    return SubscriberLinks(
        unsubscribe_url=f"{base}/unsubscribe/{sign(secret, UNSUBSCRIBE, subscriber_id)}",
        preferences_url=f"{base}/preferences/{sign(secret, PREFERENCES, subscriber_id)}",
    )


def confirm_url(app: App, subscriber_id: int) -> str:
    secret = app.secrets.require("signing_secret", "PUBLISHER_SECRET", "signing confirmation links")
    return f"{app.config.site.base_url}/confirm/{sign(secret, CONFIRM, subscriber_id)}"
