"""Never twice: the new articles of each reader of a newsletter.

A reader the newsletter already served (publisher.store.watermarks) gets the articles
published after their watermark, whatever segment, cadence or interests they have now; a
reader it never served gets the newsletter-level window that the planner computes. Readers
with one watermark share one window: after an ordinary send every reader of the segment has
the same one, so a plan compiles no more editions than before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from publisher.models import Article, Recipient
from publisher.store import Store
from publisher.store.watermarks import articles_after, group_watermarks, reader_groups

# The key of the newsletter-level window (readers never served, or whose plan failed).
NEVER_SERVED = None


class ReaderWindows:
    """The windows of one plan: watermark (or NEVER_SERVED) → its new articles, newest first."""

    def __init__(
        self,
        store: Store,
        slug: str,
        newsletter_window: list[Article],
        until: datetime,
        tag_slugs: list[str] | None,
        limit: int,
    ) -> None:
        self.store, self.slug = store, slug
        self.articles: dict[datetime | None, list[Article]] = {NEVER_SERVED: newsletter_window}
        self.window_of_group: dict[int, datetime | None] = group_watermarks(store, slug)
        for watermark in set(self.window_of_group.values()) - {NEVER_SERVED}:
            self.articles[watermark] = articles_after(store, slug, watermark, until, tag_slugs, limit)

    @property
    def candidates(self) -> list[Article]:
        """Every article of some window, once, newest first."""
        unique = {article.id: article for articles in self.articles.values() for article in articles}
        return sorted(unique.values(), key=lambda article: (article.published_at, article.id), reverse=True)

    def windows_of(self, readers: Sequence[Recipient]) -> list[tuple[int | None, datetime | None]]:
        """The watermark group (None: never served) and window of each reader, in order (one
        query for them all)."""
        groups = reader_groups(self.store, self.slug, [reader.subscriber_id for reader in readers])
        window_of_group = self.window_of_group.get
        return [
            (group, window_of_group(group, NEVER_SERVED))
            for group in (groups.get(reader.subscriber_id) for reader in readers)
        ]

    def articles_of(self, reader: Recipient) -> list[Article]:
        """The new articles of one reader (previews)."""
        _, window = self.windows_of([reader])[0]
        return self.articles[window]
