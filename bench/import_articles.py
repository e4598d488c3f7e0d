"""Import speed and memory: 100,000 generated articles (3 tags each) into a fresh store.

Each run is a fresh process importing one JSON Lines file into an empty, migrated store,
timed from the start of the import to its commit. Prints the median of the runs and the
peak RSS of the importing process.

    .venv/bin/python bench/import_articles.py [--articles 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TAGS = [f"thème régional n° {n}" for n in range(1000)]


def generate(path: Path, count: int) -> None:
    rng = random.Random(2026)
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            record = {
                "url": f"https://www.horizons-emploi.example.org/actualites/{n}",
                "title": f"Bassin d'emploi n° {n} : « tensions » sur la main-d’œuvre",
                "published_at": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:30:00+01:00",
                "summary": "Les chiffres du trimestre pour le bassin d'emploi.",
                "content_html": "<p>" + "Un paragraphe d'actualité emploi-formation. " * 20 + "</p>",
                "author": "Service Observatoire",
                "tags": rng.sample(TAGS, 3),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def child(jsonl: Path, db: Path) -> None:
    from publisher.article_import import import_files
    from publisher.store import Store

    with Store(db) as store:
        store.migrate()
        started, cpu_started = time.perf_counter(), time.process_time()
        report = import_files(store, [jsonl], "fr")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "inserted": report.counts.inserted, "peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as folder:
        jsonl = Path(folder) / "articles.jsonl"
        generate(jsonl, args.articles)
        results = []
        for run in range(args.runs):
            db = Path(folder) / f"run{run}.db"
            output = subprocess.run(
                [sys.executable, __file__, "--child", str(jsonl), str(db)], check=True, capture_output=True, text=True
            ).stdout
            results.append(json.loads(output))
            result = results[-1]
            seconds, cpu, peak = result["seconds"], result["cpu"], result["peak_mib"]
            print(f"run {run + 1}: {seconds:.2f} s (CPU {cpu:.2f} s), peak RSS {peak:.0f} MiB")
        seconds = statistics.median(result["seconds"] for result in results)
        assert all(result["inserted"] == args.articles for result in results)
        print(f"articles: {args.articles}, 3 tags each, {len(TAGS)} distinct tags")
        cpu = statistics.median(result["cpu"] for result in results)
        print(f"median: {seconds:.2f} s = {args.articles / seconds:,.0f} articles/s (CPU {cpu:.2f} s)")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with it)")
        print(f"peak RSS (max of runs): {max(result['peak_mib'] for result in results):.0f} MiB")


if __name__ == "__main__":
    main()
