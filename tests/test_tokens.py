"""Signed links: scoped to a purpose and a subscriber; tampered, misused or expired ones refused."""

from datetime import UTC, datetime

import pytest

from publisher.clock import FixedClock
from publisher.config import Secrets
from publisher.tokens import (
    CONFIRM,
    EDITION,
    PREFERENCES,
    UNSUBSCRIBE,
    TokenError,
    confirm_url,
    edition_path,
    links_for,
    opens_edition,
    sign,
    verify,
    verify_link,
    verify_token,
)

SECRET = "s3cret"


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


def test_round_trip_carries_the_subscriber_and_the_signing_time(clock):
    token = sign(SECRET, UNSUBSCRIBE, 42, clock)
    clock.advance(days=400)
    verified = verify_token(SECRET, token, UNSUBSCRIBE, clock=clock)
    assert verified.subscriber_id == 42
    assert verified.signed_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert verify(SECRET, token, UNSUBSCRIBE, clock=clock) == 42  # unsubscribe links never expire


def test_tampered_tokens_are_refused(clock):
    token = sign(SECRET, UNSUBSCRIBE, 42, clock)
    rest = token.partition(".")[2]
    forged_payload = sign("another secret", UNSUBSCRIBE, 43, clock).partition(".")[0]
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), f"{forged_payload}.{rest}", "", "x.y.z"):
        with pytest.raises(TokenError, match="invalid unsubscribe link"):
            verify(SECRET, bad, UNSUBSCRIBE, clock=clock)
    with pytest.raises(TokenError):
        verify("another secret", token, UNSUBSCRIBE, clock=clock)


@pytest.mark.parametrize(
    ("signed_for", "used_for"),
    [
        (UNSUBSCRIBE, PREFERENCES),
        (PREFERENCES, CONFIRM),
        (CONFIRM, UNSUBSCRIBE),
        (UNSUBSCRIBE, EDITION),
        (EDITION, CONFIRM),
    ],
)
def test_a_token_opens_only_its_own_purpose(clock, signed_for, used_for):
    with pytest.raises(TokenError, match=f"invalid {used_for} link"):
        verify(SECRET, sign(SECRET, signed_for, 7, clock), used_for, clock=clock)


def test_confirmation_tokens_expire(clock):
    token = sign(SECRET, CONFIRM, 7, clock)
    clock.advance(days=6, hours=23)
    assert verify(SECRET, token, CONFIRM, max_age=7 * 86400, clock=clock) == 7
    clock.advance(hours=2)
    with pytest.raises(TokenError, match="confirm link has expired"):
        verify(SECRET, token, CONFIRM, max_age=7 * 86400, clock=clock)


def test_payloads_other_than_an_id_are_refused(clock):
    from itsdangerous import URLSafeTimedSerializer

    for payload in ("42", True, [42], None):
        token = URLSafeTimedSerializer(SECRET, salt="publisher.unsubscribe").dumps(payload)
        with pytest.raises(TokenError):
            verify(SECRET, token, UNSUBSCRIBE, clock=clock)


def test_unknown_purpose_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown token purpose"):
        sign(SECRET, "admin", 1)


def test_app_links_use_the_site_url_and_pending_days(app, clock):
    links = links_for(app, 5)
    assert links.unsubscribe_url.startswith("https://www.horizons-emploi.example.org/unsubscribe/")
    token = links.preferences_url.rsplit("/", 1)[1]
    assert verify_link(app, token, PREFERENCES).subscriber_id == 5
    confirm_token = confirm_url(app, 5).rsplit("/", 1)[1]
    app.clock.advance(days=app.config.subscribers.pending_days, seconds=1)
    with pytest.raises(TokenError, match="expired"):
        verify_link(app, confirm_token, CONFIRM)


def test_links_need_the_secret(app):
    app.secrets = Secrets()
    with pytest.raises(Exception, match="PUBLISHER_SECRET is not set"):
        links_for(app, 1)


def test_an_edition_token_opens_its_edition_only_and_not_one_created_after_it(app):
    created = app.clock.now()
    assert edition_path(app, 7, "hebdo") == "/archive/7"  # a public archive needs no token
    path = edition_path(app, 7, "mes-sujets")
    token = path.removeprefix("/archive/7/")
    assert token != path and opens_edition(app, token, 7, created)
    app.clock.advance(days=3650)
    assert opens_edition(app, token, 7, created)  # view-online links do not expire
    assert not opens_edition(app, token, 8, created)
    assert not opens_edition(app, token, 7, app.clock.now())  # id 7 of a store rebuilt since
    assert not opens_edition(app, sign("test-secret", UNSUBSCRIBE, 7, app.clock), 7, created)
    assert edition_path(app, 7, "removed-from-config").startswith("/archive/7/")
