"""Apps for threads: every web request worker thread gets its own App and SQLite connection.

A SQLite connection carries its transaction state, so threads must not share one. The
config, secrets and clock are shared (they are immutable or thread-safe).
"""

from __future__ import annotations

import threading

from publisher.app import App, AppFactory
from publisher.config import Config


class ThreadApps:
    """One long-lived App per thread (web request workers), all closed by ``close``."""

    def __init__(self, factory: AppFactory) -> None:
        self.factory = factory
        self._local = threading.local()
        self._all: list[App] = []
        self._lock = threading.Lock()

    @property
    def config(self) -> Config:
        return self.factory.template.config

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
