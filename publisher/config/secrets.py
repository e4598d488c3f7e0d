"""The secrets: never in config.toml, only in the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from publisher.errors import ConfigError

# The Makefile's secret for `make demo`, which sends to the outbox only: public, never for production.
DEMO_SECRET = "demo-secret-not-for-production"
# What to do about a missing variable, when there is more to say than its name.
_HOW_TO_SET = {
    "PUBLISHER_SECRET": (
        "export PUBLISHER_SECRET=... with the secret this store's links are signed with "
        f"(after make demo: {DEMO_SECRET}; docs/configuration.md)"
    ),
}


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
            sendgrid_api_key=_env_text(env, "SENDGRID_API_KEY"),
            smtp_password=_env_text(env, "SMTP_PASSWORD"),
            signing_secret=_env_text(env, "PUBLISHER_SECRET"),
            admin_password=_env_text(env, "PUBLISHER_ADMIN_PASSWORD"),
        )

    def require(self, name: str, env_var: str, needed_for: str) -> str:
        value = getattr(self, name)
        if not value:
            advice = f"; {_HOW_TO_SET[env_var]}" if env_var in _HOW_TO_SET else ""
            raise ConfigError(f"environment variable {env_var} is not set (needed for {needed_for}){advice}")
        return value


def _env_text(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when unset or empty. Python reads bytes that are not UTF-8
    as lone surrogates, which no signer, comparison or HTTP header could use later."""
    value = env.get(name) or None
    if value is not None and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(f"environment variable {name} is not valid UTF-8 text") from None
    return value
