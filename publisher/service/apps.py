"""Apps for threads: every thread of the service gets its own App and SQLite connection.

A SQLite connection carries its transaction state, so threads must not share one. The
config, secrets and clock are shared (they are immutable or thread-safe).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from publisher.app import App
from publisher.clock import Clock, SystemClock
from publisher.config import Config, Secrets


@dataclass(frozen=True)
class AppFactory:
    config: Config
    secrets: Secrets = field(default_factory=Secrets.from_env)
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def like(cls, app: App) -> AppFactory:
        return cls(app.config, app.secrets, app.clock)

    def __call__(self) -> App:
        return App(self.config, self.secrets, self.clock)

    @contextmanager
    def opened(self) -> Iterator[App]:
        """A fresh App for one job run, closed afterwards."""
        app = self()
        try:
            yield app
        finally:
            app.close()


class ThreadApps:
    """One long-lived App per thread (web request workers), all closed by ``close``."""

    def __init__(self, factory: AppFactory) -> None:
        self.factory = factory
        self._local = threading.local()
        self._all: list[App] = []
        self._lock = threading.Lock()

    @property
    def config(self) -> Config:
        return self.factory.config

    def get(self) -> App:
        app = getattr(self._local, "app", None)
        if app is None:
            app = self._local.app = self.factory()
            with self._lock:
                self._all.append(app)
        return app

    def close(self) -> None:
        with self._lock:
            apps, self._all = self._all, []
        for app in apps:
            app.close()
