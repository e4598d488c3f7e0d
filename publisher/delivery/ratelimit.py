"""A global rate limit in messages per second, shared by every thread and every process
using the same store (GCRA: the store keeps the earliest time the next message may start).

Each acquisition is one short write transaction, so two ``publisher send`` processes (or a
send and a scheduled cycle) together stay under ``[delivery] rate_per_second``. A 429's
X-RateLimit-Reset holds everyone until then. Wall-clock time, not the injected clock: this
is about real seconds on the wire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from publisher.store import Store
from publisher.store.senders import hold_rate, reserve_rate


class SendRateLimiter:
    """Messages per second on one transport (``name``), shared through the store."""

    def __init__(
        self,
        store: Store,
        name: str,
        per_second: float,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store, self.name, self.per_second = store, name, per_second
        self._now, self._sleep = now, sleep
        self._lock = threading.Lock()

    def acquire(self, messages: int) -> float:
        """Wait until ``messages`` may start; return how long that took (seconds)."""
        with self._lock:
            now = self._now()
            start = reserve_rate(self.store, self.name, now, messages / self.per_second)
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def hold_until(self, moment: float) -> None:
        """Nobody sending through this account starts before ``moment`` (epoch seconds)."""
        with self._lock:
            hold_rate(self.store, self.name, moment)
