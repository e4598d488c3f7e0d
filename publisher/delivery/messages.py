"""Recording each message of a one-at-a-time batch (SMTP) as soon as its outcome is known.

The worker threads sending the messages write the ledger themselves, each through its own
store connection (the engine's connection belongs to its coordinating thread), so that the
outcome of a message is in the store before the next message leaves.
"""

from __future__ import annotations

import threading
from functools import partial

from publisher.app import App
from publisher.delivery.transport import OnMessage
from publisher.store import Store
from publisher.store.deliveries import record_message


class MessageRecorder:
    """One store connection per worker thread, closed by ``close``."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()

    def for_batch(self, batch_id: int) -> OnMessage:
        return partial(self._record, batch_id)

    def _record(self, batch_id: int, subscriber_id: int, status: str, detail: str | None, next_on_wire: int) -> None:
        record_message(self._store(), batch_id, subscriber_id, status, detail, next_on_wire)

    def _store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.app.config.store.path, self.app.clock)
            with self._lock:
                self._stores.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            stores, self._stores = self._stores, []
        for store in stores:
            store.close()
