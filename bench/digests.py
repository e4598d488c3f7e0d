"""Digest benchmarks: compile speed of a 10-article digest, and grouping 1,000,000 subscribers.

    .venv/bin/python bench/digests.py [--compiles 1000] [--subscribers 1000000] [--runs 3]

1. Compiles one 10-article digest (Jinja → MJML → MRML → css-inline, plus the text part)
   ``--compiles`` times and prints the median per compile (target: under 5 ms).
2. Plans an interest-based newsletter for ``--subscribers`` members held in memory in chunks
   of 1,000 (3 interests each among 20 tags, 30 new articles), compiling and storing every
   distinct content, rolled back after each run; prints the median time (target: under
   10 s) and the number of distinct editions. Then the same for the next send, once every
   member has a watermark (publisher.store.watermarks: one group moved, not a million rows).
Wall times suffer when other processes share the CPUs; the CPU times are printed too.
Prints peak RSS at the end. Everything runs in a temporary folder; nothing else is touched.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from publisher.app import App
from publisher.clock import FixedClock
from publisher.config import Secrets, load_config
from publisher.digests.compiler import DigestCompiler
from publisher.digests.content import Selection
from publisher.digests.planner import plan_editions
from publisher.models import Article, Recipient, Tag
from publisher.placeholders import one_off_placeholders
from publisher.store import Store
from publisher.store.articles import list_articles, upsert_articles

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PLACEHOLDERS = one_off_placeholders()
TAGS = [
    "apprentissage",
    "jeunes",
    "bassin d'emploi",
    "travaux publics",
    "métiers en tension",
    "orientation",
    "formation continue",
    "reconversion professionnelle",
    "VAE",
    "industrie",
    "numérique",
    "agriculture",
    "handicap et emploi",
    "égalité femmes-hommes",
    "santé et médico-social",
    "transition écologique",
    "insertion par l'activité économique",
    "actualité emploi-formation",
    "logistique",
    "tourisme",
]
SUMMARY = (
    "Avec une hausse de 1,8 % des effectifs salariés sur un an, le bassin tourangeau confirme son avance, "
    "portée par les services aux entreprises et la santé : les employeurs « peinent à recruter »."
)


class Rollback(Exception):
    pass


def make_app(folder: Path) -> App:
    shutil.copy(ROOT / "config.toml", folder / "config.toml")
    shutil.copytree(ROOT / "newsletters", folder / "newsletters")
    config = load_config(folder / "config.toml")
    clock = FixedClock(NOW)
    with Store(config.store.path, clock) as store:
        store.migrate()
    return App(config, Secrets(signing_secret="bench"), clock)


def add_articles(app: App, count: int, rng: random.Random, first: int = 0) -> None:
    """``count`` articles numbered from ``first``, published before the clock's now."""
    articles = []
    for number in range(first, first + count):
        published = app.clock.now() - timedelta(hours=3 + 5 * (number - first))
        url = f"https://www.horizons-emploi.example.org/actualites/2026/11/article-{number}"
        articles.append(
            Article(
                guid=url,
                url=url,
                title=f"Article {number} : l'emploi « en tension » dans le bassin de Tours",
                published_at=published,
                updated_at=published,
                language="fr",
                summary=SUMMARY,
                author="Service Observatoire",
                image_url=f"https://www.horizons-emploi.example.org/medias/{number}.jpg" if number % 2 else None,
                tags=tuple(Tag.from_name(name) for name in rng.sample(TAGS, rng.choice((2, 3)))),
            )
        )
    upsert_articles(app.store, articles)


def bench_compile(app: App, compiles: int) -> list[float]:
    compiler = DigestCompiler(app.config, "hebdo")
    selection = Selection(tuple(list_articles(app.store, limit=10)))
    compiler.compile(selection, NOW, PLACEHOLDERS)  # warm the template cache
    timings = []
    for _ in range(compiles):
        start = time.perf_counter()
        compiler.compile(selection, NOW, PLACEHOLDERS)
        timings.append(time.perf_counter() - start)
    return timings


