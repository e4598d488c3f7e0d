"""Plain data objects passed between the store and the features."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from publisher.slugs import slugify


@dataclass(frozen=True)
class Tag:
    slug: str
    name: str

    @classmethod
    def from_name(cls, name: str) -> Tag:
        return _tag_from_name(name)


@dataclass(frozen=True)
class Article:
    """One article; times are timezone-aware UTC. ``id`` is set once it is stored."""

    guid: str
    url: str
    title: str
    published_at: datetime
    updated_at: datetime
    language: str
    summary: str = ""
    content_html: str = ""
    author: str = ""
    image_url: str | None = None
    status: str = "published"
    tags: tuple[Tag, ...] = field(default=())
    id: int | None = None


@dataclass(frozen=True)
class Recipient:
    """One person an edition is sent to."""

    subscriber_id: int
    email: str
    name: str = ""
    locale: str = "fr"
    # Tag ids of the subscriber's interests, when the caller asked for them.
    interests: tuple[int, ...] = ()


@dataclass(frozen=True)
class Edition:
    """One compiled digest, shared by every recipient who gets the same articles.

    ``html`` and ``text`` hold the per-recipient placeholders of publisher.placeholders,
    filled at send time; nothing is compiled per recipient.
    """

    newsletter: str
    segment: str
    content_key: str
    subject: str
    preheader: str
    html: str
    text: str
    article_ids: tuple[int, ...]
    status: str = "ready"
    id: int | None = None


@dataclass(frozen=True)
class Message:
    """One transactional email (e.g. a double opt-in confirmation), ready for a transport."""

    to_email: str
    subject: str
    text: str
    html: str | None = None
    to_name: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@lru_cache(maxsize=65536)
def _tag_from_name(name: str) -> Tag:
    # Imports repeat the same few tag names thousands of times; slugify once per name.
    return Tag(slug=slugify(name), name=name)


@dataclass(frozen=True)
class Subscriber:
    """One stored subscriber; times are timezone-aware UTC."""

    id: int
    email: str
    name: str
    locale: str
    status: str
    consent_source: str
    consent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    status_at: datetime | None
    paused_at: datetime | None
