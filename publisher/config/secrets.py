"""The secrets: never in config.toml, only in the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from publisher.errors import ConfigError


@dataclass(frozen=True)
class Secrets:
    """Secrets, read only from the environment. Missing ones are None until a feature needs them."""

    sendgrid_api_key: str | None = None
    smtp_password: str | None = None
    signing_secret: str | None = None
    admin_password: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        return cls(
            sendgrid_api_key=env.get("SENDGRID_API_KEY") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            signing_secret=env.get("PUBLISHER_SECRET") or None,
            admin_password=env.get("PUBLISHER_ADMIN_PASSWORD") or None,
        )

    def require(self, name: str, env_var: str, needed_for: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigError(f"environment variable {env_var} is not set (needed for {needed_for})")
        return value
