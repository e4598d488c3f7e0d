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
from publisher.store.watermarks import articles_after, reader_plans, watermark_plans

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
        self.window_of_plan: dict[int, datetime | None] = watermark_plans(store, slug)
        for watermark in set(self.window_of_plan.values()) - {NEVER_SERVED}:
            self.articles[watermark] = articles_after(store, slug, watermark, until, tag_slugs, limit)

    @property
    def candidates(self) -> list[Article]:
        """Every article of some window, once, newest first."""
        unique = {article.id: article for articles in self.articles.values() for article in articles}
        return sorted(unique.values(), key=lambda article: (article.published_at, article.id), reverse=True)

    def windows_of(self, readers: Sequence[Recipient]) -> list[datetime | None]:
        """The window of each reader, in order (one query for them all)."""
        plans = reader_plans(self.store, self.slug, [reader.subscriber_id for reader in readers])
        window_of_plan = self.window_of_plan.get
        return [window_of_plan(plans.get(reader.subscriber_id), NEVER_SERVED) for reader in readers]

    def articles_of(self, reader: Recipient) -> list[Article]:
        """The new articles of one reader (previews)."""
        return self.articles[self.windows_of([reader])[0]]
