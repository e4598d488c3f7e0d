"""Keyed hashes of forgotten addresses: all that is kept of someone who asked to be forgotten.

HMAC-SHA256 of the lower-cased address with a key derived from PUBLISHER_SECRET, so the
store alone cannot tell whether a given address was ever there. ``key_id`` identifies the
key: hashes made under another secret can no longer match (a changed PUBLISHER_SECRET is
reported by imports).
"""

from __future__ import annotations

import hashlib
import hmac

from publisher.app import App


class AddressHasher:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"publisher.forget-list", hashlib.sha256).digest()
        self.key_id = hashlib.sha256(self._key).hexdigest()[:12]

    def hash(self, address_key: str) -> str:
        """The keyed hash of an address in its comparison form (publisher.addresses.address_key)."""
        return hmac.new(self._key, address_key.encode(), hashlib.sha256).hexdigest()


def hasher_for(app: App) -> AddressHasher:
    return AddressHasher(app.secrets.require("signing_secret", "PUBLISHER_SECRET", "the list of forgotten addresses"))
