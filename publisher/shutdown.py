"""A process-wide request to stop long operations at their next safe point.

``publisher serve`` sets it on SIGTERM, and ``publisher send`` and ``run-once`` on SIGTERM or
Ctrl-C (``stopping_on_signals``): a newsletter being sent finishes the batches it has on the
wire, records them in the delivery ledger and stops; the next run resumes where it stopped.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

_requested = threading.Event()


def request_stop() -> None:
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def clear_stop() -> None:
    """Forget a stop request (tests, or a process that starts over)."""
    _requested.clear()


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """While inside (in the main thread): the first SIGTERM or SIGINT asks for a stop at the next
    safe point; a second one interrupts at once (KeyboardInterrupt). The stop request is
    forgotten on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        if stop_requested():
            raise KeyboardInterrupt
        request_stop()
        log.warning(
            "%s: stopping once the batches on the wire are recorded (again to stop at once)",
            signal.Signals(signum).name,
        )

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        clear_stop()
