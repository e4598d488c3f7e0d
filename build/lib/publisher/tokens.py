"""Signed links for subscribers: unsubscribe, preferences and double opt-in confirmation.

A token is HMAC-signed with PUBLISHER_SECRET (itsdangerous) and scoped to one purpose and
one subscriber: an unsubscribe token opens nothing else. Unsubscribe and preferences tokens
do not expire (a link in an old email must still let its reader leave); confirmation
tokens expire after ``[subscribers] pending_days``. Every token carries the time it was
signed, taken from the injected clock, so expiry is testable and a token signed before its
subscriber existed (an id reused after a purge) is refused by publisher.subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from publisher.app import App
from publisher.clock import Clock, SystemClock
from publisher.errors import PublisherError

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
CONFIRM = "confirm"
PURPOSES = (UNSUBSCRIBE, PREFERENCES, CONFIRM)
CONFIRM_MAX_AGE = 7 * 24 * 3600  # default; App-level helpers use [subscribers] pending_days


class TokenError(PublisherError):
    """A token was tampered with, is for another purpose, or has expired."""


class _ClockSigner(TimestampSigner):
    """A TimestampSigner that reads the time from a publisher clock."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


def _serializer(secret: str, purpose: str, clock: Clock | None) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(
        secret, salt=f"publisher.{purpose}", signer=_ClockSigner, signer_kwargs={"clock": clock or SystemClock()}
    )


def sign(secret: str, purpose: str, subscriber_id: int, clock: Clock | None = None) -> str:
    return _serializer(secret, purpose, clock).dumps(subscriber_id)


@dataclass(frozen=True)
class VerifiedToken:
    subscriber_id: int
    signed_at: datetime


def verify_token(
    secret: str, token: str, purpose: str, max_age: int | None = None, clock: Clock | None = None
) -> VerifiedToken:
    """The subscriber id and signing time of a valid token of this purpose; TokenError otherwise."""
    try:
        value, signed_at = _serializer(secret, purpose, clock).loads(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired:
        raise TokenError(f"{purpose} link has expired") from None
    except BadSignature:
        raise TokenError(f"invalid {purpose} link") from None
    if type(value) is not int:
        raise TokenError(f"invalid {purpose} link")
    return VerifiedToken(value, signed_at.astimezone(UTC))


def verify(secret: str, token: str, purpose: str, max_age: int | None = None, clock: Clock | None = None) -> int:
    """The subscriber id in a valid token of this purpose; TokenError otherwise."""
    return verify_token(secret, token, purpose, max_age, clock).subscriber_id


@dataclass(frozen=True)
class SubscriberLinks:
    unsubscribe_url: str
    preferences_url: str


def _secret(app: App, needed_for: str) -> str:
    return app.secrets.require("signing_secret", "PUBLISHER_SECRET", needed_for)


def links_for(app: App, subscriber_id: int) -> SubscriberLinks:
    secret = _secret(app, "signing subscriber links")
    base = app.config.site.base_url
    return SubscriberLinks(
        unsubscribe_url=f"{base}/unsubscribe/{sign(secret, UNSUBSCRIBE, subscriber_id, app.clock)}",
        preferences_url=f"{base}/preferences/{sign(secret, PREFERENCES, subscriber_id, app.clock)}",
    )


def confirm_url(app: App, subscriber_id: int) -> str:
    secret = _secret(app, "signing confirmation links")
    return f"{app.config.site.base_url}/confirm/{sign(secret, CONFIRM, subscriber_id, app.clock)}"


def confirm_max_age(app: App) -> int:
    return app.config.subscribers.pending_days * 24 * 3600


def verify_link(app: App, token: str, purpose: str) -> VerifiedToken:
    """Check a token from a link with the app's secret, clock and (for confirmation) expiry."""
    max_age = confirm_max_age(app) if purpose == CONFIRM else None
    return verify_token(_secret(app, f"checking {purpose} links"), token, purpose, max_age, app.clock)
