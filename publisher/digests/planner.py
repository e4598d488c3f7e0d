"""Planning the editions of one newsletter for one segment: what is new, who gets what.

``plan_editions`` runs inside the caller's transaction (``store.transaction()`` nests), so
the plan row, the editions, the audience's new watermark and the caller's delivery-ledger
inserts commit together or not at all. The watermark advances at planning time: once the
transaction commits, the articles of the plan count as sent to the audience; the caller
then sends from its ledger. Marking every edition of a plan 'failed' hands its articles
back to the next plan.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from publisher.app import App
from publisher.digests.compiler import DigestCompiler, newsletter_config
from publisher.digests.content import Selection
from publisher.digests.selection import Selector
from publisher.errors import NotFoundError
from publisher.models import Edition, Recipient
from publisher.placeholders import edition_placeholders
from publisher.store.digests import (
    NO_RECIPIENTS,
    NOTHING_NEW,
    PLANNED,
    article_tag_ids,
    attach_edition,
    audience_watermark,
    finish_plan,
    new_articles,
    start_plan,
)
from publisher.store.editions import insert_edition

log = logging.getLogger(__name__)

# New articles read per plan, newest first (a first plan over a large archive reads no more).
CANDIDATE_LIMIT = 500
# Recipients held back while batches fill up; past it every partial batch is handed out.
MAX_BUFFERED = 50_000


def needs_interests(app: App, slug: str) -> bool:
    """Whether members must be streamed with their interests (selection = "interests")."""
    return newsletter_config(app.config, slug).selection == "interests"


def segment_of(app: App, slug: str, segment: str | None) -> str:
    """The segment to plan for: the given one, else the newsletter's; it must exist."""
    name = segment or newsletter_config(app.config, slug).segment
    if name not in app.config.segments:
        known = ", ".join(sorted(app.config.segments)) or "none defined"
        raise NotFoundError(f"--segment: no segment {name!r} in {app.config.source} (segments: {known})")
    return name


def plan_editions(
    app: App,
    slug: str,
    members: Iterable[list[Recipient]],
    segment: str | None = None,
    *,
    batch_size: int | None = None,
) -> Iterator[tuple[Edition, list[Recipient]]]:
    """Compile the editions of newsletter ``slug`` for ``segment`` (default: the newsletter's)
    and hand out its members, in batches of at most ``batch_size`` (default
    ``[delivery] batch_size``) that share one edition.

    ``members`` are the segment's members in chunks (with their interests when
    ``needs_interests``). Each distinct content is compiled once and stored with status
    'ready'. With nothing new, nothing is yielded and a 'nothing-new' plan is recorded.
    Template errors raise TemplateError before anything is yielded for that content; in the
    caller's transaction, nothing of the plan is then kept.
    """
    segment = segment_of(app, slug, segment)
    compiler = DigestCompiler(app.config, slug)  # fails now on an unknown newsletter
    return _plan(app, compiler, members, segment, batch_size or app.config.delivery.batch_size)


@dataclass
class _Content:
    """One distinct content: its selection, its edition, recipients waiting for a full batch."""

    selection: Selection
    edition: Edition
    waiting: list[Recipient] = field(default_factory=list)


def _plan(
    app: App, compiler: DigestCompiler, members: Iterable[list[Recipient]], segment: str, batch_size: int
) -> Iterator[tuple[Edition, list[Recipient]]]:
    store, slug, newsletter = app.store, compiler.slug, compiler.newsletter
    with store.transaction():
        now = app.clock.now()
        since = audience_watermark(store, slug, segment)
        tags = newsletter.tags if newsletter.selection == "tags" else None
        articles = new_articles(store, slug, segment, since, now, tags, CANDIDATE_LIMIT)
        if not articles:
            plan_id = start_plan(store, slug, segment, NOTHING_NEW, None, 0)
            log.info("plan %s: %s for %s: nothing new since %s", plan_id, slug, segment, since)
            return
        watermark = max(article.published_at for article in articles)
        plan_id = start_plan(store, slug, segment, PLANNED, watermark, len(articles))
        log.info("plan %s: %s for %s: %d new articles", plan_id, slug, segment, len(articles))
        selector = Selector(newsletter, articles, article_tag_ids(store, [a.id for a in articles]))

        contents: dict[tuple, _Content] = {}  # (article ids, more count) → content

        def content_for(interests: tuple[int, ...] | None) -> _Content | None:
            """The content of recipients with these interests, compiled on first sight."""
            selection = selector.select(interests)
            if selection is None:
                return None
            key = (selection.article_ids, selection.more_count)
            if key not in contents:
                contents[key] = _Content(selection, _compile(app, compiler, selection, segment, plan_id, now))
            return contents[key]

        # The hot loop (a million members): plain locals, one dict lookup per member.
        by_interests: dict[tuple[int, ...] | None, _Content | None] = {}
        lookup = by_interests.get
        per_recipient = selector.per_recipient
        appended = handed_out = 0
        for chunk in members:
            for recipient in chunk:
                interests = recipient.interests if per_recipient else None
                content = lookup(interests, _UNSEEN)
                if content is _UNSEEN:
                    content = by_interests[interests] = content_for(interests)
                if content is None:
                    continue
                waiting = content.waiting
                waiting.append(recipient)
                appended += 1
                if len(waiting) >= batch_size:
                    content.waiting = []
                    handed_out += len(waiting)
                    yield content.edition, waiting
            if appended - handed_out >= MAX_BUFFERED:
                handed_out = appended
                yield from _hand_out(contents.values())
        yield from _hand_out(contents.values())
        finish_plan(store, plan_id, PLANNED if contents else NO_RECIPIENTS, len(contents), appended)
        log.info("plan %s: %d editions for %d recipients", plan_id, len(contents), appended)


_UNSEEN = object()


def _compile(
    app: App, compiler: DigestCompiler, selection: Selection, segment: str, plan_id: int, now: datetime
) -> Edition:
    """Compile one distinct content and store it as a 'ready' edition of the plan."""
    content_key = hashlib.sha256(json.dumps([selection.article_ids, selection.more_count]).encode()).hexdigest()
    placeholders = edition_placeholders(app.secrets, compiler.slug, segment, content_key)
    rendered = compiler.compile(selection, now, placeholders, compiler.newsletter.track_clicks)
    edition = insert_edition(
        app.store,
        Edition(
            newsletter=compiler.slug,
            segment=segment,
            content_key=content_key,
            subject=rendered.subject,
            preheader=rendered.preheader,
            html=rendered.html,
            text=rendered.text,
            article_ids=rendered.article_ids,
        ),
    )
    attach_edition(app.store, edition.id, plan_id, edition.article_ids)
    log.info("plan %s: edition %s with %d articles", plan_id, edition.id, len(edition.article_ids))
    return edition


def _hand_out(contents: Iterable[_Content]) -> Iterator[tuple[Edition, list[Recipient]]]:
    for content in contents:
        if content.waiting:
            batch, content.waiting = content.waiting, []
            yield content.edition, batch
