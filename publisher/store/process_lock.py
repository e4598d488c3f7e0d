"""The store's process lock: ``publisher serve`` and ``publisher restore`` hold it while they
run, so a restore never swaps the file under a running service (nor a second service starts).

An advisory ``flock`` on ``STORE.lock`` beside the store; the kernel drops it when its process
dies, so a crash never leaves it behind. The file says who holds it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from publisher.errors import StoreError


@contextmanager
def holding(store_path: Path, holder: str) -> Iterator[None]:
    """Hold the lock of the store at ``store_path`` as ``holder`` (e.g. "publisher serve");
    StoreError naming the process that holds it already."""
    path = store_path.with_name(store_path.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise StoreError(f"{store_path}: {other} is using the store; stop it first") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{holder} (pid {os.getpid()})".encode(), 0)
        yield
    finally:
        os.close(descriptor)
