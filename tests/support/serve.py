"""`publisher serve` in a subprocess on a free port, for tests that drive it with httpx."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class Serving:
    """A running `publisher serve`: its process, its base URL and the file its output goes to (a
    file rather than a pipe nobody reads, on which a busy server would block)."""

    process: subprocess.Popen
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        """Stop it as a service manager does (SIGTERM; SIGKILL after 30 s) and return its output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            self.kill()
        return self.output()

    def kill(self) -> None:
        """SIGKILL (kill -9) if it is still running."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start_serve(config_file: Path, *options: str, **env: str) -> Serving:
    """`publisher [options] serve` on a free port, once /healthz answers; its output goes to
    serve-<port>.log next to ``config_file``; ``env`` overrides the test environment."""
    return start_serve_in(environment(**env), config_file, *options)


def start_serve_in(environ: dict[str, str], config_file: Path, *options: str) -> Serving:
    """``start_serve`` with exactly the environment ``environ`` (e.g. without any secret)."""
    port = free_port()
    log = config_file.parent / f"serve-{port}.log"
    command = [sys.executable, "-m", "publisher", "--config", str(config_file), *options, "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environ, stdout=output, stderr=subprocess.STDOUT)
    server = Serving(process, f"http://127.0.0.1:{port}", log)

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"publisher serve exited: {server.output()}")
        try:
            return httpx.get(server.base + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, 30, "publisher serve")
    except BaseException:
        server.kill()
        raise
    return server


@contextmanager
def serving(config_file: Path, *options: str, **env: str) -> Iterator[str]:
    """The base URL of `publisher serve` until the block ends; on the way out it is stopped with
    SIGTERM and must exit cleanly, without a traceback."""
    server = start_serve(config_file, *options, **env)
    try:
        yield server.base
    except BaseException:
        server.kill()
        raise
    output = server.stop()
    assert server.process.returncode == 0, output
    assert "Traceback" not in output, output


def client_from(base: str, local_address: str = "127.0.0.1", **options) -> httpx.Client:
    """An httpx client whose connections leave from ``local_address`` (any 127.x.y.z on Linux):
    to the server, another client IP."""
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=local_address), **options)
