"""Sign Event Webhook requests the way SendGrid does (ECDSA P-256 over timestamp + raw body),
with a key pair made for the test; the public half is what staff paste into config.toml."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from publisher.delivery.events import SIGNATURE_HEADER, TIMESTAMP_HEADER
from support.config import set_keys


class Signer:
    """A SendGrid-like signer: ``public_key`` is the base64 verification key SendGrid shows."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def signature(self, timestamp: str, body: bytes) -> str:
        return base64.b64encode(self._key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()

    def headers(self, body: bytes, at: datetime | float) -> dict[str, str]:
        """The two headers of a request signed at ``at`` (a datetime or Unix seconds)."""
        timestamp = str(int(at.timestamp() if isinstance(at, datetime) else at))
        return {SIGNATURE_HEADER: self.signature(timestamp, body), TIMESTAMP_HEADER: timestamp}

    def configure(self, config_file: Path) -> None:
        """Put this signer's verification key into ``[delivery.sendgrid]`` of a config file."""
        set_keys(config_file, "delivery.sendgrid", webhook_verification_key=self.public_key)


def body_of(events: list[dict]) -> bytes:
    return json.dumps(events).encode()
