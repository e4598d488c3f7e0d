"""One process sends a newsletter at a time; a dead holder is replaced, a live one refuses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from publisher.errors import DeliveryError
from publisher.store.senders import acquire_sender, release_sender, this_process


def holder(app) -> str | None:
    rows = list(app.store.db["newsletter_runs"].rows_where("newsletter = ?", ["hebdo"]))
    return rows[0]["sender"] if rows else None


def mark_sender(app, sender: str) -> None:
    with app.store.transaction():
        app.store.db["newsletter_runs"].upsert({"newsletter": "hebdo", "sender": sender}, pk="newsletter")


def test_a_live_sender_refuses_a_second_one_unless_forced(app):
    mark_sender(app, f"{socket.gethostname()}:{os.getppid()}")  # alive, and not us
    with pytest.raises(DeliveryError, match=r"is being sent by process .* use --force"):
        acquire_sender(app.store, "hebdo")
    acquire_sender(app.store, "hebdo", force=True)
    assert holder(app) == this_process()
    release_sender(app.store, "hebdo")
    assert holder(app) is None


def test_a_dead_sender_on_this_host_is_replaced(app):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    mark_sender(app, f"{socket.gethostname()}:{finished.stdout.strip()}")
    acquire_sender(app.store, "hebdo")
    assert holder(app) == this_process()
