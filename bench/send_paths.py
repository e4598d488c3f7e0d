"""Outbox and SMTP benchmark: one edition to N active subscribers (default 5,000) through the
outbox transport (files in a temporary folder) and through the SMTP transport (an aiosmtpd
server in its own process on loopback, accepting everything), timing the delivery and checking
that every recipient got exactly one message.

usage: .venv/bin/python bench/send_paths.py [--subscribers N] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing import Process, Queue
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def smtp_server(ports: Queue, counts: Queue) -> None:
    """An SMTP server accepting every message; puts the number of messages per recipient
    address on ``counts`` when asked (by a message to stop@bench.example)."""
    from aiosmtpd.controller import Controller

    received: dict[str, int] = {}

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            for address in envelope.rcpt_tos:
                if address == "stop@bench.example":
                    counts.put(received)
                received[address] = received.get(address, 0) + 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ports.put(port)
    asyncio.run(asyncio.sleep(3600))


def one_run(transport: str, subscribers: int, port: int) -> tuple[float, bool]:
    """(seconds to deliver, whether every recipient got exactly one message) for one transport."""
    from bench_store import add_active_subscribers, bench_edition

    from publisher.app import App
    from publisher.clock import FixedClock
    from publisher.config import Secrets, load_config
    from publisher.delivery.engine import deliver_pending
    from publisher.store import Store
    from publisher.store.deliveries import delivery_counts, enqueue

    folder = Path(tempfile.mkdtemp(prefix="bench-send-paths-"))
    try:
        config_text = (ROOT / "config.toml").read_text(encoding="utf-8")
        config_text = config_text.replace('transport = "outbox"', f'transport = "{transport}"')
        config_text = config_text.replace("rate_per_second = 10 ", "rate_per_second = 1000000 ")
        config_text = config_text.replace(
            'host = "localhost"\nport = 587\nstarttls = true', f'host = "127.0.0.1"\nport = {port}\nstarttls = false'
        )
        (folder / "config.toml").write_text(config_text, encoding="utf-8")
        clock = FixedClock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
        app = App(load_config(folder / "config.toml"), Secrets(signing_secret="bench"), clock)
        with Store(app.config.store.path) as fresh:
            fresh.migrate()
        add_active_subscribers(app, subscribers)
        edition = bench_edition(app)
        enqueue(app.store, edition.id, range(1, subscribers + 1))
        started = time.perf_counter()
        report = deliver_pending(app, edition.id)
        elapsed = time.perf_counter() - started
        complete = report.status == "sent" and delivery_counts(app.store, edition.id)["sent"] == subscribers
        if transport == "outbox":
            complete = complete and len(list(app.config.delivery.outbox.path.glob("*.eml"))) == subscribers
        app.close()
        return elapsed, complete
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ports: Queue = Queue()
    counts: Queue = Queue()
    server = Process(target=smtp_server, args=(ports, counts), daemon=True)
    server.start()
    port = ports.get(timeout=10)
    try:
        for transport in ("outbox", "smtp"):
            times = []
            for number in range(1, args.runs + 1):
                elapsed, complete = one_run(transport, args.subscribers, port)
                times.append(elapsed)
                print(
                    f"{transport} run {number}: {elapsed:.2f} s, {args.subscribers / elapsed:.0f} messages/s, "
                    f"ledger complete: {complete}",
                    flush=True,
                )
            median = statistics.median(times)
            print(f"{transport} median of {args.runs}: {median:.2f} s, {args.subscribers / median:.0f} messages/s")
        import smtplib

        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("bench@bench.example", ["stop@bench.example"], b"Subject: stop\r\n\r\nstop\r\n")
        received = counts.get(timeout=10)
        once = all(received.get(f"abonne{n}@example.org") == args.runs for n in range(1, args.subscribers + 1))
        print(f"smtp: every recipient got one message per run: {once}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
