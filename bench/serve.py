"""`publisher serve` over loopback: conditional GETs of a tag feed, one-click unsubscribes and
article click links.

Starts `publisher serve` in a subprocess on a free 127.0.0.1 port, with the demo config and
data in a temporary folder (feeds built, plus generated subscribers for the unsubscribes).
The load comes from wrk (``apt-get install wrk``; bench/serve.lua bounds and checks the
requests) when it is installed, else from a few threads with keep-alive httpx clients (the
Python client then costs more CPU than the server and the figures are the client's limit).
Either way the clients send, over loopback:

- conditional GETs of a tag feed with the current ETag (every answer must be 304);
- RFC 8058 one-click unsubscribes (POST ``List-Unsubscribe=One-Click``), each to a
  different subscriber (every answer must be 200, and the subscriber must be unsubscribed);
- GETs of an article's click link ``/r/EDITION/ARTICLE/SIGNATURE`` of the demo's hebdo, sent
  to the outbox, with a browser's User-Agent (every answer must be a 302, and every request
  must be counted as a click).

Each phase is bounded by a request count and a time limit. Prints requests/s and latency
p50/p95/p99 (median of the runs), the server's CPU time per request (what the rate would be
if the server had a core to itself) and its peak RSS. Targets on a 2-core machine: at least
1,000 requests/s for 304 answers and for click links, p99 under 50 ms.

    .venv/bin/python bench/serve.py [--requests 20000] [--unsubscribes 2000] [--threads 4] [--runs 3]
                                    [--client auto|wrk|httpx]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

LUA = Path(__file__).with_name("serve.lua")

ROOT = Path(__file__).resolve().parent.parent
PUBLISHER = [sys.executable, "-m", "publisher"]
SECRET = "bench-secret-at-least-32-bytes-long"  # serve refuses shorter ones
TAG = "apprentissage"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36"


def publisher(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PUBLISHER_SECRET": SECRET, "PUBLISHER_CONFIG": str(folder / "config.toml")}
    return subprocess.run([*PUBLISHER, *args], env=env, cwd=folder, capture_output=True, text=True, check=check)


def prepare(folder: Path, subscribers: int) -> None:
    shutil.copy(ROOT / "config.toml", folder / "config.toml")
    if (ROOT / "newsletters").is_dir():
        shutil.copytree(ROOT / "newsletters", folder / "newsletters")
    publisher(folder, "init")
    publisher(folder, "demo", "load")
    publisher(folder, "feeds", "build")
    rows = ["email,name,interests,status,consent_source"]
    rows += [f"banc{n}@example.org,Banc {n},{TAG},active,bench" for n in range(subscribers)]
    (folder / "bench.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    publisher(folder, "subscribers", "import", "bench.csv")
    publisher(folder, "send", "hebdo")


def click_path(folder: Path) -> tuple[str, int, int]:
    """(path of the click link of the first article of the first hebdo edition, edition, article)."""
    from publisher.app import App
    from publisher.config import Secrets, load_config
    from publisher.figures.clicks import click_url

    app = App(load_config(folder / "config.toml"), Secrets(signing_secret=SECRET))
    try:
        edition_id, article_id = app.store.conn.execute(
            "SELECT e.id, json_extract(e.article_ids, '$[0]') FROM editions e WHERE newsletter = 'hebdo' ORDER BY id"
        ).fetchone()
        return click_url(app, edition_id, article_id)[len(app.config.site.base_url) :], edition_id, article_id
    finally:
        app.close()


def clicks_counted(folder: Path, edition_id: int, article_id: int) -> int:
    from publisher.app import App
    from publisher.config import Secrets, load_config
    from publisher.store.figures import article_counts

    app = App(load_config(folder / "config.toml"), Secrets(signing_secret=SECRET))
    try:
        return article_counts(app.store, edition_id).get("clicks", {}).get(article_id, 0)
    finally:
        app.close()


def unsubscribe_paths(folder: Path) -> list[str]:
    """The one-click path of every generated subscriber, signed as the emails sign them."""
    from publisher.app import App
    from publisher.config import Secrets, load_config
    from publisher.tokens import links_for

    app = App(load_config(folder / "config.toml"), Secrets(signing_secret=SECRET))
    try:
        ids = [
            row[0] for row in app.store.conn.execute("SELECT id FROM subscribers WHERE email LIKE 'banc%' ORDER BY id")
        ]
        base = len(app.config.site.base_url)
        return [links_for(app, subscriber_id).unsubscribe_url[base:] for subscriber_id in ids]
    finally:
        app.close()


def unsubscribed(folder: Path) -> int:
    """How many of the generated subscribers are unsubscribed now."""
    from publisher.app import App
    from publisher.config import Secrets, load_config
    from publisher.subscribers.lifecycle import find_subscriber

    app = App(load_config(folder / "config.toml"), Secrets(signing_secret=SECRET))
    try:
        emails = (row[0] for row in app.store.conn.execute("SELECT email FROM subscribers WHERE email LIKE 'banc%'"))
        return sum(find_subscriber(app, email).status == "unsubscribed" for email in emails)
    finally:
        app.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PUBLISHER_SECRET": SECRET, "PUBLISHER_CONFIG": str(folder / "config.toml")}
    server = subprocess.Popen(
        [*PUBLISHER, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("publisher serve did not start")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(base_url: str, count: int, threads: int, seconds: float, request: Callable[[httpx.Client, int], None]):
    """Send ``count`` requests from ``threads`` keep-alive clients; (latencies, wall seconds)."""
    latencies: list[float] = []
    lock = threading.Lock()
    next_index = iter(range(count))
    deadline = time.monotonic() + seconds

    def worker() -> None:
        mine = []
        with httpx.Client(base_url=base_url, timeout=10, limits=httpx.Limits(max_connections=1)) as client:
            while time.monotonic() < deadline:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    break
                started = time.perf_counter()
                request(client, index)
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, time.perf_counter() - started


def wrk_load(
    base_url: str,
    method: str,
    paths: list[str],
    per_thread: int,
    threads: int,
    seconds: float,
    expected: int,
    headers: tuple[str, ...] = (),
) -> dict:
    """One bounded wrk run: its figures (requests, seconds, p50/p95/p99 in ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(paths) + "\n")
        listing.flush()
        command = ["wrk", f"-t{threads}", f"-c{threads}", f"-d{int(seconds)}s", "-s", str(LUA), base_url, "--"]
        command += [method, str(expected), str(per_thread), listing.name, str(threads), *headers]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = json.loads(output.split("BENCH ", 1)[1])
    if figures["wrong_status"] or figures["socket_errors"]:
        raise SystemExit(f"{method}: {figures['wrong_status']} unexpected answers, {figures['socket_errors']} errors")
    return figures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figures_of(latencies: list[float], wall: float) -> dict:
    """The figures of an httpx run, in the shape wrk_load returns."""
    return {"requests": len(latencies), "seconds": wall} | {
        key: percentile(latencies, fraction) * 1000 for key, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
    }


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, runs: list[dict], cpu_seconds: float) -> None:
    rate = statistics.median(run["requests"] / run["seconds"] for run in runs)
    middle = {key: statistics.median(run[key] for run in runs) for key in ("p50", "p95", "p99")}
    total = sum(run["requests"] for run in runs)
    print(
        f"{name:<28} {rate:>7.0f} req/s   p50 {middle['p50']:.2f} ms   p95 {middle['p95']:.2f} ms   "
        f"p99 {middle['p99']:.2f} ms   server CPU {cpu_seconds / total * 1000:.3f} ms/request   "
        f"({len(runs)} runs of {runs[0]['requests']} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="conditional GETs per run")
    parser.add_argument("--unsubscribes", type=int, default=2_000, help="one-click unsubscribes per run")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit of each run")
    parser.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="publisher-bench-serve-") as tmp:
        folder = Path(tmp)
        print(f"preparing demo store, feeds and {args.unsubscribes * args.runs} subscribers…", file=sys.stderr)
        prepare(folder, args.unsubscribes * args.runs)
        paths = unsubscribe_paths(folder)
        click, edition_id, article_id = click_path(folder)
        port = free_port()
        server = start_server(folder, port)
        base_url = f"http://127.0.0.1:{port}"
        try:
            feed = f"/feeds/tags/{TAG}.rss.xml"
            # Feed readers ask for gzip: the ETag is that of the gzip variant.
            etag = httpx.get(base_url + feed, headers={"accept-encoding": "gzip"}).headers["etag"]
            use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
            if use_wrk:
                per_get, per_click = args.requests // args.threads, args.unsubscribes // args.threads

                def get_run() -> dict:
                    headers = (f"If-None-Match: {etag}", "Accept-Encoding: gzip")
                    return wrk_load(base_url, "GET", [feed], per_get, args.threads, args.seconds, 304, headers)

                def click_run(run: int) -> dict:
                    mine = paths[run * args.unsubscribes : (run + 1) * args.unsubscribes]
                    return wrk_load(base_url, "POST", mine, per_click, args.threads, args.seconds, 200)

                def link_run() -> dict:
                    headers = (f"User-Agent: {BROWSER}",)
                    return wrk_load(base_url, "GET", [click], per_get, args.threads, args.seconds, 302, headers)

            else:

                def conditional_get(client: httpx.Client, index: int) -> None:
                    response = client.get(feed, headers={"if-none-match": etag, "accept-encoding": "gzip"})
                    if response.status_code != 304:
                        raise SystemExit(f"expected 304, got {response.status_code}")

                def get_run() -> dict:
                    return figures_of(*load(base_url, args.requests, args.threads, args.seconds, conditional_get))

                def click_run(run: int) -> dict:
                    offset = run * args.unsubscribes

                    def post(client: httpx.Client, index: int) -> None:
                        response = client.post(paths[offset + index], data={"List-Unsubscribe": "One-Click"})
                        if response.status_code != 200:
                            raise SystemExit(f"expected 200, got {response.status_code}")

                    return figures_of(*load(base_url, args.unsubscribes, args.threads, args.seconds, post))

                def follow(client: httpx.Client, index: int) -> None:
                    response = client.get(click, headers={"user-agent": BROWSER})
                    if response.status_code != 302:
                        raise SystemExit(f"expected 302, got {response.status_code}")

                def link_run() -> dict:
                    return figures_of(*load(base_url, args.requests, args.threads, args.seconds, follow))

            load(base_url, 300, 2, args.seconds, lambda client, index: client.get(feed))  # warm-up
            before = server_cpu(server.pid)
            gets = [get_run() for _ in range(args.runs)]
            get_cpu = server_cpu(server.pid) - before
            before = server_cpu(server.pid)
            clicks = [click_run(run) for run in range(args.runs)]
            click_cpu = server_cpu(server.pid) - before
            before = server_cpu(server.pid)
            links = [link_run() for _ in range(args.runs)]
            link_cpu = server_cpu(server.pid) - before
            rss = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(30)
        left = unsubscribed(folder)
        client = "wrk" if use_wrk else "httpx"
        print(
            f"publisher serve on 127.0.0.1; {client}, {args.threads} keep-alive connections; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f} at start"
        )
        report("conditional GET → 304", gets, get_cpu)
        report("one-click unsubscribe → 200", clicks, click_cpu)
        report("article click link → 302", links, link_cpu)
        counted = clicks_counted(folder, edition_id, article_id)
        print(f"clicks counted: {counted} of {sum(run['requests'] for run in links)} click-link requests")
        print(f"server peak RSS {rss:.0f} MiB; {left} of the {len(paths)} subscribers posted to are unsubscribed")


if __name__ == "__main__":
    main()
