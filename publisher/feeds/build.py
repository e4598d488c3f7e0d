"""Building the feeds: the site feed and one feed per tag, in every configured format.

A build runs in one store transaction, so it reads one consistent state and records what it
published atomically with the change log it consumed. It finds the feeds to render:

- full build (``--full``, the first build, or when a setting or the renderer changed): every
  feed;
- incremental build: the feeds touched by the articles changed since the last build (the
  change log written by triggers on the articles table) or whose date was reached since —
  the feeds that show such an article (it may have been edited, re-tagged, unpublished or
  deleted), and, for those now visible, the site feed and their tags' feeds (they may enter
  them) — plus any feed with a missing file.

A touched feed whose newest items (ids and fingerprints) are those it already shows is left
alone; the others are rendered (each article once, shared between the feeds that show it)
and their files rewritten only where the bytes differ. A feed left without visible articles
is removed. Then index.opml and index.html, and the WebSub notifications.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from publisher.app import App
from publisher.clock import to_db
from publisher.errors import FeedsNotWritten
from publisher.feeds.entries import MEASURED, EntryCache, EntryRenderer, Parallelism
from publisher.feeds.files import OutputFolder
from publisher.feeds.pages import PAGE_FILES, ListedFeed, render_pages
from publisher.feeds.render import FeedRenderer
from publisher.feeds.settings import FORMATS, SITE_FEED, TAG_FEEDS_DIR, Channel, FeedSettings
from publisher.feeds.websub import PingReport, notify_hub
from publisher.store import Store, chunks
from publisher.store.feeds import (
    FeedRecord,
    articles_dated_between,
    change_log_end,
    changed_articles,
    clear_change_log,
    delete_feed,
    delete_state,
    feeds_showing,
    forget_pings,
    get_state,
    pending_pings,
    published_feeds,
    queue_pings,
    save_feeds,
    set_state,
    site_items,
    tag_items,
    tag_items_all,
    tags_by_id,
    tags_of_articles,
    visible_among,
)

log = logging.getLogger(__name__)

FEEDS_PER_BATCH = 50  # feeds whose articles are loaded and rendered together
BATCHES_AHEAD = 2
WRITER_THREADS = 4
Progress = Callable[[int, int], None]  # (feeds done, feeds to render)


@dataclass
class BuildReport:
    full: bool = False
    feeds: int = 0  # feeds published after the build
    rendered: int = 0  # feeds whose content changed (or --full)
    written: list[str] = field(default_factory=list)  # files rewritten, relative to output_dir
    unchanged: int = 0  # files rendered but identical to what was there
    removed: list[str] = field(default_factory=list)  # files deleted
    failed: list[str] = field(default_factory=list)  # "path: reason" of each file that could not be written
    pings: PingReport | None = None

    def summary(self) -> str:
        kind = "full build" if self.full else "incremental build"
        text = (
            f"{kind}: {self.feeds} feeds, {self.rendered} rendered, {len(self.written)} files written, "
            f"{self.unchanged} unchanged, {len(self.removed)} removed"
        )
        if self.failed:
            text += f", {len(self.failed)} not written ({self.failed[0]}"
            text += f" and {len(self.failed) - 1} more)" if len(self.failed) > 1 else ")"
        if self.pings is not None:
            text += f"; WebSub: {self.pings.sent} announced"
            if self.pings.pending:
                text += f", {self.pings.pending} pending (hub: {self.pings.error})"
        return text


def build_feeds(
    app: App, full: bool = False, progress: Progress | None = None, parallelism: Parallelism = MEASURED
) -> BuildReport:
    """Bring ``[feeds] output_dir`` up to date with the store; rewrite only what changed."""
    settings = FeedSettings.from_config(app.config)
    output = OutputFolder(app.config.feeds.output_dir)
    store = app.store
    with output.locked():
        with store.transaction():  # StoreBusy when another command keeps the write lock
            report = _Build(store, settings, output, app.clock.now(), progress, parallelism).run(full)
        if settings.hub:
            report.pings = notify_hub(store, settings.hub)
        elif pending_pings(store):
            forget_pings(store)
    log.info("feeds: %s", report.summary())
    return report


def feeds_step(app: App) -> str:
    """The feeds step of ``publisher run-once``: fails, after writing every other feed, when a
    file could not be written."""
    report = build_feeds(app)
    if report.failed:
        raise FeedsNotWritten(report.summary())
    return report.summary()


@dataclass(frozen=True)
class _Feed:
    channel: Channel
    tag_id: int | None
    items: list[tuple[int, str]]  # (article id, fingerprint), newest first


@contextmanager
def _writer_threads() -> Iterator[ThreadPoolExecutor]:
    """Threads that write files; on an error or an interruption, queued writes are dropped."""
    pool = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="feeds-writer")
    try:
        yield pool
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()


@dataclass(frozen=True)
class _Write:
    feed: str
    file: str
    content_changed: bool
    written: Future[bool]  # True if the file changed


def _raise_first_failure(writes: list[_Write]) -> None:
    """A full disk or a read-only folder (a PublisherError) or a bug stops the build now, not at
    the end; a file that alone cannot be written (an OSError) is reported at the end."""
    for write in writes:
        error = write.written.exception() if write.written.done() else None
        if error is not None and not isinstance(error, OSError):
            raise error


def _article_ids(batch: list[tuple[_Feed, str]]) -> Iterator[int]:
    return (article_id for feed, _ in batch for article_id, _ in feed.items)


class _Build:
    def __init__(
        self,
        store: Store,
        settings: FeedSettings,
        output: OutputFolder,
        now: datetime,
        progress: Progress | None,
        parallelism: Parallelism,
    ) -> None:
        self.store = store
        self.parallelism = parallelism
        self.settings = settings
        self.output = output
        self.now = now
        self.now_text = to_db(now)
        self.progress = progress
        self.settings_digest = settings.digest()
        self.published = published_feeds(store)
        self.report = BuildReport()
        self.topics: list[str] = []
        self.saved: list[tuple[FeedRecord, list[int]]] = []  # feeds written, recorded after the last
        self.existing = output.listing()  # files in the output folder when the build starts

    def run(self, full: bool) -> BuildReport:
        full = (
            full
            or not self.published
            or get_state(self.store, "settings") != self.settings_digest
            or get_state(self.store, "full_build_needed") is not None
        )
        self.report.full = full
        log_end = change_log_end(self.store)
        feeds = self._every_feed() if full else self._touched_feeds(log_end)
        self._publish(feeds, full)
        save_feeds(self.store, self.saved)
        if full:
            self._remove_stray_files()
        self._write_pages(full)
        clear_change_log(self.store, log_end)
        set_state(self.store, "settings", self.settings_digest)
        set_state(self.store, "built_at", self.now_text)
        if self.report.failed:  # the next build renders every feed again, the ones not written included
            set_state(self.store, "full_build_needed", "files not written")
        else:
            delete_state(self.store, "full_build_needed")
        if self.settings.hub and self.topics:
            queue_pings(self.store, self.topics, self.now_text)
        self.report.feeds = len(published_feeds(self.store))
        return self.report

    # --- which feeds ---------------------------------------------------------------------------

    def _every_feed(self) -> list[_Feed]:
        items = tag_items_all(self.store, self.now_text, self.settings.items)
        feeds = [self._site_feed()]
        for tag_id, tag in sorted(tags_by_id(self.store).items()):
            feeds.append(_Feed(self.settings.tag_channel(tag), tag_id, items.get(tag_id, [])))
        return feeds

    def _touched_feeds(self, log_end: int) -> list[_Feed]:
        changed = changed_articles(self.store, log_end)
        last_build = get_state(self.store, "built_at") or self.now_text
        changed |= articles_dated_between(self.store, *sorted((last_build, self.now_text)))
        names = feeds_showing(self.store, changed)
        visible = visible_among(self.store, changed, self.now_text)
        tag_ids = set(tags_of_articles(self.store, visible))
        if visible:
            names.add(SITE_FEED)
        names |= {name for name in self.published if not self.existing.issuperset(self.settings.file_names(name))}
        tag_ids |= {self.published[name].tag_id for name in names if name in self.published}
        tags = tags_by_id(self.store, {tag_id for tag_id in tag_ids if tag_id is not None})
        feeds = {tag.slug: self._tag_feed(tag_id, self.settings.tag_channel(tag)) for tag_id, tag in tags.items()}
        touched = [self._site_feed()] if SITE_FEED in names else []
        return touched + [feeds[slug] for slug in sorted(feeds)]

    def _site_feed(self) -> _Feed:
        items = site_items(self.store, self.now_text, self.settings.items)
        return _Feed(self.settings.site_channel(), None, items)

    def _tag_feed(self, tag_id: int, channel: Channel) -> _Feed:
        return _Feed(channel, tag_id, tag_items(self.store, tag_id, self.now_text, self.settings.items))

    def _files_missing(self, name: str) -> bool:
        return not self.existing.issuperset(self.settings.file_names(name))

    # --- rendering and writing -----------------------------------------------------------------

    def _publish(self, feeds: list[_Feed], full: bool) -> None:
        to_render = []
        for feed in feeds:
            if not feed.items:
                self._remove_feed(feed.channel.name)
                continue
            digest = self._digest(feed)
            record = self.published.get(feed.channel.name)
            if full or record is None or record.digest != digest or self._files_missing(feed.channel.name):
                to_render.append((feed, digest))
        batches = list(chunks(to_render, FEEDS_PER_BATCH))
        cache = EntryCache([article_id for article_id, _ in feed.items] for feed, _ in to_render)
        renderer = FeedRenderer(self.settings, self.now)
        writes: list[_Write] = []
        # Files are written by a few threads (open, write and rename wait on the disk, not the
        # CPU), rendering runs up to BATCHES_AHEAD batches ahead of writing, so workers never wait.
        with (
            EntryRenderer(renderer, self.store, len(cache.remaining), self.parallelism) as entry_renderer,
            _writer_threads() as writer,
        ):
            pending = deque()
            for number, batch in enumerate(batches):
                while len(pending) <= BATCHES_AHEAD and number + len(pending) < len(batches):
                    upcoming = batches[number + len(pending)]
                    pending.append(entry_renderer.submit(cache.missing(_article_ids(upcoming))))
                cache.add(pending.popleft().result())
                for feed, digest in batch:
                    shown = cache.take([article_id for article_id, _ in feed.items])
                    documents = renderer.feed(feed.channel, shown)
                    writes += self._write_feed(writer, feed, digest, documents, max(e.updated for e in shown))
                    if self.progress:
                        self.progress(self.report.rendered, len(to_render))
                _raise_first_failure(writes)  # a full disk stops the build now, not at the end
            self._collect(writes)

    def _write_feed(
        self, writer: ThreadPoolExecutor, feed: _Feed, digest: str, documents: dict[str, bytes], updated: datetime
    ) -> list[_Write]:
        name = feed.channel.name
        record = self.published.get(name)
        content_changed = record is None or record.digest != digest
        writes = []
        for fmt, data in documents.items():
            file = self.settings.file_name(name, fmt)
            written = writer.submit(self.output.write_if_changed, file, data, file in self.existing)
            writes.append(_Write(name, file, content_changed, written))
        self.report.rendered += 1
        label = feed.channel.tag.name if feed.channel.tag else self.settings.site_title
        record = FeedRecord(name, feed.tag_id, label, digest, len(feed.items), to_db(updated))
        self.saved.append((record, [article_id for article_id, _ in feed.items]))
        return writes

    def _collect(self, writes: list[_Write]) -> None:
        """Count what was written; a feed with a file that could not be written is reported and
        not recorded as published, so the next build tries it again."""
        failed = set()
        for write in writes:
            try:
                written = write.written.result()
            except OSError as error:
                self._failed(write.file, error)
                failed.add(write.feed)
                continue
            self._count_write(write.file, write.content_changed, written)
        self.saved = [(record, ids) for record, ids in self.saved if record.name not in failed]

    def _failed(self, file: str, error: OSError) -> None:
        self.report.failed.append(f"{self.output.path(file)}: cannot write: {error.strerror or error}")
        log.error("feeds: %s", self.report.failed[-1])

    def _count_write(self, file: str, content_changed: bool, written: bool) -> None:
        if written:
            self.report.written.append(file)
        else:
            self.report.unchanged += 1
        # A file rewritten by a build that then failed is identical now, but still news.
        if written or content_changed:
            self.topics.append(self.settings.url(file))

    def _digest(self, feed: _Feed) -> str:
        """What a feed shows: its subject and its items' fingerprints. (Settings are not part of
        it: a settings change renders every feed anyway, and rewrites and announces only the
        files whose bytes change.)"""
        channel = feed.channel
        parts = [channel.name, channel.title, channel.description, channel.page_url]
        parts += [f"{article_id}:{fingerprint}" for article_id, fingerprint in feed.items]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _remove_feed(self, name: str) -> None:
        if name not in self.published:
            return
        for file in self.settings.file_names(name):
            if self.output.remove(file):
                self.report.removed.append(file)
        delete_feed(self.store, name)
        log.info("feed %s removed: no visible article left", name)

    def _remove_stray_files(self) -> None:
        """After a full build, delete the feed files no feed produces any more (a format taken
        out of the config, a feed removed while its files were kept)."""
        expected = {file for name in published_feeds(self.store) for file in self.settings.file_names(name)}
        suffixes = tuple(fmt.suffix for fmt in FORMATS.values())
        candidates = self.output.files(f"{SITE_FEED}.*") + self.output.files(f"{TAG_FEEDS_DIR}/*")
        for file in candidates:
            if file.endswith(suffixes) and file not in expected and self.output.remove(file):
                self.report.removed.append(file)

    def _write_pages(self, full: bool) -> None:
        """index.opml and index.html, rendered when the list of feeds has changed or the build is full."""
        records = published_feeds(self.store).values()
        tags = tags_by_id(self.store, {record.tag_id for record in records if record.tag_id is not None})
        listed = [
            ListedFeed(record.name, tags.get(record.tag_id) if record.tag_id else None, record.items, record.updated_at)
            for record in records
            if record.tag_id is None or record.tag_id in tags
        ]
        digest = hashlib.sha256(repr((self.settings_digest, listed)).encode()).hexdigest()
        if not full and get_state(self.store, "pages") == digest and all(self.output.exists(f) for f in PAGE_FILES):
            return
        for file, data in render_pages(self.settings, listed).items():
            try:
                if self.output.write_if_changed(file, data):
                    self.report.written.append(file)
            except OSError as error:
                self._failed(file, error)
        if not self.report.failed:
            set_state(self.store, "pages", digest)
