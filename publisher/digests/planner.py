"""Planning the editions of one newsletter for one segment: what is new, who gets what.

``plan_editions`` runs inside the caller's transaction (``store.transaction()`` nests), so
the plan row, the editions, the readers' new watermarks and the caller's delivery-ledger
inserts commit together or not at all. Watermarks advance at planning time: once the
transaction commits, the articles of the plan count as sent to each reader it served (every
member with something new, whether or not their interests matched an article); the caller
then sends from its ledger. Marking every edition of a plan 'failed' hands its articles
back to the next plan.

Never twice (publisher.digests.windows): a member this newsletter already served gets only
what was published after their own watermark, whatever segment the plan is for; a member
it never served gets the newsletter-level window (``since``, below).
"""

from __future__ import annotations

import hashlib
import json
import logging
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from publisher.app import App
from publisher.digests.compiler import DigestCompiler, newsletter_config
from publisher.digests.content import Selection
from publisher.digests.selection import Selector
from publisher.digests.windows import NEVER_SERVED, ReaderWindows
from publisher.errors import NotFoundError
from publisher.models import Article, Edition, Recipient
from publisher.placeholders import edition_placeholders
from publisher.schedule_policy import first_edition_start
from publisher.store import Store
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
from publisher.store.watermarks import advance_readers

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
    fire: datetime | None = None,
) -> Iterator[tuple[Edition, list[Recipient]]]:
    """Compile the editions of newsletter ``slug`` for ``segment`` (default: the newsletter's)
    and hand out its members, in batches of at most ``batch_size`` (default
    ``[delivery] batch_size``) that share one edition.

    ``members`` are the segment's members in chunks (with their interests when
    ``needs_interests``). ``fire`` is the scheduled time sent for (default: now): the audience's
    first edition counts back from it (``first_edition_start``). Each distinct content is
    compiled once and stored with status 'ready'. With nothing new, nothing is yielded and a
    'nothing-new' plan is recorded.
    Template errors raise TemplateError before anything is yielded for that content; in the
    caller's transaction, nothing of the plan is then kept.
    """
    segment = segment_of(app, slug, segment)
    compiler = DigestCompiler(app.config, slug)  # fails now on an unknown newsletter
    return _plan(app, compiler, members, segment, batch_size or app.config.delivery.batch_size, fire)


@dataclass
class _Content:
    """One distinct content: its selection, its edition, recipients waiting for a full batch."""

    selection: Selection
    edition: Edition
    waiting: list[Recipient] = field(default_factory=list)


def _plan(
    app: App,
    compiler: DigestCompiler,
    members: Iterable[list[Recipient]],
    segment: str,
    batch_size: int,
    fire: datetime | None,
) -> Iterator[tuple[Edition, list[Recipient]]]:
    store, slug, newsletter = app.store, compiler.slug, compiler.newsletter
    with store.transaction():
        now = app.clock.now()
        since = audience_watermark(store, slug, segment)
        first = since is None
        if first:
            since = first_edition_start(newsletter, app.config.site.tz, fire or now)
        tags = newsletter.tags if newsletter.selection == "tags" else None
        articles = new_articles(store, slug, segment, since, now, tags, CANDIDATE_LIMIT)
        windows = ReaderWindows(store, slug, articles, now, tags, CANDIDATE_LIMIT)
        candidates = windows.candidates
        if not candidates:
            plan_id = start_plan(store, slug, segment, NOTHING_NEW, None, 0)
            log.info("plan %s: %s for %s: nothing new since %s", plan_id, slug, segment, since)
            return
        plan_id = start_plan(store, slug, segment, PLANNED, None, 0)
        tag_ids = article_tag_ids(store, [a.id for a in candidates])
        selectors = {
            window: Selector(newsletter, found, tag_ids) for window, found in windows.articles.items() if found
        }

        contents: dict[tuple, _Content] = {}  # (article ids, more count, first edition) → content

        def content_for(window: datetime | None, interests: tuple[int, ...] | None) -> _Content | None:
            """The content of recipients with this window and interests, compiled on first sight."""
            selection = selectors[window].select(interests)
            if selection is None:
                return None
            # The audience's first edition, for its readers (not for one this newsletter served).
            first_edition = first and window is NEVER_SERVED
            key = (selection.article_ids, selection.more_count, first_edition)
            if key not in contents:
                edition = _compile(app, compiler, selection, segment, plan_id, now, first_edition=first_edition)
                contents[key] = _Content(selection, edition)
            return contents[key]

        # The hot loop (a million members): plain locals, one query per chunk for the members'
        # watermark groups, then a few dict lookups per member.
        by_group: dict[tuple, _Content | None] = {}
        used: set[datetime | None] = set()  # the windows of at least one member
        lookup = by_group.get
        per_recipient = newsletter.selection == "interests"
        served: dict[int | None, array] = {}  # watermark group → the readers this plan serves
        appended = handed_out = 0
        for chunk in members:
            for recipient, (watermark_group, window) in zip(chunk, windows.windows_of(chunk), strict=True):
                if window not in selectors:
                    continue  # nothing new for this reader: their watermark stays
                if watermark_group not in served:
                    served[watermark_group] = array("q")
                served[watermark_group].append(recipient.subscriber_id)
                group = (window, recipient.interests if per_recipient else None)
                content = lookup(group, _UNSEEN)
                if content is _UNSEEN:
                    content = by_group[group] = content_for(*group)
                    used.add(window)
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
        advance_readers(store, slug, plan_id, served)
        _finish(store, plan_id, [windows.articles[window] for window in used], len(contents), appended)


def _finish(store: Store, plan_id: int, used: list[list[Article]], edition_count: int, recipient_count: int) -> None:
    """Record the plan's outcome; its watermark is the newest article of the windows its members had."""
    considered = {article.id: article.published_at for articles in used for article in articles}
    status = PLANNED if edition_count else NO_RECIPIENTS if considered else NOTHING_NEW
    watermark = max(considered.values(), default=None)
    finish_plan(store, plan_id, status, edition_count, recipient_count, watermark, len(considered))
    log.info(
        "plan %s: %s, %d new articles, %d editions for %d recipients",
        plan_id,
        status,
        len(considered),
        edition_count,
        recipient_count,
    )


_UNSEEN = object()


def _compile(
    app: App,
    compiler: DigestCompiler,
    selection: Selection,
    segment: str,
    plan_id: int,
    now: datetime,
    *,
    first_edition: bool,
) -> Edition:
    """Compile one distinct content and store it as a 'ready' edition of the plan."""
    content_key = hashlib.sha256(json.dumps([selection.article_ids, selection.more_count]).encode()).hexdigest()
    placeholders = edition_placeholders(app.secrets, compiler.slug, segment, content_key)
    rendered = compiler.compile(
        selection, now, placeholders, first_edition=first_edition, track_clicks=compiler.newsletter.track_clicks
    )
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
