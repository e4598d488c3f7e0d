"""Dispatch benchmark: 1,000,000 active subscribers, one edition, the sendgrid transport
against a SendGrid-compatible server on loopback (in its own process, so its cost is not in
our RSS). Each run (a fresh process) times writing the ledger (enqueue) and delivering it,
then checks the ledger is complete and the server got every recipient exactly once.

usage: .venv/bin/python bench/dispatch.py [--subscribers N] [--runs 3] [--profile]
Targets (2 cores): under 20 s, peak RSS under 250 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing import Process, Queue
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBSCRIBER_ID = re.compile(rb'"custom_args":\{"subscriber_id":"([0-9]+)"\}')


# --- the server (its own process) ----------------------------------------------------


def serve(port_queue: Queue, expected: int) -> None:
    """POST /v3/mail/send answers 202 with an X-Message-Id after finding every personalization's
    subscriber_id (counting recipients and duplicates); GET / returns the counts and this
    process's CPU time.

    SendGrid's own work does not run on the sender's machine; this stand-in does, on the same
    two cores, so it does as little as it can: one thread reading each request into one buffer,
    and the ids found with a regular expression instead of parsing the JSON (parsing a million
    personalizations cost ~8 s of CPU, a threaded http.server ~2 s more). The tests validate
    every request body against SendGrid's OpenAPI schema. Connections wait in the listen
    backlog while one request is read (the client opens one connection per request)."""
    seen = bytearray(expected + 1)
    stats = {"requests": 0, "recipients": 0, "duplicates": 0}
    buffer = bytearray(32 * 2**20)  # SendGrid's limit is 30 MB a request
    view = memoryview(buffer)

    def accept(start: int, end: int) -> int:
        ids = [int(found) for found in SUBSCRIBER_ID.findall(buffer, start, end)]
        stats["requests"] += 1
        stats["recipients"] += len(ids)
        for subscriber_id in ids:
            if seen[subscriber_id]:
                stats["duplicates"] += 1
            seen[subscriber_id] = 1
        return stats["requests"]

    def answer(status: str, headers: str = "", data: bytes = b"") -> bytes:
        head = f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        return head.encode() + data

    def handle(connection: socket.socket) -> None:
        received = 0
        while (head_end := buffer.find(b"\r\n\r\n", 0, received)) < 0:
            if not (count := connection.recv_into(view[received:])):
                return
            received += count
        head = buffer[:head_end].decode("latin-1").lower()
        body_start = head_end + 4
        body_end = body_start + int(head.partition("content-length:")[2].partition("\r\n")[0] or 0)
        while received < body_end:
            if not (count := connection.recv_into(view[received:body_end])):
                return
            received += count
        if head.startswith("post"):
            connection.sendall(answer("202 Accepted", f"X-Message-Id: bench{accept(body_start, body_end)}\r\n"))
        else:
            connection.sendall(answer("200 OK", data=json.dumps({**stats, "cpu_s": time.process_time()}).encode()))

    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    port_queue.put(listener.getsockname()[1])
    while True:
        connection, _ = listener.accept()
        with connection, contextlib.suppress(ConnectionError):
            handle(connection)


# --- one run (its own process) -------------------------------------------------------


def one_run(subscribers: int, profile: bool) -> dict:
    from bench_store import add_active_subscribers, bench_edition

    from publisher.app import App
    from publisher.clock import FixedClock
    from publisher.config import Secrets, load_config
    from publisher.delivery.engine import deliver_pending
    from publisher.store import Store
    from publisher.store.deliveries import delivery_counts, enqueue, stream_subscriber_ids

    ports: Queue = Queue()
    server = Process(target=serve, args=(ports, subscribers), daemon=True)
    server.start()
    port = ports.get(timeout=10)
    folder = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    try:
        config_text = (ROOT / "config.toml").read_text(encoding="utf-8")
        config_text = config_text.replace('transport = "outbox"', 'transport = "sendgrid"')
        config_text = config_text.replace("batch_size = 500", "batch_size = 1000")
        config_text = config_text.replace("rate_per_second = 10 ", "rate_per_second = 1000000 ")
        config_text = config_text.replace(
            'api_host = "https://api.sendgrid.com"', f'api_host = "http://127.0.0.1:{port}"'
        )
        (folder / "config.toml").write_text(config_text, encoding="utf-8")
        clock = FixedClock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
        app = App(
            load_config(folder / "config.toml"), Secrets(sendgrid_api_key="SG.bench", signing_secret="bench"), clock
        )
        with Store(app.config.store.path) as fresh:
            fresh.migrate()
        store: Store = app.store
        add_active_subscribers(app, subscribers)
        edition = bench_edition(app)

        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        cpu_started = time.process_time()
        started = time.perf_counter()
        enqueue(store, edition.id, stream_subscriber_ids(store))
        enqueued = time.perf_counter()
        cpu_enqueued = time.process_time()
        report = deliver_pending(app, edition.id)
        finished = time.perf_counter()
        cpu_finished = time.process_time()
        # The request builders (child processes, joined when the transport closed); the
        # server, also a child, is still running and so not counted here.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if profiler:
            profiler.stop()
            (folder.parent / "dispatch-profile.html").write_text(profiler.output_html())
            print(profiler.output_text(unicode=True, color=False, show_all=False)[:6000], file=sys.stderr)
        import urllib.request

        stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/").read())
        counts = delivery_counts(store, edition.id)
        app.close()
        return {
            "enqueue_s": enqueued - started,
            "deliver_s": finished - enqueued,
            "wall_s": finished - started,
            "cpu_enqueue_s": cpu_enqueued - cpu_started,
            "cpu_deliver_s": cpu_finished - cpu_enqueued,
            "cpu_builders_s": children.ru_utime + children.ru_stime,
            "builder_peak_rss_mb": children.ru_maxrss / 1024,
            "cpu_server_s": stats["cpu_s"],
            "requests": stats["requests"],
            "recipients": stats["recipients"],
            "duplicates": stats["duplicates"],
            "ledger_sent": counts["sent"],
            "ledger_complete": counts["sent"] == subscribers and report.status == "sent",
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        server.terminate()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one run with pyinstrument")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one or args.profile:
        print(json.dumps(one_run(args.subscribers, args.profile)))
        return
    results = []
    for number in range(1, args.runs + 1):
        output = subprocess.run(
            [sys.executable, __file__, "--one", "--subscribers", str(args.subscribers)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        results.append(result)
        print(
            f"run {number}: wall {result['wall_s']:.2f} s (enqueue {result['enqueue_s']:.2f} s, deliver "
            f"{result['deliver_s']:.2f} s), {result['requests']} requests, {result['recipients']} recipients "
            f"({result['duplicates']} duplicates), ledger sent {result['ledger_sent']}, peak RSS "
            f"{result['peak_rss_mb']:.0f} MB (each builder ≤ {result['builder_peak_rss_mb']:.0f} MB); CPU: enqueue "
            f"{result['cpu_enqueue_s']:.1f} s, deliver {result['cpu_deliver_s']:.1f} s, builders "
            f"{result['cpu_builders_s']:.1f} s, SendGrid stand-in {result['cpu_server_s']:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    median = {
        key: statistics.median(r[key] for r in results)
        for key in (
            "wall_s",
            "enqueue_s",
            "deliver_s",
            "peak_rss_mb",
            "cpu_enqueue_s",
            "cpu_deliver_s",
            "cpu_builders_s",
        )
    }
    complete = all(
        r["ledger_complete"] and r["duplicates"] == 0 and r["recipients"] == args.subscribers for r in results
    )
    print(
        f"median of {len(results)}: wall {median['wall_s']:.2f} s (enqueue {median['enqueue_s']:.2f} s, deliver "
        f"{median['deliver_s']:.2f} s), {results[0]['requests']} requests, {results[0]['recipients']} recipients, "
        f"peak RSS {median['peak_rss_mb']:.0f} MB, ledger complete and no duplicates: {complete}; CPU: enqueue "
        f"{median['cpu_enqueue_s']:.1f} s, deliver {median['cpu_deliver_s']:.1f} s, builders "
        f"{median['cpu_builders_s']:.1f} s"
    )
    print(
        f"targets: wall < 20 s {'OK' if median['wall_s'] < 20 else 'MISSED'}, "
        f"peak RSS < 250 MB {'OK' if median['peak_rss_mb'] < 250 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
