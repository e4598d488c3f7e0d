"""The worker that sends the queued sign-up emails (publisher.signup_queue) for the web app.

One thread with its own App, started and stopped with the web app (its lifespan): woken by
each sign-up, and at least every POLL_SECONDS for the retries that come due. At start it
settles what a dead process left on the wire, and once an hour it deletes old finished rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from publisher.app import App, AppFactory
from publisher.errors import PublisherError
from publisher.signup_queue import prune_finished, send_queued, settle_interrupted

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
PRUNE_EVERY_SECONDS = 3600.0
# After an error (e.g. a missing SENDGRID_API_KEY) the worker waits this long, or for a new sign-up.
PAUSE_AFTER_ERROR_SECONDS = 60.0


class SignupMailer:
    def __init__(self, factory: AppFactory, poll_seconds: float = POLL_SECONDS) -> None:
        self.factory = factory
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="signup-mailer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A mail was queued: send it now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the mail on the wire (waiting at most the transport's timeout for it)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(self.factory.template.config.delivery.request_timeout + 5)
        self._thread = None

    def _run(self) -> None:
        with self.factory.opened() as app:
            self._guarded(app, settle_interrupted)
            pruned_at = -PRUNE_EVERY_SECONDS
            while not self._stopping.is_set():
                if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                    self._guarded(app, prune_finished)
                    pruned_at = time.monotonic()
                self._wake.clear()
                ok = self._guarded(app, lambda app: send_queued(app, stop=self._stopping.is_set))
                self._wake.wait(self.poll_seconds if ok else PAUSE_AFTER_ERROR_SECONDS)

    @staticmethod
    def _guarded(app: App, step: Callable[[App], object]) -> bool:
        """Run one step; False when it failed: the error is logged and the mails stay queued."""
        try:
            step(app)
        except PublisherError as error:  # the store busy with a long import, a transport's missing key…
            log.error("sign-up mailer: %s", error)
            return False
        except Exception:
            log.exception("sign-up mailer: unexpected error")
            return False
        return True
