"""Which of the new articles go to whom.

selection = "all" and "tags": every recipient gets the same articles (the tag filter is
applied when the articles are read). selection = "interests": each recipient gets the new
articles that carry one of their interests (tag ids). Either way a recipient gets the first
``max_items`` of their articles, newest first; one with no article gets nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from publisher.config import NewsletterConfig
from publisher.digests.content import Selection
from publisher.models import Article


class Selector:
    def __init__(
        self,
        newsletter: NewsletterConfig,
        articles: Sequence[Article],
        tag_ids: dict[int, tuple[int, ...]],
    ) -> None:
        self.articles = tuple(articles)  # newest first
        self.max_items = newsletter.max_items
        self.per_recipient = newsletter.selection == "interests"
        # tag id → indexes (in self.articles) of the articles that carry it
        self.by_tag: dict[int, list[int]] = {}
        for index, article in enumerate(self.articles):
            for tag_id in tag_ids.get(article.id, ()):
                self.by_tag.setdefault(tag_id, []).append(index)

    def select(self, interests: Sequence[int] | None) -> Selection | None:
        """The selection for a recipient with these interests (None: any interest, e.g. a preview)."""
        if not self.per_recipient or interests is None:
            indexes: Sequence[int] = range(len(self.articles))
        else:
            indexes = sorted({index for tag_id in interests for index in self.by_tag.get(tag_id, ())})
        if not indexes:
            return None
        shown = indexes[: self.max_items]
        return Selection(tuple(self.articles[index] for index in shown), more_count=len(indexes) - len(shown))
