"""What the configuration says about feeds: formats, file names, public URLs, channels."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from publisher import __version__
from publisher.config import Config
from publisher.models import Tag

SITE_FEED = "all"
TAG_FEEDS_DIR = "tags"
# Bump when the rendered output changes for the same inputs: the next build then re-renders all.
RENDERING_VERSION = 2  # 2: « 1er » on the index page


@dataclass(frozen=True)
class FeedFormat:
    key: str
    suffix: str
    media_type: str
    label: str


FORMATS = {
    "rss": FeedFormat("rss", ".rss.xml", "application/rss+xml", "RSS"),
    "atom": FeedFormat("atom", ".atom.xml", "application/atom+xml", "Atom"),
    "json": FeedFormat("json", ".json", "application/feed+json", "JSON Feed"),
}


@dataclass(frozen=True)
class Channel:
    """One feed's subject: the whole site, or one tag."""

    name: str  # file stem under output_dir: "all" or "tags/<slug>"
    title: str
    description: str
    page_url: str  # the site or tag page: the channel link
    tag: Tag | None = None


@dataclass(frozen=True)
class FeedSettings:
    """The configuration of the feeds, resolved once per build."""

    site_title: str
    site_of_title: str  # « d’Horizons Emploi-Formation »
    site_url: str
    site_description: str
    language: str
    timezone: str
    feeds_url: str
    tag_page_url: str
    formats: tuple[str, ...]
    items: int
    hub: str | None
    ttl_minutes: int

    @classmethod
    def from_config(cls, config: Config) -> FeedSettings:
        return cls(
            site_title=config.site.title,
            site_of_title=config.site.of_title,
            site_url=config.site.base_url,
            site_description=config.site.description,
            language=config.site.language.replace("_", "-"),
            timezone=config.site.timezone,
            feeds_url=config.feeds_url,
            tag_page_url=config.feeds.tag_page_url or f"{config.site.base_url}/tags/{{slug}}",
            formats=tuple(key for key in FORMATS if key in config.feeds.formats),
            items=config.feeds.items,
            hub=config.feeds.websub_hub,
            ttl_minutes=config.feeds.rebuild_minutes,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def digest(self) -> str:
        """Changes whenever a setting or the renderer changes what any feed would contain."""
        data = {"settings": self.__dict__, "rendering": RENDERING_VERSION, "version": __version__}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def site_channel(self) -> Channel:
        return Channel(
            name=SITE_FEED,
            title=self.site_title,
            description=self.site_description or self.site_title,
            page_url=self.site_url + "/",
        )

    def tag_channel(self, tag: Tag) -> Channel:
        return Channel(
            name=f"{TAG_FEEDS_DIR}/{tag.slug}",
            title=f"{self.site_title} — {tag.name}",
            description=f"Les derniers articles «\u202f{tag.name}\u202f» {self.site_of_title}",
            page_url=self.tag_page_url.replace("{slug}", tag.slug),
            tag=tag,
        )

    def file_name(self, feed_name: str, fmt: str) -> str:
        """Path of one feed file, relative to output_dir."""
        return feed_name + FORMATS[fmt].suffix

    def file_names(self, feed_name: str) -> list[str]:
        return [self.file_name(feed_name, fmt) for fmt in self.formats]

    def url(self, relative_path: str) -> str:
        """Public URL of a file of output_dir."""
        return f"{self.feeds_url}/{relative_path}"