def cpu_per_compile(app: App, compiles: int) -> float:
    compiler = DigestCompiler(app.config, "hebdo")
    selection = Selection(tuple(list_articles(app.store, limit=10)))
    start = time.process_time()
    for _ in range(compiles):
        compiler.compile(selection, NOW, PLACEHOLDERS)
    return (time.process_time() - start) / compiles


def members(count: int, tag_ids: list[int], seed: int, chunk: int = 1000):
    """Members in chunks, as publisher.subscribers.segments streams them: 3 interests each, uniformly drawn."""
    rng = random.Random(seed)
    triples = list(itertools.combinations(sorted(tag_ids), 3))
    for start in range(0, count, chunk):
        picks = rng.choices(triples, k=min(chunk, count - start))
        yield [
            Recipient(number, f"abonne{number}@example.org", "", "fr", interests)
            for number, interests in enumerate(picks, start)
        ]


def plan_for_real(app: App, chunks: list[list[Recipient]]) -> None:
    """One plan, committed: every member now has a watermark (the first send)."""
    with app.store.transaction():
        for _ in plan_editions(app, "mes-sujets", chunks):
            pass


def bench_grouping(app: App, chunks: list[list[Recipient]]) -> tuple[float, float, int, int]:
    """(wall s, CPU s, distinct editions, recipients) of one plan, rolled back afterwards."""
    editions: set[int] = set()
    recipients = 0
    start, cpu = time.perf_counter(), time.process_time()
    try:
        with app.store.transaction():
            for edition, batch in plan_editions(app, "mes-sujets", chunks):
                editions.add(edition.id)
                recipients += len(batch)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            raise Rollback
    except Rollback:
        pass
    return elapsed, cpu, len(editions), recipients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiles", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="bench-digests-") as folder:
        app = make_app(Path(folder))
        add_articles(app, 30, rng)

        timings = bench_compile(app, options.compiles)
        html = DigestCompiler(app.config, "hebdo").compile(
            Selection(tuple(list_articles(app.store, limit=10))), NOW, PLACEHOLDERS
        )
        cpu = cpu_per_compile(app, options.compiles)
        print(
            f"compile a 10-article digest x{options.compiles}: median {statistics.median(timings) * 1000:.2f} ms, "
            f"p95 {sorted(timings)[int(len(timings) * 0.95)] * 1000:.2f} ms, CPU {cpu * 1000:.2f} ms "
            f"(html {len(html.html.encode()) / 1024:.1f} KB, text {len(html.text.encode()) / 1024:.1f} KB)"
        )

        tag_ids = [tag_id for (tag_id,) in app.store.conn.execute("SELECT id FROM tags")]
        start = time.perf_counter()
        chunks = list(members(options.subscribers, tag_ids, seed=0))
        generation = time.perf_counter() - start
        runs = [bench_grouping(app, chunks) for _ in range(options.runs)]
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        print(
            f"group {sum(map(len, chunks)):,} interest-based subscribers into editions (median of {options.runs}): "
            f"{wall:.2f} s wall, {cpu:.2f} s CPU; {runs[0][2]:,} distinct editions compiled, "
            f"{runs[0][3]:,} recipients handed out (generating the members in memory took {generation:.2f} s)"
        )
        plan_for_real(app, chunks)
        app.clock.advance(days=7)
        add_articles(app, 30, rng, first=30)
        runs = [bench_grouping(app, chunks) for _ in range(options.runs)]
        print(
            f"the next send, every member at one watermark (median of {options.runs}): "
            f"{statistics.median(run[0] for run in runs):.2f} s wall, "
            f"{statistics.median(run[1] for run in runs):.2f} s CPU; {runs[0][2]:,} distinct editions compiled, "
            f"{runs[0][3]:,} recipients handed out"
        )
        app.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
