"""Subscriber benchmark: 1,000,000 subscribers with 3 interests each.

Targets on a 2-core machine: CSV import under 30 s, a segment count with tag and attribute
filters under 0.5 s, streaming that segment with peak RSS under 100 MB (measured in a
separate process, so the import's memory does not count).

    .venv/bin/python bench/subscribers.py                 # 1M rows, 1 import run
    .venv/bin/python bench/subscribers.py --rows 200000 --import-runs 3
    .venv/bin/python bench/subscribers.py --profile       # pyinstrument report of the import
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.app import App  # noqa: E402
from publisher.article_import import import_files  # noqa: E402
from publisher.clock import FixedClock  # noqa: E402
from publisher.config import Secrets, load_config  # noqa: E402
from publisher.demo import demo_file  # noqa: E402
from publisher.store import Store  # noqa: E402
from publisher.subscribers.csv_import import import_csv  # noqa: E402
from publisher.subscribers.segments import count_members, stream_members  # noqa: E402

TAGS = [
    "bassin d'emploi",
    "actualité emploi-formation",
    "apprentissage",
    "travaux publics",
    "insertion par l'activité économique",
    "formation continue",
    "métiers en tension",
    "orientation",
    "handicap et emploi",
    "jeunes",
    "reconversion professionnelle",
    "VAE",
    "industrie",
    "santé et médico-social",
    "agriculture",
    "transition écologique",
    "numérique",
    "égalité femmes-hommes",
]
BASSINS = ["Tours", "Orléans", "Bourges", "Chartres", "Blois", "Châteauroux", "Vierzon", "Dreux", "Montargis"]
ROLES = ["conseiller", "formateur", "employeur", "demandeur d'emploi", "élu", "journaliste"]
DOMAINS = ["example.org", "example.net", "Mission-Locale.example.fr", "cfa-centre.example.fr", "exämple.fr"]
SEGMENT = """
[segments.bench]
description = "Bassin de Tours, apprentissage"
interests_any = ["apprentissage"]
attributes = { bassin = "Tours" }
"""
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(2026)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    statuses = ["active"] * 92 + ["unsubscribed"] * 4 + ["pending"] * 2 + ["bounced"] * 2
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,locale,interests,status,consent_source,consent_at,bassin,role\n")
        for i in range(rows):
            interests = "|".join(rng.sample(TAGS, 3))
            consent = (start + timedelta(seconds=rng.randrange(900 * 86400))).isoformat()
            out.write(
                f'user.{i}@{rng.choice(DOMAINS)},Abonné {i},{"en" if i % 25 == 0 else "fr"},"{interests}",'
                f"{rng.choice(statuses)},formulaire site,{consent},{rng.choice(BASSINS)},{rng.choice(ROLES)}\n"
            )


def fresh_app(workdir: Path) -> App:
    for name in ("publisher.db", "publisher.db-wal", "publisher.db-shm"):
        (workdir / name).unlink(missing_ok=True)
    config_file = workdir / "config.toml"
    config = load_config(config_file)
    clock = FixedClock(NOW)
    with Store(config.store.path, clock) as store:
        store.migrate()
    app = App(config, Secrets(signing_secret="bench"), clock)
    import_files(app.store, [demo_file("articles.jsonl")], "fr")  # the tags
    return app


def time_import(workdir: Path, csv_path: Path, profile: bool) -> tuple[float, str]:
    app = fresh_app(workdir)
    try:
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        started, cpu_started, children = time.perf_counter(), time.process_time(), children_cpu()
        with ChildrenPeakRss() as reader_rss:
            report = import_csv(app, csv_path)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        reader_cpu = children_cpu() - children
        if profile:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        return elapsed, (
            f"CPU {cpu:.1f} s writing, {reader_cpu:.1f} s reading (child process); peak RSS {peak_rss_mb():.0f} MB "
            f"writing, {reader_rss.peak_mb:.0f} MB reading; {report.summary()}"
        )
    finally:
        app.close()


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the import's reading process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ChildrenPeakRss:
    """The largest peak RSS (VmHWM) of this process's children while the block runs, sampled
    from /proc every 0.1 s: the import's reading process. (RUSAGE_CHILDREN can't tell: a
    child started by fork+exec reports at least its parent's size at the fork.)"""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ChildrenPeakRss:
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._sampler.join()

    def _sample(self) -> None:
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
        while not self._done.wait(0.1):
            try:
                pids = children.read_text().split()
            except OSError:
                return
            for pid in pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)


def stream_child(workdir: Path) -> None:
    """Run in a separate process: stream the segment, print count, seconds and peak RSS."""
    config = load_config(workdir / "config.toml")
    app = App(config, Secrets(signing_secret="bench"), FixedClock(NOW))
    started = time.perf_counter()
    members = sum(len(chunk) for chunk in stream_members(app, "bench", chunk_size=1000, with_interests=True))
    elapsed = time.perf_counter() - started
    print(f"{members} {elapsed:.3f} {peak_rss_mb():.1f}")


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's VmHWM, because ru_maxrss survives fork+exec: a child
    started from the (large) benchmark process would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--import-runs", type=int, default=1)
    parser.add_argument("--count-runs", type=int, default=7)
    parser.add_argument("--stream-runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of one import")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (store and CSV) and print it")
    parser.add_argument("--stream-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-subscribers-"))
    try:
        config_text = (ROOT / "config.toml").read_text(encoding="utf-8") + SEGMENT
        (workdir / "config.toml").write_text(config_text, encoding="utf-8")
        csv_path = workdir / "subscribers.csv"
        started = time.perf_counter()
        make_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")

        imports = []
        for run in range(args.import_runs):
            elapsed, summary = time_import(workdir, csv_path, args.profile and run == 0)
            imports.append(elapsed)
            print(f"import run {run + 1}: {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s) — {summary}")
        print(f"import: median {statistics.median(imports):.1f} s over {len(imports)} run(s)")

        app = App(load_config(workdir / "config.toml"), Secrets(signing_secret="bench"), FixedClock(NOW))
        counts, count_cpu = [], []
        for _ in range(args.count_runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            members = count_members(app, "bench")
            counts.append(time.perf_counter() - started)
            count_cpu.append(time.process_time() - cpu_started)
        app.close()
        print(
            f"count (apprentissage AND bassin=Tours, active): {members:,} members, "
            f"median {statistics.median(counts) * 1000:.0f} ms (CPU {statistics.median(count_cpu) * 1000:.0f} ms) "
            f"over {len(counts)} runs"
        )

        streams = []
        for _ in range(args.stream_runs):
            output = subprocess.run(
                [sys.executable, __file__, "--stream-child", str(workdir)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            ).stdout.split()
            streams.append((int(output[0]), float(output[1]), float(output[2])))
        print(
            f"stream with interests: {streams[0][0]:,} members, median "
            f"{statistics.median(s[1] for s in streams):.2f} s, peak RSS median "
            f"{statistics.median(s[2] for s in streams):.0f} MB (max {max(s[2] for s in streams):.0f} MB) "
            f"over {len(streams)} runs in a separate process"
        )
        print(f"store size: {(workdir / 'publisher.db').stat().st_size / 1e6:.0f} MB")
        # Wall times above CPU times mean the machine was busy with other work.
        print(f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
