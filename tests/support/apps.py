"""The one way tests build an ``App``: a config, the tests' signing secret and an injected clock."""

from __future__ import annotations

from pathlib import Path

from publisher.app import App
from publisher.clock import Clock
from publisher.config import Config, Secrets, load_config
from publisher.store import Store

SIGNING_SECRET = "test-secret"
SECRETS = Secrets(signing_secret=SIGNING_SECRET)


def app_for(config: Path | Config, clock: Clock, *, migrate: bool = False, **secrets: str) -> App:
    """An App on ``config`` (a config.toml read as it is now, after a test edited it, or a loaded
    Config) with the tests' signing secret plus ``secrets``; ``migrate`` first brings its store's
    schema up to date (left out, the store is not even opened: a test may hold it locked)."""
    if not isinstance(config, Config):
        config = load_config(config)
    if migrate:
        with Store(config.store.path, clock) as store:
            store.migrate()
    return App(config, Secrets(signing_secret=SIGNING_SECRET, **secrets), clock)
