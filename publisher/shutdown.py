"""A process-wide request to stop long operations at their next safe point.

``publisher serve`` sets it on SIGTERM: a newsletter being sent finishes the batch it has on
the wire, records it in the delivery ledger and stops; the next run resumes where it stopped.
"""

from __future__ import annotations

import threading

_requested = threading.Event()


def request_stop() -> None:
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def clear_stop() -> None:
    """Forget a stop request (tests, or a process that starts over)."""
    _requested.clear()
