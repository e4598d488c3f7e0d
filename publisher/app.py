"""The application context shared by the CLI, the scheduler and the web app.

It holds what every feature needs — config, secrets, clock — and opens the store lazily,
so commands that only read config (``schedule``, ``segments list``) never touch SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path

from publisher.clock import Clock, SystemClock
from publisher.config import Config, Secrets
from publisher.errors import PublisherError
from publisher.store import Store

# Files SQLite keeps beside the store, which a write would corrupt as surely as the store's.
STORE_JOURNALS = ("-wal", "-shm", "-journal")


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

    def refuse_own_file(self, path: Path) -> None:
        """PublisherError when ``path`` (however spelt: relative, through ``..`` or a link) is the
        store, one of its journal files or the config: an output written there would destroy it."""
        store = self.config.store.path
        own = {
            store: "the store",
            **{store.with_name(store.name + suffix): "a journal of the store" for suffix in STORE_JOURNALS},
            self.config.source: "the config file",
        }
        target = path.resolve()
        for own_path, what in own.items():
            if target == own_path.resolve() or (target.exists() and own_path.exists() and target.samefile(own_path)):
                raise PublisherError(f"{path}: is {what}; choose another file name")

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]


@dataclass(frozen=True)
class AppFactory:
    """Fresh Apps with the config, secrets and clock of ``template``: one per thread or job run.

    A SQLite connection carries its transaction state, so threads must not share one: every App
    made here opens its own. The template's store is never opened by the factory.
    """

    template: App

    def __call__(self) -> App:
        return replace(self.template)

    @contextmanager
    def opened(self) -> Iterator[App]:
        """A fresh App for one job run, closed afterwards."""
        app = self()
        try:
            yield app
        finally:
            app.close()
