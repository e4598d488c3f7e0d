"""`publisher serve` as a real process, attacked on /webhooks/sendgrid: without a verification key
the endpoint is off (404, and the start-up log says how to turn it on); with one, every hostile
body in tests/data/hostile/webhook_* is a 400 that applies nothing, even when signed."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support.config import TEST_CONFIG, set_keys
from support.serve import Serving, cli, start_serve
from support.webhook_signing import Signer, body_of

HOSTILE = sorted((Path(__file__).resolve().parent / "data" / "hostile").glob("webhook_*"))
TARGET = "marie-helene.berger@example.org"  # a demo subscriber, named by every hostile file's first event
OTHER = "renaud.lea@maison-emploi.test"


@dataclass
class Served:
    folder: Path
    server: Serving

    @property
    def base(self) -> str:
        return self.server.base

    def status_of(self, email: str) -> str:
        with sqlite3.connect(self.folder / "publisher.db") as conn:
            return conn.execute("SELECT status FROM subscribers WHERE email = ?", (email,)).fetchone()[0]

    def remembered_events(self, prefix: str = "") -> int:
        with sqlite3.connect(self.folder / "publisher.db") as conn:
            query = "SELECT count(*) FROM webhook_events WHERE sg_event_id LIKE ?"
            return conn.execute(query, (prefix + "%",)).fetchone()[0]

    def stop(self) -> str:
        return self.server.stop()


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def serve(folder: Path, key: str | None) -> Served:
    """The tests' config and the demo data, without newsletters (nothing is sent), served on a free port."""
    text = TEST_CONFIG.read_text(encoding="utf-8")
    (folder / "config.toml").write_text(text[: text.index("[newsletters.")], encoding="utf-8")
    if key:
        set_keys(folder / "config.toml", "delivery.sendgrid", webhook_verification_key=key)
    for step in (["init"], ["demo", "load"]):
        assert cli(folder / "config.toml", *step).returncode == 0
    return Served(folder, start_serve(folder / "config.toml"))


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory, signer) -> Iterator[Served]:
    served = serve(tmp_path_factory.mktemp("signed"), signer.public_key)
    yield served
    output = served.stop()
    assert "Traceback" not in output, output
    assert "@" not in output, "the log names no address"
    assert not any(line.startswith("FORGED") for line in output.splitlines()), "a key of the body forged a log line"


def test_without_a_key_the_webhook_is_off_and_serve_says_how_to_turn_it_on(tmp_path):
    served = serve(tmp_path, key=None)
    try:
        forged = body_of([{"event": "spamreport", "email": TARGET, "sg_event_id": "f1", "timestamp": 1795000000}])
        response = httpx.post(served.base + "/webhooks/sendgrid", content=forged)
    finally:
        output = served.stop()
    assert response.status_code == 404
    assert served.status_of(TARGET) == "active" and served.remembered_events() == 0
    [line] = [line for line in output.splitlines() if "webhook_verification_key" in line]
    assert "/webhooks/sendgrid is off" in line and "Signed Event Webhook" in line and "config.toml" in line


@pytest.mark.parametrize("path", HOSTILE, ids=[path.name for path in HOSTILE])
def test_a_signed_hostile_body_is_a_400_that_applies_nothing(signed_server, signer, path):
    body = path.read_bytes()
    response = httpx.post(
        signed_server.base + "/webhooks/sendgrid", content=body, headers=signer.headers(body, time.time())
    )
    assert response.status_code == 400, response.text
    assert signed_server.status_of(TARGET) == "active"
    assert signed_server.remembered_events("hostile") == 0


def test_unsigned_stale_or_forged_requests_are_403_and_a_signed_one_applies_once(signed_server, signer):
    url = signed_server.base + "/webhooks/sendgrid"
    body = body_of([{"event": "spamreport", "email": OTHER, "sg_event_id": "real-1", "timestamp": 1795000000}])
    refused = [
        httpx.post(url, content=body),
        httpx.post(url, content=body, headers=signer.headers(body, time.time() - 26 * 3600)),
        httpx.post(url, content=body, headers=Signer().headers(body, time.time())),
    ]
    assert [response.status_code for response in refused] == [403, 403, 403]
    assert signed_server.status_of(OTHER) == "active"

    answer = httpx.post(url, content=body, headers=signer.headers(body, time.time()))
    replay = httpx.post(url, content=body, headers=signer.headers(body, time.time()))
    assert answer.status_code == 200 and answer.json()["applied"] == 1
    assert replay.status_code == 200 and json.loads(replay.text)["duplicates"] == 1
    assert signed_server.status_of(OTHER) == "complained"
