"""Feed build speed and memory: 100,000 articles, 1,000 tags (3 per article).

Measures, each as a whole process (`publisher feeds build` in a subprocess, startup included):

- a full build of the 1,001 feeds (site + tags) in RSS, Atom and JSON into an empty folder;
- an incremental build after one new article with 3 tags (4 feeds to rewrite).

Prints the median of the runs, the CPU time (the build and its worker processes) and the
largest resident set of any of its processes (from wait4), with the load average before each
run: on a shared machine the wall time depends on what else runs. ``--in-process`` renders
without worker processes, for comparison.
Targets on a 2-core machine: full < 15 s, incremental < 1.5 s, peak RSS < 300 MB.

    .venv/bin/python bench/feeds.py [--articles 100000] [--tags 1000] [--runs 3] [--in-process]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from publisher.models import Article, Tag
from publisher.store import Store
from publisher.store.articles import upsert_articles

START = datetime(2024, 1, 1, 8, tzinfo=UTC)
CONTENT = (
    "<h2>Les chiffres du trimestre</h2>"
    "<p>Le <strong>bassin d'emploi</strong> confirme sa dynamique : les effectifs salariés progressent "
    "de 1,8 % sur un an, portés par les services aux entreprises, la santé et la logistique. "
    "Les employeurs déclarent toujours des difficultés de recrutement pour près de 58 % de leurs projets.</p>"
    '<p><img src="/medias/graphique-{n}.png" alt="Évolution des effectifs"> Voir la '
    '<a href="/observatoire/bassins/{n}">fiche détaillée</a> et notre '
    '<a href="https://www.horizons-emploi.example.org/methodologie">méthodologie</a>.</p>'
    "<ul><li>services aux entreprises : +1 400 postes ;</li><li>santé et action sociale : +900 postes ;</li>"
    "<li>commerce de gros et logistique : +600 postes.</li></ul>"
    "<p>« Sur un chantier de cette durée, un parcours d'insertion peut déboucher sur un vrai métier », "
    "souligne un responsable d'entreprise. Une réunion d'information se tiendra début septembre.</p>"
)
CONFIG = """\
[site]
title = "Horizons Emploi-Formation"
base_url = "https://www.horizons-emploi.example.org"
postal_address = "10 rue de l'Observatoire, 45000 Orléans"

[store]
path = "bench.db"

[feeds]
output_dir = "feeds"

[delivery]
from_email = "lettre@horizons-emploi.example.org"
"""


def article(n: int, tags: list[Tag]) -> Article:
    published = START + timedelta(minutes=5 * n)
    return Article(
        guid=f"https://www.horizons-emploi.example.org/actualites/{n}",
        url=f"https://www.horizons-emploi.example.org/actualites/{n}",
        title=f"Bassin d'emploi n° {n} : « tensions » sur la main-d’œuvre & l'apprentissage",
        published_at=published,
        updated_at=published,
        language="fr",
        summary="Les chiffres du trimestre pour le bassin d'emploi, secteur par secteur.",
        content_html=CONTENT.replace("{n}", str(n)),
        author="Service Observatoire",
        image_url=f"https://www.horizons-emploi.example.org/medias/{n}.jpg",
        tags=tuple(tags),
    )


def populate(db: Path, articles: int, tag_count: int) -> float:
    rng = random.Random(2026)
    tags = [Tag.from_name(f"thème régional n° {n}") for n in range(tag_count)]
    started = time.perf_counter()
    with Store(db) as store:
        store.migrate()
        upsert_articles(store, (article(n, rng.sample(tags, 3)) for n in range(articles)))
    return time.perf_counter() - started


def add_article(db: Path, n: int, tag_count: int) -> None:
    tags = [Tag.from_name(f"thème régional n° {i}") for i in random.Random(n).sample(range(tag_count), 3)]
    with Store(db) as store:
        upsert_articles(store, [article(n, tags)])


# `publisher feeds build` with every entry rendered in this one process (no workers).
IN_PROCESS = (
    "import sys; from publisher.app import App; from publisher.config import load_config; "
    "from publisher.feeds.build import build_feeds; from publisher.feeds.entries import Parallelism; "
    "app = App(load_config(sys.argv[1])); "
    "print(build_feeds(app, full='--full' in sys.argv, parallelism=Parallelism(workers=1)).summary()); app.close()"
)


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float
    peak_mib: float
    load: float
    output: str

    def line(self) -> str:
        return (
            f"{self.seconds:.2f} s (CPU {self.cpu:.1f} s, load before {self.load:.1f}), "
            f"peak RSS {self.peak_mib:.0f} MiB — {self.output}"
        )


def timed_build(folder: Path, in_process: bool, *options: str) -> Run:
    """One `publisher feeds build` process: wall and CPU time (with its workers), peak RSS."""
    config = str(folder / "config.toml")
    if in_process:
        command = [sys.executable, "-c", IN_PROCESS, config, *options]
    else:
        command = [sys.executable, "-m", "publisher", "--config", config, "feeds", "build", *options]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "CI": "1"})
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    output = process.stdout.read().decode() + process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"build failed:\n{output}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, load, output.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="render without worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
        db = folder / "bench.db"
        seconds = populate(db, args.articles, args.tags)
        print(f"store: {args.articles} articles, {args.tags} tags, 3 per article (loaded in {seconds:.1f} s)")

        full = []
        for run in range(args.runs):
            shutil.rmtree(folder / "feeds", ignore_errors=True)
            full.append(timed_build(folder, args.in_process, "--full"))
            print(f"full build {run + 1}: {full[-1].line()}")
        files = sum(1 for path in (folder / "feeds").rglob("*") if path.is_file() and not path.name.startswith("."))

        incremental = []
        for run in range(args.runs):
            add_article(db, args.articles + run, args.tags)
            incremental.append(timed_build(folder, args.in_process))
            print(f"incremental build {run + 1}: {incremental[-1].line()}")
            written = int(re.search(r"(\d+) files written", incremental[-1].output).group(1))
            if written > 13:  # 4 feeds × 3 formats + index.html
                sys.exit(f"incremental build rewrote {written} files, expected at most 13")

        print(f"files: {files} ({args.tags + 1} feeds × 3 formats + index.html + index.opml)")
        report("full build", full, "target < 15 s, < 300 MB")
        report("incremental build (1 new article, 3 tags)", incremental, "target < 1.5 s")


def report(label: str, runs: list[Run], target: str) -> None:
    print(
        f"{label}: median {statistics.median(run.seconds for run in runs):.2f} s, "
        f"median CPU {statistics.median(run.cpu for run in runs):.1f} s, "
        f"peak RSS {max(run.peak_mib for run in runs):.0f} MiB ({target})"
    )


if __name__ == "__main__":
    main()
