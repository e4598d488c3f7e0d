"""When the schedule sends a newsletter: one policy for ``publisher run-once`` and ``publisher serve``.

- A newsletter is *added* when a run (``run-once``, or a job of the service) first sees it in
  config.toml; the store keeps that time.
- Its *due* fire time is the latest fire time of its ``schedule`` after the one last handled
  (after it was added, if it never fired) and not after now: missed fire times are coalesced
  into one send. A newsletter just added is first sent at its first fire time after that,
  never earlier; ``publisher send SLUG`` is the way to send it now.
- A due fire time missed by more than ``[service] catch_up_minutes`` (the machine was down) is
  skipped and recorded as handled: the next edition carries its articles.
- An interrupted send (not a paused one: paused editions wait for staff) is due now.
- The first edition of an audience covers one schedule period back from its fire time (back
  to the previous fire time of its own schedule), or ``first_edition_since``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from publisher.app import App
from publisher.config import NewsletterConfig
from publisher.scheduling import latest_fire_time, next_fire_time, previous_fire_time
from publisher.store import Store, senders
from publisher.store import deliveries as ledger


@dataclass(frozen=True)
class Due:
    """What the schedule asks of a newsletter now."""

    fire: datetime | None  # the fire time to send now
    missed: datetime | None  # a fire time too late to send (recorded as handled, not sent)


def due(app: App, slug: str, added: datetime | None) -> Due:
    """The fire time to send now, or the one missed by more than the catch-up window.
    ``added``: when the newsletter was added (None: not yet, i.e. now)."""
    newsletter = app.config.newsletters[slug]
    now = app.clock.now()
    since = senders.last_fire(app.store, slug) or added or now
    fire = latest_fire_time(newsletter.schedule, app.config.site.tz, since, now)
    if fire is not None and now - fire > catch_up(app):
        return Due(None, fire)
    return Due(fire, None)


def catch_up(app: App) -> timedelta:
    return timedelta(minutes=app.config.service.catch_up_minutes)


def interrupted(store: Store, slug: str, segment: str) -> bool:
    """Whether a send of this newsletter stopped half-way (paused editions do not count)."""
    unfinished = ledger.edition_statuses(store, ledger.unfinished_editions(store, slug, segment))
    return any(status != "paused" for status in unfinished.values())


@dataclass(frozen=True)
class NextSend:
    at: datetime | None  # when, in the site time zone; None: the schedule never fires again
    fire: datetime | None  # the fire time that send is for (where a first edition counts back from)
    due_now: bool = False


def next_send(app: App, slug: str) -> NextSend:
    """When the schedule will next send ``slug``: now when due (or interrupted), else the first
    fire time ahead. Reads the store, writes nothing (``publisher schedule``, /admin/, previews)."""
    newsletter = app.config.newsletters[slug]
    tz = app.config.site.tz
    now = app.clock.now().astimezone(tz)
    if interrupted(app.store, slug, newsletter.segment):
        return NextSend(now, now, due_now=True)
    fire = due(app, slug, senders.added_at(app.store, slug)).fire
    if fire is not None:
        return NextSend(now, fire.astimezone(tz), due_now=True)
    ahead = next_fire_time(newsletter.schedule, tz, now)
    return NextSend(ahead, ahead)


def first_edition_start(newsletter: NewsletterConfig, tz: ZoneInfo, fire: datetime) -> datetime | None:
    """Where the first edition sent at ``fire`` starts: ``first_edition_since`` (a duration back
    from ``fire``, or a date in the site time zone), else the schedule's previous fire time."""
    since = newsletter.first_edition_since
    if isinstance(since, timedelta):
        return fire - since
    if isinstance(since, date):
        return datetime.combine(since, time(), tz)
    return previous_fire_time(newsletter.schedule, tz, fire)
