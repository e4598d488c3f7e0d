"""The data of one digest, shared by its HTML and text parts and its subject.

Everything here is the same for every recipient of an edition: per-recipient values are
the edition's placeholders (publisher.placeholders), filled at send time. Only the template
files get them (``recipient`` and the personal ``links``); the subject and preheader, text
that staff edit in config.toml, are rendered without them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from publisher.config import Config, NewsletterConfig
from publisher.digests.formatting import (
    absolute_url,
    babel_locale,
    capitalize_first,
    format_date,
    french_spacing,
    with_utm,
)
from publisher.models import Article, Tag
from publisher.placeholders import Placeholders

OTHER_NEWS = "Autres actualités"


@dataclass(frozen=True)
class DigestArticle:
    """An article as the templates see it: absolute links (with UTM when enabled), site-time dates."""

    id: int
    title: str
    url: str
    published_at: datetime
    summary: str
    author: str
    image_url: str | None
    tags: tuple[Tag, ...]


@dataclass(frozen=True)
class DigestGroup:
    """A heading and its articles: one day (group_by = "date") or one tag (group_by = "tag")."""

    title: str
    articles: tuple[DigestArticle, ...]
    date: date | None = None
    tag: Tag | None = None


@dataclass(frozen=True)
class NewsletterView:
    slug: str
    title: str
    selection: str
    group_by: str


@dataclass(frozen=True)
class Selection:
    """What one edition holds: its articles in digest order, and how many more were new."""

    articles: tuple[Article, ...]
    more_count: int = 0

    @property
    def article_ids(self) -> tuple[int, ...]:
        return tuple(article.id for article in self.articles)


def template_context(
    config: Config,
    slug: str,
    selection: Selection,
    edition_at: datetime,
    known: dict[Article, DigestArticle] | None = None,
    link: Callable[[int], str] | None = None,
) -> dict[str, Any]:
    """The variables of the subject and preheader (documented in docs/newsletters.md); the templates also
    get ``personal_context``.

    ``known`` caches the template view of articles across the editions of one plan. ``link``
    (article id → URL) replaces the articles' own links, e.g. with click markers.
    """
    newsletter = config.newsletters[slug]
    site = config.site
    known = {} if known is None else known
    articles = []
    for article in selection.articles:
        if article not in known:
            known[article] = _digest_article(article, config, slug)
        shown = known[article]
        articles.append(replace(shown, url=link(shown.id)) if link else shown)
    return {
        "site": site,
        "newsletter": NewsletterView(slug, newsletter.title, newsletter.selection, newsletter.group_by),
        "logo_url": config.digests.logo_url,
        "edition_at": edition_at.astimezone(site.tz),
        "edition_date": format_date(edition_at, language=site.language, tz=site.tz),
        "article_count": len(articles),
        "more_count": selection.more_count,
        "articles": articles,
        "groups": _groups(articles, newsletter, config),
        "topics": _topics(articles),
        "links": {"site": site.base_url + "/"},
    }


def personal_context(config: Config, placeholders: Placeholders) -> dict[str, Any]:
    """``recipient`` and ``links`` with the edition's placeholders: for the template files only."""
    return {
        "recipient": {"name": placeholders.name, "email": placeholders.email},
        "links": {
            "site": config.site.base_url + "/",
            "unsubscribe": placeholders.unsubscribe_url,
            "preferences": placeholders.preferences_url,
            "view_online": placeholders.view_online_url,
        },
    }


def _digest_article(article: Article, config: Config, slug: str) -> DigestArticle:
    base = config.site.base_url
    url = article_link(config, slug, article.url)
    typeset = french_spacing if babel_locale(config.site.language).language == "fr" else str
    return DigestArticle(
        id=article.id,
        title=typeset(article.title),
        url=url,
        published_at=article.published_at.astimezone(config.site.tz),
        summary=typeset(article.summary),
        author=article.author,
        image_url=absolute_url(article.image_url, base) if article.image_url else None,
        tags=article.tags,
    )


def article_link(config: Config, slug: str, url: str) -> str:
    """An article's own link in a newsletter: absolute, with UTM parameters when enabled."""
    newsletter = config.newsletters[slug]
    url = absolute_url(url, config.site.base_url)
    return with_utm(url, newsletter.utm_campaign or slug) if newsletter.utm else url


def _groups(articles: list[DigestArticle], newsletter: NewsletterConfig, config: Config) -> list[DigestGroup]:
    """Groups in order of their newest article; articles keep their (newest first) order."""
    grouped: dict[object, list[DigestArticle]] = {}
    for article in articles:
        key = article.published_at.date() if newsletter.group_by == "date" else _primary_tag(article, newsletter)
        grouped.setdefault(key, []).append(article)
    if newsletter.group_by == "date":
        site = config.site
        return [
            DigestGroup(capitalize_first(format_date(day, "EEEE d MMMM", site.language)), tuple(items), date=day)
            for day, items in grouped.items()
        ]
    groups = [
        DigestGroup(capitalize_first(tag.name) if tag else OTHER_NEWS, tuple(items), tag=tag)
        for tag, items in grouped.items()
    ]
    # Untagged articles come last, under "Autres actualités".
    return sorted(groups, key=lambda group: group.tag is None)


def _primary_tag(article: DigestArticle, newsletter: NewsletterConfig) -> Tag | None:
    """The article's first tag (among the newsletter's tags for selection = "tags")."""
    tags = article.tags
    if newsletter.selection == "tags":
        tags = tuple(tag for tag in tags if tag.slug in newsletter.tags) or tags
    return tags[0] if tags else None


def _topics(articles: list[DigestArticle]) -> list[Tag]:
    """The tags of the edition, most frequent first (ties: first seen)."""
    counts = Counter(tag for article in articles for tag in article.tags)
    return [tag for tag, _ in counts.most_common()]
