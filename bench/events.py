"""SendGrid's Event Webhook under load: signed batches posted to `publisher serve` over loopback.

Prepares a temporary folder with the demo config, ``--subscribers`` generated subscribers and
one edition with a 'sent' ledger row for each (written straight into the store: sending them
is not what is measured), and a Signed Event Webhook key made for the run. Then posts
``--events`` events, ``--batch`` per request, from ``--threads`` concurrent clients, as
SendGrid does after a large send: each subscriber's message gets processed, delivered, open,
click, deferred… events (KINDS), each with its own ``sg_event_id``.
Then redelivers ``--redeliver`` of the batches, as SendGrid does when an answer is lost.

Prints the wall time and events/s, the server's peak RSS, and checks that every event was
counted once: the remembered event ids equal the distinct events posted, and the edition's
figures equal what the events say. Targets on a 2-core machine: 1,000,000 events in batches
of 1,000 applied in at most 60 s, peak RSS at most 200 MB.

    .venv/bin/python bench/events.py [--events 1000000] [--subscribers 100000] [--batch 1000]
                                     [--threads 4] [--redeliver 0.01]
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from serve import ROOT, free_port, peak_rss_mib, publisher, start_server

# What SendGrid reports for the messages, round after round (every message gets the round's kind).
KINDS = ("processed", "delivered", "open", "click", "open", "click", "deferred", "open", "delivered", "click")
OUTCOME_OF = {"delivered": "delivered", "deferred": "deferred", "open": "opens"}


def prepare(folder: Path, subscribers: int, public_key: str) -> tuple[int, list[int], list[str]]:
    """(edition id, subscriber ids, addresses) of a store with one edition sent to every subscriber."""
    shutil.copy(ROOT / "config.toml", folder / "config.toml")
    shutil.copytree(ROOT / "newsletters", folder / "newsletters")
    text = (folder / "config.toml").read_text(encoding="utf-8")
    text = text.replace("[delivery.sendgrid]\n", f'[delivery.sendgrid]\nwebhook_verification_key = "{public_key}"\n')
    text = text.replace("[newsletters.hebdo]\n", "[newsletters.hebdo]\ntrack_opens = true\n")  # SendGrid sends opens
    (folder / "config.toml").write_text(text, encoding="utf-8")
    publisher(folder, "init")
    rows = ["email,name,status,consent_source"]
    rows += [f"evt{n}@example.org,Banc {n},active,bench" for n in range(subscribers)]
    (folder / "bench.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    publisher(folder, "subscribers", "import", "bench.csv")
    with sqlite3.connect(folder / "publisher.db") as conn:
        edition_id = conn.execute(
            "INSERT INTO editions (newsletter, segment, content_key, subject, html, text, article_ids, status, "
            "created_at) VALUES ('hebdo', 'tous', 'bench', 'Banc', '<p>x</p>', 'x', '[]', 'sent', "
            "'2026-11-26T09:00:00Z') RETURNING id"
        ).fetchone()[0]
        found = conn.execute("SELECT id, email FROM subscribers WHERE email LIKE 'evt%' ORDER BY id").fetchall()
        conn.executemany(
            "INSERT INTO deliveries (edition_id, subscriber_id, status) VALUES (?, ?, 'sent')",
            [(edition_id, subscriber_id) for subscriber_id, _ in found],
        )
    return edition_id, [row[0] for row in found], [row[1] for row in found]


def batches(edition_id: int, ids: list[int], emails: list[str], count: int, size: int) -> list[bytes]:
    """``count`` events in bodies of ``size``: message after message, the KINDS of each in turn."""
    now = int(time.time())
    events = []
    for number in range(count):
        index = number % len(ids)
        kind = KINDS[(number // len(ids)) % len(KINDS)]
        events.append(
            {
                "email": emails[index],
                "timestamp": now - 60,
                "event": kind,
                "sg_event_id": f"bench-{number}",
                "sg_message_id": f"msg{index}.filter.1",
                "newsletter": "hebdo",
                "edition_id": str(edition_id),
                "subscriber_id": str(ids[index]),
                **({"sg_machine_open": False} if kind == "open" else {}),
            }
        )
    return [json.dumps(events[start : start + size]).encode() for start in range(0, count, size)]


def expected_outcomes(count: int, subscribers: int) -> dict[str, int]:
    expected: dict[str, int] = {}
    for number in range(count):
        measure = OUTCOME_OF.get(KINDS[(number // subscribers) % len(KINDS)])
        if measure:
            expected[measure] = expected.get(measure, 0) + 1
    return expected


def post_all(url: str, bodies: list[bytes], key: ec.EllipticCurvePrivateKey, threads: int) -> list[int]:
    """Post every body, signed, from ``threads`` keep-alive clients; the status of each answer."""
    statuses: list[int] = []
    lock = threading.Lock()
    queue = iter(bodies)

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    body = next(queue, None)
                if body is None:
                    return
                stamp = str(int(time.time()))
                signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
                headers = {
                    "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                    "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                    "content-type": "application/json",
                }
                status = client.post(url, content=body, headers=headers).status_code
                with lock:
                    statuses.append(status)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redeliver", type=float, default=0.01, help="share of batches posted twice")
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with tempfile.TemporaryDirectory(prefix="publisher-bench-events-") as tmp:
        folder = Path(tmp)
        print(f"preparing {args.subscribers} subscribers and their ledger rows…", file=sys.stderr)
        edition_id, ids, emails = prepare(folder, args.subscribers, base64.b64encode(public).decode())
        bodies = batches(edition_id, ids, emails, args.events, args.batch)
        again = bodies[:: max(1, round(1 / args.redeliver))] if args.redeliver else []
        port = free_port()
        server = start_server(folder, port)
        try:
            print(
                f"posting {args.events} events in {len(bodies)} requests (+{len(again)} redelivered)…", file=sys.stderr
            )
            started = time.perf_counter()
            statuses = post_all(f"http://127.0.0.1:{port}/webhooks/sendgrid", bodies + again, key, args.threads)
            wall = time.perf_counter() - started
            rss = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(30)
        with sqlite3.connect(folder / "publisher.db") as conn:
            remembered = conn.execute("SELECT count(*) FROM webhook_events WHERE sg_event_id LIKE 'bench-%'").fetchone()
            figures = dict(conn.execute("SELECT measure, sum(count) FROM edition_figures GROUP BY 1"))
    wrong = {status: n for status, n in itertools.groupby(sorted(statuses)) if status != 200}
    expected = expected_outcomes(args.events, args.subscribers)
    counted_once = remembered[0] == args.events and all(figures.get(m) == n for m, n in expected.items())
    print(
        f"{args.events} events in {len(bodies)} batches of {args.batch} (+{len(again)} redelivered), "
        f"{args.threads} clients: {wall:.1f} s, {args.events / wall:,.0f} events/s; server peak RSS {rss:.0f} MiB; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"answers other than 200: {wrong or 'none'}; every event counted once: {counted_once} {figures}")


if __name__ == "__main__":
    main()
