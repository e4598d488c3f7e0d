"""The one way tests wait for something another thread or process does: poll, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, explain: Callable[[], object] | None = None
) -> None:
    """Return as soon as ``condition()`` is true; past ``timeout`` seconds fail with "timed out
    waiting for <what>", followed by what ``explain()`` says (e.g. the output of a process)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            detail = f": {explain()}" if explain else ""
            raise AssertionError(f"timed out waiting for {what}{detail}")
        time.sleep(0.02)
