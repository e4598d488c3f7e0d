"""Shared fixtures: a copy of the demo config in a temporary folder, a fixed clock, a
migrated store in that folder, and the App that ties them together."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from publisher.app import App
from publisher.clock import FixedClock
from publisher.config import Config, Secrets, load_config
from publisher.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The repository's config.toml copied to tmp_path (so store, feeds and outbox land there)."""
    target = tmp_path / "config.toml"
    shutil.copy(ROOT / "config.toml", target)
    if (ROOT / "newsletters").is_dir():
        shutil.copytree(ROOT / "newsletters", tmp_path / "newsletters")
    return target


@pytest.fixture
def config(config_file: Path) -> Config:
    return load_config(config_file)


@pytest.fixture
def app(config: Config, clock: FixedClock) -> App:
    with Store(config.store.path, clock) as store:
        store.migrate()
    app = App(config, Secrets(signing_secret="test-secret"), clock)
    yield app
    app.close()


@pytest.fixture
def store(app: App) -> Store:
    return app.store
