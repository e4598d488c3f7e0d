"""`publisher serve` over loopback: conditional GETs of a tag feed and one-click unsubscribes.

Starts `publisher serve` in a subprocess on a free 127.0.0.1 port, with the demo config and
data in a temporary folder (feeds built, plus generated subscribers for the unsubscribes).
A few client threads, each with its own keep-alive httpx connection, then send:

- conditional GETs of a tag feed with the current ETag (every answer must be 304);
- RFC 8058 one-click unsubscribes (POST ``List-Unsubscribe=One-Click``), each to a
  different subscriber (every answer must be 200, and the subscriber must be unsubscribed).

Each phase is bounded by a request count and a time limit. Prints requests/s and latency
p50/p95/p99 (median of the runs) and the server's peak RSS. Targets on a 2-core machine:
at least 1,000 requests/s for 304 answers, p99 under 50 ms.

    .venv/bin/python bench/serve.py [--requests 20000] [--unsubscribes 2000] [--threads 4] [--runs 3]
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parent.parent
PUBLISHER = [sys.executable, "-m", "publisher"]
SECRET = "bench-secret"
TAG = "apprentissage"


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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(name: str, runs: list[tuple[list[float], float]]) -> None:
    rates = [len(latencies) / wall for latencies, wall in runs]
    figures = {
        key: statistics.median(percentile(latencies, fraction) * 1000 for latencies, _ in runs)
        for key, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
    }
    counts = [len(latencies) for latencies, _ in runs]
    print(
        f"{name:<28} {statistics.median(rates):>8.0f} req/s   p50 {figures['p50']:.2f} ms   "
        f"p95 {figures['p95']:.2f} ms   p99 {figures['p99']:.2f} ms   ({len(runs)} runs of {counts} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="conditional GETs per run")
    parser.add_argument("--unsubscribes", type=int, default=2_000, help="one-click unsubscribes per run")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit of each run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="publisher-bench-serve-") as tmp:
        folder = Path(tmp)
        print(f"preparing demo store, feeds and {args.unsubscribes * args.runs} subscribers…", file=sys.stderr)
        prepare(folder, args.unsubscribes * args.runs)
        paths = unsubscribe_paths(folder)
        port = free_port()
        server = start_server(folder, port)
        base_url = f"http://127.0.0.1:{port}"
        try:
            feed = f"/feeds/tags/{TAG}.rss.xml"
            etag = httpx.get(base_url + feed).headers["etag"]

            def conditional_get(client: httpx.Client, index: int) -> None:
                response = client.get(feed, headers={"if-none-match": etag})
                if response.status_code != 304:
                    raise SystemExit(f"expected 304, got {response.status_code}")

            def one_click(offset: int) -> Callable[[httpx.Client, int], None]:
                def post(client: httpx.Client, index: int) -> None:
                    response = client.post(paths[offset + index], data={"List-Unsubscribe": "One-Click"})
                    if response.status_code != 200:
                        raise SystemExit(f"expected 200, got {response.status_code}")

                return post

            load(base_url, 500, args.threads, args.seconds, conditional_get)  # warm-up
            gets = [
                load(base_url, args.requests, args.threads, args.seconds, conditional_get) for _ in range(args.runs)
            ]
            clicks = [
                load(base_url, args.unsubscribes, args.threads, args.seconds, one_click(run * args.unsubscribes))
                for run in range(args.runs)
            ]
            rss = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(30)
        left = publisher(folder, "subscribers", "show", "banc0@example.org", check=False).stdout
        print(f"publisher serve on 127.0.0.1, {args.threads} client threads (httpx, keep-alive), {os.cpu_count()} CPUs")
        report("conditional GET → 304", gets)
        report("one-click unsubscribe → 200", clicks)
        print(f"server peak RSS {rss:.0f} MiB; first subscriber now unsubscribed: {'unsubscribed' in left}")


if __name__ == "__main__":
    main()
