"""The application context shared by the CLI, the scheduler and the web app.

It holds what every feature needs — config, secrets, clock — and opens the store lazily,
so commands that only read config (``schedule``, ``segments list``) never touch SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from publisher.clock import Clock, SystemClock
from publisher.config import Config, Secrets
from publisher.store import Store


@dataclass
class App:
    config: Config
    secrets: Secrets = field(default_factory=Secrets.from_env)
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def store(self) -> Store:
        return Store.open(self.config.store.path, self.clock)

    def local_now(self) -> datetime:
        """Now in the site's time zone (``[site] timezone``): what readers see, e.g. in a
        message's Date header."""
        return self.clock.now().astimezone(self.config.site.tz)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]
