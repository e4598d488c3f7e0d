"""kill -9 in the middle of a send, start it again: nobody gets the digest twice, nobody is
skipped. The sender runs in a subprocess; the SendGrid-compatible server in this process
answers 30 % of requests with 429 or 500 and, at the moment of the kill, holds requests
it has accepted but not yet answered (the "in the middle of a batch" case)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from support.apps import app_for
from support.config import set_keys
from support.delivery import add_subscribers, make_edition, use_sendgrid
from support.paths import ROOT
from support.sendgrid_fake import FakeSendgrid
from support.waiting import wait_for
from support.webhook_signing import Signer, body_of
from test_delivery_outbox_smtp import Recorder, start_smtp_server

from publisher.delivery.events import handle_event_webhook
from publisher.delivery.send import enqueue
from publisher.delivery.status import status_lines
from publisher.store.deliveries import delivery_counts, ledger_rows

WORKER = Path(__file__).parent / "support" / "delivery_worker.py"


def run_worker(config_file: Path, edition_id: int) -> subprocess.Popen:
    env = {**os.environ, "SENDGRID_API_KEY": "SG.kill-test", "PUBLISHER_SECRET": "test-secret", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(config_file), str(edition_id)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_midway_then_restart_sends_each_of_2000_exactly_once(app, config_file):
    rng, lock = random.Random(9), threading.Lock()
    phase = {"hold_after": 6}

    def faults(number):
        with lock:
            roll = rng.random()
        if roll < 0.10:
            return ("429", int(time.time()) + 1)
        if roll < 0.30:
            return ("500",)
        return ("hold",) if len(fake.accepted) >= phase["hold_after"] else None

    fake = FakeSendgrid(faults=faults).start()
    try:
        use_sendgrid(config_file, fake.url, build_processes=2)
        edition = make_edition(app.store)
        enqueue(app.store, edition, add_subscribers(app.store, 2000))

        first = run_worker(config_file, edition.id)
        # Every worker thread is now inside a request the server has accepted and not answered.
        wait_for(lambda: fake.held >= 4, 30, "4 requests held on the wire", lambda: first.communicate(timeout=5))
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        first.stdout.close()
        first.stderr.close()
        accepted_before = len(fake.accepted)
        assert 6 <= accepted_before < 20

        phase["hold_after"] = 10**9
        fake.release.set()
        second = run_worker(config_file, edition.id)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err

        received = fake.recipients()
        assert len(received) == 2000 and set(received.values()) == {1}, "someone missed or got it twice"
        counts = delivery_counts(app.store, edition.id)
        # The 4 held batches were in flight when the process died: their outcome is unknown to
        # the ledger, so they were not resent, and status says so.
        assert counts["unknown"] == 400 and counts["sent"] == 1600 and counts["pending"] == 0
        assert sum("UNKNOWN batch" in line for line in status_lines(app)) == 4

        # SendGrid's Event Webhook then reports those messages as processed: all 2000 are 'sent'.
        events = [
            {
                "event": "processed",
                "sg_event_id": f"ev-{request.message_id}-{p['custom_args']['subscriber_id']}",
                "email": p["to"][0]["email"],
                "timestamp": 1795000000,
                "sg_message_id": f"{request.message_id}.filter1",
                **request.body["custom_args"],
                **p["custom_args"],
            }
            for request in fake.accepted
            for p in request.body["personalizations"]
        ]
        signer = Signer()
        signer.configure(config_file)
        receiver = app_for(config_file, app.clock)
        body = body_of(events)
        handle_event_webhook(receiver, body, signer.headers(body, app.clock.now()))
        receiver.close()
        assert delivery_counts(app.store, edition.id)["sent"] == 2000
    finally:
        fake.stop()
    assert not fake.invalid


def test_sigterm_to_publisher_send_records_the_batches_on_the_wire_and_a_rerun_resumes(app, config_file):
    phase = {"slow": True}
    fake = FakeSendgrid(faults=lambda number: ("slow", 0.4) if phase["slow"] else None).start()
    try:
        use_sendgrid(config_file, fake.url, batch_size=50, build_processes=2)
        edition = make_edition(app.store)
        enqueue(app.store, edition, add_subscribers(app.store, 2000))
        env = {**os.environ, "SENDGRID_API_KEY": "SG.stop-test", "PUBLISHER_SECRET": "s" * 32}
        command = [sys.executable, "-m", "publisher", "--config", str(config_file), "send", "hebdo"]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
        sender = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, **pipes)
        wait_for(lambda: len(fake.accepted) >= 6, 30, "6 accepted requests", lambda: sender.communicate(timeout=5))
        # As a service manager does: the whole process group, request builders included.
        os.killpg(sender.pid, signal.SIGTERM)
        out, err = sender.communicate(timeout=30)

        assert sender.returncode == 1, err
        assert "SIGTERM: stopping once the batches on the wire are recorded" in err
        assert "stopped on request; `publisher send hebdo` resumes where it stopped" in out
        counts = delivery_counts(app.store, edition.id)
        # Every request that left was answered and recorded: nothing unknown, the rest pending.
        assert counts["unknown"] == 0 and counts["sent"] == 50 * len(fake.accepted) < 2000
        assert counts["sent"] + counts["pending"] == 2000

        phase["slow"] = False
        resumed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        received = fake.recipients()
        assert len(received) == 2000 and set(received.values()) == {1}, "someone missed or got it twice"
        assert delivery_counts(app.store, edition.id)["sent"] == 2000
    finally:
        fake.stop()
    assert not fake.invalid


def publisher_send(config_file: Path) -> list[str]:
    return [sys.executable, "-m", "publisher", "--config", str(config_file), "send", "hebdo"]


SEND_ENV = {**os.environ, "PUBLISHER_SECRET": "s" * 32}  # serve and real transports refuse a short one


def test_kill_9_of_an_outbox_send_then_a_plain_send_settles_every_unknown_from_the_files(app, config_file):
    set_keys(config_file, "delivery", batch_size=100, concurrency=4)
    edition = make_edition(app.store)
    enqueue(app.store, edition, add_subscribers(app.store, 2000))
    outbox = app.config.delivery.outbox.path
    expected = {f"hebdo-e{edition.id}-s{n}.eml" for n in range(1, 2001)}

    first = subprocess.Popen(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_for(lambda: outbox.exists() and len(list(outbox.glob("*.eml"))) >= 500, 60, "500 messages in the outbox")
    first.kill()  # SIGKILL: no clean-up of any kind
    first.wait(timeout=10)
    written = {path.name: path.stat().st_mtime_ns for path in outbox.glob("*.eml")}
    assert 500 <= len(written) < 2000
    assert delivery_counts(app.store, edition.id).get("in_flight"), "the kill left batches on the wire"
    # What a kill in the middle of writing a file leaves behind.
    missing = min(expected - set(written), key=lambda name: int(name.rsplit("s", 1)[1].removesuffix(".eml")))
    (outbox / missing).with_suffix(".tmp").write_bytes(b"From: half a message")

    resumed = subprocess.run(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, capture_output=True, text=True)

    assert resumed.returncode == 0, resumed.stderr
    assert "resumed, 1 edition, 2000 sent" in resumed.stdout
    assert {path.name for path in outbox.iterdir()} == expected, "one file each, no stray .tmp"
    rewritten = [name for name, mtime in written.items() if (outbox / name).stat().st_mtime_ns != mtime]
    assert rewritten == [], "a message written before the kill was written again"
    counts = delivery_counts(app.store, edition.id)
    assert (counts["sent"], counts["unknown"], counts["pending"]) == (2000, 0, 0)
    assert not [line for line in status_lines(app) if "UNKNOWN" in line]


class HoldingSmtp(Recorder):
    """Accepts messages until ``hold_after`` have been, then, while ``holding``, holds every
    DATA unanswered (the message is on the wire when the sender dies) and never delivers the
    messages it held."""

    def __init__(self, hold_after: int) -> None:
        super().__init__()
        self.hold_after, self.holding, self.held = hold_after, True, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if len(self.messages) < self.hold_after or not self.holding:
            return await super().handle_DATA(server, session, envelope)
        self.held += 1
        while self.holding:
            await asyncio.sleep(0.05)
        return "451 4.3.0 try again later"


def test_kill_9_of_an_smtp_send_leaves_at_most_the_message_on_the_wire_of_each_connection_unknown(app, config_file):
    smtp, controller = start_smtp_server(HoldingSmtp(hold_after=250))
    try:
        set_keys(config_file, "delivery", transport="smtp", batch_size=100, concurrency=2, rate_per_second=100000)
        set_keys(config_file, "delivery.smtp", host="127.0.0.1", port=smtp.port, starttls=False, username="")
        edition = make_edition(app.store)
        enqueue(app.store, edition, add_subscribers(app.store, 600))

        first = subprocess.Popen(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, stdout=subprocess.DEVNULL)
        wait_for(lambda: smtp.held >= 2, 60, "both connections to hold a message on the wire")
        first.kill()
        first.wait(timeout=10)
        smtp.holding = False  # the held messages are refused: they never reach anyone

        resumed = subprocess.run(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, capture_output=True, text=True)

        assert resumed.returncode == 0, resumed.stderr
        received = Counter(to for _, (to,), _ in smtp.messages)
        counts = delivery_counts(app.store, edition.id)
        # Only the two messages on the wire at the kill are unknown (not resent); the rest of
        # their batches, already accepted or not yet tried, is sent, each message once.
        assert (counts["sent"], counts["unknown"], counts["pending"]) == (598, 2, 0)
        assert len(received) == 598 and set(received.values()) == {1}
        unknown = [subscriber for subscriber, status, _, _ in ledger_rows(app.store, edition.id) if status == "unknown"]
        assert not {f"abonne{n}@example.org" for n in unknown} & set(received)
        assert sum("UNKNOWN batch" in line and "1 recipient," in line for line in status_lines(app)) == 2
    finally:
        controller.stop()
