"""`publisher serve` in a subprocess on a free port, for tests that drive it with httpx."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from support.waiting import wait_for
from support.webserver import free_port

SECRET = "serve-test-secret-at-least-32-bytes-long"  # serve refuses shorter ones
ADMIN_PASSWORD = "admin-pass"


def cli(config_file: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(config_file), *args],
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PUBLISHER_SECRET": SECRET, "PUBLISHER_ADMIN_PASSWORD": ADMIN_PASSWORD, **extra}


def start_serve(config_file: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """`publisher serve` on a free port, once /healthz answers: the process and its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "publisher", "--config", str(config_file), "serve", "--port", str(port)],
        env=environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"publisher serve exited: {server.communicate()[0]}")
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, 30, "publisher serve")
    except BaseException:
        server.kill()
        server.communicate()
        raise
    return server, base


@contextmanager
def serving(config_file: Path, **env: str) -> Iterator[str]:
    """The base URL of `publisher serve` until the block ends; on the way out it is stopped with
    SIGTERM and must exit cleanly, without a traceback."""
    server, base = start_serve(config_file, **env)
    try:
        yield base
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
        assert server.returncode == 0, output
        assert "Traceback" not in output, output
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def client_from(base: str, local_address: str = "127.0.0.1", **options) -> httpx.Client:
    """An httpx client whose connections leave from ``local_address`` (any 127.x.y.z on Linux):
    to the server, another client IP."""
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=local_address), **options)
