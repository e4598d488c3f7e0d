"""Feed build speed and memory: 100,000 articles, 1,000 tags (3 per article).

Measures, each as a whole process (`publisher feeds build` in a subprocess, startup included):

- a full build of the 1,001 feeds (site + tags) in RSS, Atom and JSON into an empty folder;
- an incremental build after one new article with 3 tags (4 feeds to rewrite).

Prints the median of the runs and the peak RSS of each kind of build (from wait4).
Targets on a 2-core machine: full < 15 s, incremental < 1.5 s, peak RSS < 300 MB.

    .venv/bin/python bench/feeds.py [--articles 100000] [--tags 1000] [--runs 3]
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


def timed_build(folder: Path, *options: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, output) of one `publisher feeds build` process."""
    command = [sys.executable, "-m", "publisher", "--config", str(folder / "config.toml"), "feeds", "build", *options]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "CI": "1"})
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    output = process.stdout.read().decode() + process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"build failed:\n{output}")
    return elapsed, usage.ru_maxrss / 1024, output.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
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
            full.append(timed_build(folder, "--full"))
            print(f"full build {run + 1}: {full[-1][0]:.2f} s, peak RSS {full[-1][1]:.0f} MiB — {full[-1][2]}")
        files = sum(1 for path in (folder / "feeds").rglob("*") if path.is_file() and not path.name.startswith("."))

        incremental = []
        for run in range(args.runs):
            add_article(db, args.articles + run, args.tags)
            incremental.append(timed_build(folder))
            result = incremental[-1]
            print(f"incremental build {run + 1}: {result[0]:.2f} s, peak RSS {result[1]:.0f} MiB — {result[2]}")
            written = int(re.search(r"(\d+) files written", result[2]).group(1))
            if written > 13:  # 4 feeds × 3 formats + index.html
                sys.exit(f"incremental build rewrote {written} files, expected at most 13")

        print(f"files: {files} ({args.tags + 1} feeds × 3 formats + index.html + index.opml)")
        print(
            f"full build: median {statistics.median(r[0] for r in full):.2f} s, "
            f"peak RSS {max(r[1] for r in full):.0f} MiB (target < 15 s, < 300 MB)"
        )
        print(
            f"incremental build (1 new article, 3 tags): median {statistics.median(r[0] for r in incremental):.2f} s, "
            f"peak RSS {max(r[1] for r in incremental):.0f} MiB (target < 1.5 s)"
        )


if __name__ == "__main__":
    main()
