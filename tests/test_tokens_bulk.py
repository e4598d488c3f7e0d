"""links_signer: the bulk signer the delivery engine uses gives the tokens links_for gives."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from publisher.clock import FixedClock
from publisher.tokens import (
    PREFERENCES,
    UNSUBSCRIBE,
    TokenError,
    _FastSigner,
    _hmac_signer,
    links_for,
    links_signer,
    sign,
    verify,
)


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


@pytest.mark.parametrize("subscriber_id", [1, 42, 987654321])
def test_bulk_links_are_valid_scoped_tokens(app, subscriber_id):
    unsubscribe_url, preferences_url = links_signer(app)(subscriber_id)
    reference = links_for(app, subscriber_id)
    assert unsubscribe_url.rsplit("/", 1)[0] == reference.unsubscribe_url.rsplit("/", 1)[0]
    assert preferences_url.rsplit("/", 1)[0] == reference.preferences_url.rsplit("/", 1)[0]
    assert verify("test-secret", token(unsubscribe_url), UNSUBSCRIBE) == subscriber_id
    assert verify("test-secret", token(preferences_url), PREFERENCES) == subscriber_id
    with pytest.raises(TokenError):
        verify("test-secret", token(unsubscribe_url), PREFERENCES)
    with pytest.raises(TokenError):
        verify("another-secret", token(unsubscribe_url), UNSUBSCRIBE)


def test_bulk_tokens_are_the_tokens_itsdangerous_signs():
    clock = FixedClock(datetime(2026, 12, 4, 9, 30, 15, tzinfo=UTC))  # one time for both signers
    timestamp = int(clock.now().timestamp())
    for purpose in (UNSUBSCRIBE, PREFERENCES):
        for subscriber_id in (0, 7, 123456, 10**12):
            signer = _FastSigner("s3cret", purpose, timestamp)
            assert signer.signed(signer.value(subscriber_id)).decode() == sign("s3cret", purpose, subscriber_id, clock)


@pytest.mark.parametrize("digest", [hashlib.sha1, hashlib.sha256, hashlib.sha512])
@pytest.mark.parametrize("key_length", [0, 1, 20, 63, 64, 65, 127, 128, 129, 1000])
def test_the_hmac_fast_path_gives_the_bytes_of_the_standard_library(digest, key_length):
    key = bytes(range(256)) * 4
    key = key[:key_length]
    signature = _hmac_signer(key, digest)
    library = hmac.new(key, digestmod=digest)
    for message in (b"", b"MQ.Zbx6gA", b"\x00\xff" * 100, b"x" * 10_000):
        reference = library.copy()
        reference.update(message)
        assert signature(message) == reference.digest() == hmac.digest(key, message, digest)
