"""Rendered entries for a build: made once per article, on every core for a large build, and
kept only until the last feed that shows them is written.

Rendering entries (sanitising HTML, feedgen elements, serialisation) is most of a full
build's time. A build that has many to render starts one worker process per core (spawned, see
publisher.child_process; each imports the renderer in about 0.5 s, while this process reads
the first feeds) and hands them batches of article ids, while this process writes the feeds
of the previous batch. Each worker reads the articles through
its own connection (the build's transaction only holds the write lock, and WAL readers see
the same articles) and sends back the rendered bytes; entries are keyed by article id, so the
output is the same as rendering in-process.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from publisher.child_process import worker_pool
from publisher.feeds.render import FeedRenderer, RenderedEntry
from publisher.feeds.settings import FeedSettings
from publisher.store import Store, chunks
from publisher.store.feeds import load_articles


@dataclass(frozen=True)
class Parallelism:
    """When entries are rendered in worker processes, and how many; the defaults are measured
    with bench/feeds.py. Tests and the bench change them to take each path."""

    from_entries: int = 2000  # entries in a build; below this, starting workers costs more than it saves
    workers: int | None = None  # None: one per core this process may use
    articles_per_task: int = 100

    def workers_for(self, expected: int) -> int:
        return (self.workers or _cores()) if expected >= self.from_entries else 1


MEASURED = Parallelism()


class EntryCache:
    """The entries of the feeds still to be written; each is dropped after its last feed."""

    def __init__(self, feeds_items: Iterable[list[int]]) -> None:
        self.remaining = Counter(article_id for items in feeds_items for article_id in items)
        self.entries: dict[int, RenderedEntry] = {}
        self.requested: set[int] = set()

    def missing(self, items: Iterable[int]) -> set[int]:
        """Articles of ``items`` neither rendered nor already asked for; marks them asked for."""
        missing = {article_id for article_id in items if article_id not in self.requested}
        self.requested |= missing
        return missing

    def add(self, entries: Iterable[RenderedEntry]) -> None:
        for entry in entries:
            self.entries[entry.article_id] = entry

    def take(self, items: list[int]) -> list[RenderedEntry]:
        """The entries of one feed, in order; forgets those no later feed needs."""
        taken = [self.entries[article_id] for article_id in items]
        for article_id in items:
            self.remaining[article_id] -= 1
            if not self.remaining[article_id]:
                del self.entries[article_id]
        return taken


class EntryRenderer:
    """Renders articles into entries; in worker processes when there are ``expected`` enough."""

    def __init__(self, renderer: FeedRenderer, store: Store, expected: int, parallelism: Parallelism) -> None:
        self.renderer = renderer
        self.store = store
        self.workers = parallelism.workers_for(expected)
        self.articles_per_task = parallelism.articles_per_task
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> EntryRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def submit(self, article_ids: Iterable[int]) -> _PendingEntries:
        """Start rendering these articles; ``.result()`` gives their entries."""
        if self.workers < 2:
            return _PendingEntries(
                [_Done([self.renderer.entry(article) for article in load_articles(self.store, article_ids)])]
            )
        pool = self._start()
        return _PendingEntries(
            [pool.submit(_render, task) for task in chunks(sorted(article_ids), self.articles_per_task)]
        )

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            settings, now = self.renderer.settings, self.renderer.now
            self._pool = worker_pool(self.workers, _start_worker, settings, now, self.store.path)
        return self._pool


class _Result(Protocol):
    def result(self) -> list[RenderedEntry]: ...


class _Done:
    """The result of rendering done in this process, shaped like a worker's future."""

    def __init__(self, entries: list[RenderedEntry]) -> None:
        self.entries = entries

    def result(self) -> list[RenderedEntry]:
        return self.entries


class _PendingEntries:
    def __init__(self, futures: list[_Result]) -> None:
        self.futures = futures

    def result(self) -> list[RenderedEntry]:
        return [entry for future in self.futures for entry in future.result()]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_worker: tuple[FeedRenderer, Store] | None = None


def _start_worker(settings: FeedSettings, now: datetime, store_path: Path) -> None:
    global _worker
    # A connection of its own (never the parent's).
    _worker = (FeedRenderer(settings, now), Store(store_path))


def _render(article_ids: list[int]) -> list[RenderedEntry]:
    assert _worker is not None
    renderer, store = _worker
    return [renderer.entry(article) for article in load_articles(store, article_ids)]
