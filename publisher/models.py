"""Plain data objects passed between the store and the features."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from publisher.slugs import slugify


@dataclass(frozen=True)
class Tag:
    slug: str
    name: str

    @classmethod
    def from_name(cls, name: str) -> Tag:
        return cls(slug=slugify(name), name=name)


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
