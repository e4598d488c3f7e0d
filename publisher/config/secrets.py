"""The secrets: never in config.toml; from the environment, else from the local secrets file.

``publisher init`` creates the secrets file beside config.toml when it is missing
(``secrets.env``, mode 0600, git-ignored): a random ``PUBLISHER_SECRET`` and an admin password.
Every command reads it when a variable is not set in the environment; the environment wins.
python-dotenv's parser reads it (only this module uses python-dotenv).
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv.parser import parse_stream

from publisher.errors import ConfigError

log = logging.getLogger(__name__)
# The secret the Makefile's `make demo` exported before the secrets file existed: public, refused
# by `publisher serve` and the real transports.
DEMO_SECRET = "demo-secret-not-for-production"
SECRETS_FILE = "secrets.env"
VARIABLES = ("SENDGRID_API_KEY", "SMTP_PASSWORD", "PUBLISHER_SECRET", "PUBLISHER_ADMIN_PASSWORD")
# What to do about a missing variable, when there is more to say than its name.
_HOW_TO_SET = {
    "PUBLISHER_SECRET": (
        f"run publisher init to create {SECRETS_FILE} beside config.toml, or export PUBLISHER_SECRET=... "
        "with the secret this store's links are signed with (docs/configuration.md)"
    ),
}


@dataclass(frozen=True)
class Secrets:
    """The secrets. Missing ones are None until a feature needs them."""

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

    @classmethod
    def load(cls, config_source: Path, environ: Mapping[str, str] | None = None) -> Secrets:
        """The environment's secrets, completed by the secrets file beside ``config_source``."""
        env = os.environ if environ is None else environ
        from_file = read_secrets_file(secrets_path(config_source))
        return cls.from_env({**from_file, **{name: value for name, value in env.items() if value}})

    def require(self, name: str, env_var: str, needed_for: str) -> str:
        value = getattr(self, name)
        if not value:
            advice = f"; {_HOW_TO_SET[env_var]}" if env_var in _HOW_TO_SET else ""
            raise ConfigError(f"environment variable {env_var} is not set (needed for {needed_for}){advice}")
        return value


def secrets_path(config_source: Path) -> Path:
    """The secrets file of the config at ``config_source``: beside it."""
    return config_source.parent / SECRETS_FILE


def read_secrets_file(path: Path) -> dict[str, str]:
    """The variables set in ``path`` (none when it does not exist); ConfigError naming the line
    of one that cannot be read or is not a publisher variable (never echoing a value)."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text ({error.__class__.__name__})") from None
    if path.stat().st_mode & 0o077:
        log.warning("%s: readable by other users; run: chmod 600 %s", path, path)
    values = {}
    for binding in parse_stream(io.StringIO(text)):
        where = f"{path}:{binding.original.line}"
        if binding.error or (binding.key is not None and binding.value is None):
            raise ConfigError(f"{where}: expected NAME=value")
        if binding.key is None:
            continue
        if binding.key not in VARIABLES:
            raise ConfigError(f"{where}: {binding.key}: unknown variable (expected one of {', '.join(VARIABLES)})")
        if binding.value:
            values[binding.key] = binding.value
    return values


def create_secrets_file(config_source: Path) -> tuple[Path, str] | None:
    """Write a new secrets file (mode 0600) with a random PUBLISHER_SECRET and admin password,
    and return its path and the password; None when the file already exists."""
    path = secrets_path(config_source)
    password = secrets.token_urlsafe(12)
    text = (
        "# publisher's secrets (docs/configuration.md): keep this file private, never commit it.\n"
        "# A variable set in the environment wins over this file.\n"
        f"PUBLISHER_SECRET={secrets.token_urlsafe(32)}\n"
        f"PUBLISHER_ADMIN_PASSWORD={password}\n"
    )
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be created ({error.strerror})") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path, password


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
