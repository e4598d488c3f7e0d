"""``publisher serve``: uvicorn serving the web app, with the scheduler running beside it.

Shutdown (SIGTERM or Ctrl-C): uvicorn stops accepting connections and finishes the requests
in flight; at the same moment running jobs are asked to stop at their next safe point (a send
finishes and records the batch on the wire); then the scheduler is shut down, waiting for
them. A send stopped this way is resumed by the next run, and no one gets it twice.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import uvicorn

from publisher.app import AppFactory
from publisher.delivery.events import WEBHOOK_OFF
from publisher.service.scheduler import ServiceScheduler
from publisher.shutdown import request_stop
from publisher.store.process_lock import holding
from publisher.web.access_log import AccessLog
from publisher.web.app import create_app

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server, telling running jobs to stop as soon as the signal arrives."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        request_stop()
        super().handle_exit(sig, frame)


def serve(factory: AppFactory, host: str | None = None, port: int | None = None) -> None:
    """Run the web app and the scheduler until SIGTERM or SIGINT, holding the store's process
    lock (``publisher restore`` refuses to run meanwhile)."""
    with holding(factory.template.config.store.path, "publisher serve"):
        _serve(factory, host, port)


def _serve(factory: AppFactory, host: str | None, port: int | None) -> None:
    settings = factory.template.config.service
    with factory.opened() as app:
        app.store  # noqa: B018  (refuse to start on a missing or unmigrated store: StoreError)
    if not factory.template.config.delivery.sendgrid.webhook_verification_key:
        log.warning(WEBHOOK_OFF)
    scheduler = ServiceScheduler(factory)
    web = create_app(factory, scheduler)
    if settings.access_log:
        web = AccessLog(web, factory.template.clock)
        _log_access_to_stderr()
    config = uvicorn.Config(
        web,
        host=host or settings.host,
        port=settings.port if port is None else port,
        # X-Forwarded-For/-Proto only from the configured proxies; none configured: never.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        server_header=False,
        date_header=True,
        log_config=None,
        access_log=False,  # ours (publisher.web.access_log): combined format, tokens redacted
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
    server = _Server(config)
    # uvicorn re-raises the signal it caught once it has stopped; ours only lets us finish.
    previous = {sig: signal.signal(sig, _ignore_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler.start()
    try:
        server.run()
    finally:
        scheduler.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("publisher serve stopped")


def _log_access_to_stderr() -> None:
    """The access log's lines, as they are, on stderr (the service's journal), whatever -v says."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("publisher.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def _ignore_signal(sig: int, frame: FrameType | None) -> None:
    log.info("signal %s: already stopping", sig)
