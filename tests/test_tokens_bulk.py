"""links_signer: the bulk signer the delivery engine uses gives the tokens links_for gives."""

from __future__ import annotations

import pytest

from publisher.tokens import PREFERENCES, UNSUBSCRIBE, TokenError, links_for, links_signer, verify


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


@pytest.mark.parametrize("subscriber_id", [1, 42, 987654321])
def test_bulk_links_are_valid_scoped_tokens(app, subscriber_id):
    links = links_signer(app)(subscriber_id)
    reference = links_for(app, subscriber_id)
    assert links.unsubscribe_url.rsplit("/", 1)[0] == reference.unsubscribe_url.rsplit("/", 1)[0]
    assert links.preferences_url.startswith("https://www.horizons-emploi.example.org/preferences/")
    assert verify("test-secret", token(links.unsubscribe_url), UNSUBSCRIBE) == subscriber_id
    assert verify("test-secret", token(links.preferences_url), PREFERENCES) == subscriber_id
    with pytest.raises(TokenError):
        verify("test-secret", token(links.unsubscribe_url), PREFERENCES)
    with pytest.raises(TokenError):
        verify("another-secret", token(links.unsubscribe_url), UNSUBSCRIBE)
