"""No known secret in production: `publisher serve`, and `send`/`run-once` with a real transport,
refuse a PUBLISHER_SECRET that is unset, shorter than 32 bytes or the demo's, in one line that
says how to make one. The demo (outbox) and dry runs keep working with any secret."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from support.config import set_keys
from support.paths import HOSTILE
from support.sendgrid_fake import FakeSendgrid
from support.webserver import free_port

WEAK = [line for line in (HOSTILE / "secret_weak.txt").read_text(encoding="utf-8").splitlines()[1:] if line]
DEMO_SECRET = "demo-secret-not-for-production"
HOW = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


def publisher(config_file: Path, *args: str, secret: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PUBLISHER_SECRET"}
    if secret is not None:
        env["PUBLISHER_SECRET"] = secret
    env["SENDGRID_API_KEY"] = "SG.never-used"
    return subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(config_file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )


def assert_refused(result: subprocess.CompletedProcess, secret: str | None) -> None:
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: PUBLISHER_SECRET "), line
    assert HOW in line
    if secret:
        assert secret not in line.replace(HOW, "")  # the refused secret is not echoed


@pytest.fixture
def loaded(config_file):
    for command in (["init"], ["demo", "load"]):
        assert publisher(config_file, *command, secret=None).returncode == 0
    (config_file.parent / "secrets.env").unlink()  # init's strong secret: these tests are about the environment's
    return config_file


def test_the_weak_secrets_are_what_the_check_must_refuse():
    assert DEMO_SECRET in WEAK
    assert all(len(secret.encode()) < 32 or secret == DEMO_SECRET for secret in WEAK)
    assert any(len(secret) < 32 <= len(secret.encode()) * 2 for secret in WEAK)  # bytes are counted, not letters


@pytest.mark.parametrize("secret", [*WEAK, None])
def test_serve_refuses_a_short_unset_or_demo_secret(loaded, secret):
    result = publisher(loaded, "serve", "--port", str(free_port()), secret=secret)
    assert_refused(result, secret)
    if secret == DEMO_SECRET:
        assert "the demo's" in result.stderr


@pytest.mark.parametrize("transport", ["smtp", "sendgrid"])
@pytest.mark.parametrize(
    "command", [["send", "hebdo"], ["send", "hebdo", "--test-to", "staff@example.org"], ["run-once"]]
)
def test_a_real_transport_refuses_a_weak_secret_before_sending_anything(loaded, transport, command):
    set_keys(loaded, "delivery", transport=transport)
    set_keys(loaded, "delivery.smtp", port=free_port())  # nothing listens: a send would pause, not refuse
    set_keys(loaded, "delivery.sendgrid", api_host=f"http://127.0.0.1:{free_port()}")
    for secret in (DEMO_SECRET, "s3cr3t-2026"):
        assert_refused(publisher(loaded, *command, secret=secret), secret)
    status = publisher(loaded, "status", secret=None)
    assert "edition " not in status.stdout  # nothing was planned nor sent
    assert "run-once" not in status.stdout  # nor started
    dry = publisher(loaded, "send", "hebdo", "--dry-run", secret="s3cr3t-2026")  # a dry run signs and sends nothing
    assert dry.returncode == 0, dry.stderr


def test_the_demo_keeps_working_with_its_secret(loaded):
    assert publisher(loaded, "run-once", secret=DEMO_SECRET).returncode == 0
    result = publisher(loaded, "send", "hebdo", secret=DEMO_SECRET)  # as make demo sends
    assert result.returncode == 0, result.stderr
    assert "hebdo → tous: 1 edition" in result.stdout
    assert any((loaded.parent / "outbox").glob("hebdo-*.eml"))


def test_a_random_secret_of_32_bytes_sends_for_real(loaded):
    fake = FakeSendgrid().start()
    try:
        set_keys(loaded, "delivery", transport="sendgrid")
        set_keys(loaded, "delivery.sendgrid", api_host=fake.url)
        result = publisher(loaded, "send", "hebdo", secret=secrets.token_urlsafe(24))  # 32 characters
        assert result.returncode == 0, result.stderr
        assert fake.recipients()
    finally:
        fake.stop()
