"""Serve an ASGI app with uvicorn on 127.0.0.1 (a free port) in a thread, for real HTTP tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from publisher.app import App, AppFactory
from publisher.service.scheduler import PlannedSchedule
from publisher.web import create_app
from support.waiting import wait_for


def web_app(app: App):
    """The web app for ``app``'s config, secrets and clock, without the scheduler of
    ``publisher serve``: /admin/ shows the run times computed from config.toml."""
    return create_app(AppFactory(app), PlannedSchedule())


@contextmanager
def served(asgi_app) -> Iterator[str]:
    """The base URL of ``asgi_app`` served by uvicorn until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi_app, log_config=None, lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started")
        return server.started

    wait_for(started, 10, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
