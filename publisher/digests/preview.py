"""Previews: the next edition of a newsletter as one subscriber (or a sample one) would get it.

A preview stores nothing. It shows the articles the next edition would hold: for an
audience's first edition, those of the first scheduled send (publisher.schedule_policy); for a
given subscriber, only those after their watermark, as the plan does. When nothing is new it
falls back to the latest articles (``RenderedDigest.fresh`` is then False), so staff can always
look at their templates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from publisher.app import App
from publisher.digests.compiler import DigestCompiler, RenderedDigest
from publisher.digests.content import Selection
from publisher.digests.planner import CANDIDATE_LIMIT, segment_of
from publisher.digests.selection import Selector
from publisher.digests.windows import ReaderWindows
from publisher.errors import NotFoundError, PublisherError
from publisher.models import Article, Recipient
from publisher.placeholders import RecipientValues, one_off_placeholders
from publisher.schedule_policy import first_edition_start, next_send
from publisher.store.digests import (
    article_tag_ids,
    audience_watermark,
    find_recipient,
    latest_articles,
    new_articles,
)
from publisher.tokens import links_for

SAMPLE_NAME = "Camille Martin"
SAMPLE_EMAIL = "camille.martin@example.org"


def render_preview(app: App, slug: str, recipient: Recipient | None, segment: str | None = None) -> RenderedDigest:
    """The next edition of ``slug`` for ``segment``, as ``recipient`` (None: a sample subscriber
    following every topic) would receive it, placeholders filled."""
    compiler = DigestCompiler(app.config, slug)
    segment = segment_of(app, slug, segment)
    newsletter = compiler.newsletter
    store, now = app.store, app.clock.now()
    tags = newsletter.tags if newsletter.selection == "tags" else None
    interests = recipient.interests if recipient is not None else None
    fresh = True
    since = audience_watermark(store, slug, segment)
    first = since is None
    if first:
        since = _first_edition_since(app, slug)
    articles = new_articles(store, slug, segment, since, now, tags, CANDIDATE_LIMIT)
    if recipient is not None:  # what the next plan gives this reader: never what they already had
        articles = ReaderWindows(store, slug, articles, now, tags, CANDIDATE_LIMIT).articles_of(recipient)
    selection = _select(app, compiler, articles, interests)
    if selection is None:
        fresh = False
        selection = _select(app, compiler, latest_articles(store, now, tags, CANDIDATE_LIMIT), interests)
    if selection is None:
        who = "the interests of this subscriber" if interests is not None else "this newsletter"
        raise PublisherError(f"newsletters.{slug}: no published article matches {who}: nothing to preview")
    placeholders = one_off_placeholders()
    rendered = compiler.compile(selection, now, placeholders, first_edition=first)
    values = _values(app, slug, recipient)
    return replace(
        rendered,
        html=placeholders.fill(rendered.html, values, html=True),
        text=placeholders.fill(rendered.text, values, html=False),
        fresh=fresh,
        first_edition_since=since if first else None,
    )


def _first_edition_since(app: App, slug: str) -> datetime | None:
    """Where the first scheduled send of ``slug`` starts (its next fire time, or now)."""
    fire = next_send(app, slug).fire or app.clock.now()
    return first_edition_start(app.config.newsletters[slug], app.config.site.tz, fire)


def _select(
    app: App, compiler: DigestCompiler, articles: list[Article], interests: tuple[int, ...] | None
) -> Selection | None:
    if not articles:
        return None
    selector = Selector(compiler.newsletter, articles, article_tag_ids(app.store, [a.id for a in articles]))
    return selector.select(interests)


def _values(app: App, slug: str, recipient: Recipient | None) -> RecipientValues:
    base = app.config.site.base_url
    view_online = f"{base}/archive/{slug}"  # the newsletter's archive: a preview has no edition yet
    if recipient is not None and app.secrets.signing_secret:
        links = links_for(app, recipient.subscriber_id)
        unsubscribe, preferences = links.unsubscribe_url, links.preferences_url
    else:
        unsubscribe, preferences = f"{base}/unsubscribe/exemple", f"{base}/preferences/exemple"
    return RecipientValues(
        name=(recipient.name if recipient else "") or SAMPLE_NAME,
        email=recipient.email if recipient else SAMPLE_EMAIL,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
        view_online_url=view_online,
    )


@dataclass(frozen=True)
class PreviewFiles:
    html_path: Path
    text_path: Path
    digest: RenderedDigest


def write_preview(
    app: App, slug: str, segment: str | None = None, email: str | None = None, out: Path | None = None
) -> PreviewFiles:
    """Render a preview and write FILE.html and FILE.txt (default: previews/<slug>.html beside config.toml)."""
    recipient = None
    if email is not None:
        recipient = find_recipient(app.store, email)
        if recipient is None:
            raise NotFoundError(f"--email: no subscriber with address {email!r}")
    digest = render_preview(app, slug, recipient, segment)
    html_path = out if out is not None else app.config.base_dir / "previews" / f"{slug}.html"
    text_path = html_path.with_suffix(".txt")
    app.refuse_own_file(html_path)
    app.refuse_own_file(text_path)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(digest.html, encoding="utf-8")
        text_path.write_text(digest.text, encoding="utf-8")
    except OSError as error:
        raise PublisherError(f"{html_path}: cannot write the preview: {error.strerror}") from None
    return PreviewFiles(html_path, text_path, digest)
