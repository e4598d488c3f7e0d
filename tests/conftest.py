"""Shared fixtures: the tests' own config in a temporary folder, a fixed clock, a
migrated store in that folder, and the App that ties them together."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.apps import app_for
from support.config import new_test_folder
from support.paths import ROOT

from publisher.app import App
from publisher.clock import FixedClock
from publisher.config import Config, load_config
from publisher.config import secrets as secrets_module
from publisher.store import Store

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _never_the_working_secrets_file(monkeypatch):
    """Tests set their own secrets: reading the developer's secrets.env, beside the working
    config.toml, fails the test (tests build their configs in temporary folders)."""
    working = (ROOT / secrets_module.SECRETS_FILE).resolve()
    read = secrets_module.read_secrets_file

    def guarded(path: Path) -> dict[str, str]:
        assert path.resolve() != working, f"a test read the working {working}"
        return read(path)

    monkeypatch.setattr(secrets_module, "read_secrets_file", guarded)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The tests' config.toml (tests/data, never the repository's) and the templates in tmp_path."""
    return new_test_folder(tmp_path)


@pytest.fixture
def config(config_file: Path) -> Config:
    return load_config(config_file)


@pytest.fixture
def app(config: Config, clock: FixedClock) -> App:
    app = app_for(config, clock, migrate=True)
    yield app
    app.close()


@pytest.fixture
def store(app: App) -> Store:
    return app.store


# --- a real headless browser: Debian's chromium driven by Playwright (never a downloaded one) ---

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Where browser tests keep full-page screenshots for a person to look at (none without it).
SCREENSHOTS = os.environ.get("PUBLISHER_SCREENSHOTS")


def _browser_unavailable(reason: str) -> None:
    """Without chromium a browser test fails in CI (nothing is skipped silently) and skips elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: .ci/run must install it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("the playwright package is not installed")
    if not Path(CHROMIUM).exists():
        _browser_unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
