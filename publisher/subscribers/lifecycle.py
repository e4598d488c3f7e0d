"""Subscribers: consent, status changes, preferences, GDPR access and erasure.

The statuses and which changes of status are allowed are in publisher.subscribers.status.
Every change of status, consent, interests or pause is recorded in the subscriber's
history with its time and source: the proof of consent GDPR asks for.

Leaving is final for imports and for the delivery webhook: nothing but the person's own
confirmation link, signed after they left, brings an unsubscribed subscriber back; nothing
at all brings back one who bounced, complained or was forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.addresses import address_key, checked_address, checked_name, normalize_email
from publisher.app import App
from publisher.clock import to_db
from publisher.errors import NotFoundError
from publisher.models import Subscriber
from publisher.slugs import slugify
from publisher.store import Store
from publisher.store import subscribers as db
from publisher.store.signup_mails import queue_mail
from publisher.subscribers.forget_list import hasher_for
from publisher.subscribers.status import ACTIVE, FINAL, LEFT, PENDING, UNSUBSCRIBED, Source, allowed, has_left
from publisher.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, verify_link

log = logging.getLogger(__name__)

_REQUESTED = "confirmation requested"  # the history detail of a sign-up


# --- looking up ---------------------------------------------------------------------------


def find_subscriber(app: App, email: str) -> Subscriber | None:
    """The subscriber with this address (any case of its local part), or None."""
    return db.find_by_email(app.store, normalize_email(email, allow_test_domains=True))


def get_subscriber(app: App, subscriber_id: int) -> Subscriber:
    subscriber = db.get_subscriber(app.store, subscriber_id)
    if subscriber is None:
        raise NotFoundError(f"subscriber {subscriber_id} does not exist")
    return subscriber


def _by_email(app: App, email: str) -> Subscriber:
    subscriber = find_subscriber(app, email)
    if subscriber is None:
        raise NotFoundError(f"no subscriber with address {email.strip()!r}")
    return subscriber


# --- status changes -------------------------------------------------------------------------


def _set_status(app: App, subscriber: Subscriber, status: str, source: str, detail: str = "", **fields) -> None:
    now = app.clock.now()
    db.update_subscriber(app.store, subscriber.id, now, status=status, status_at=now, **fields)
    db.add_history(
        app.store, [db.HistoryEntry(subscriber.id, now, "status", subscriber.status, status, source, detail)]
    )
    log.info("subscriber %s: %s → %s (%s)", subscriber.id, subscriber.status, status, source)


def unsubscribe(app: App, subscriber_id: int, source: str) -> bool:
    """Unsubscribe at once; True if the status changed (idempotent: False when already gone)."""
    with app.store.transaction():
        subscriber = db.get_subscriber(app.store, subscriber_id)
        if subscriber is None or not allowed(subscriber.status, UNSUBSCRIBED, Source.PERSON):
            return False
        _set_status(app, subscriber, UNSUBSCRIBED, source)
        return True


def unsubscribe_address(app: App, email: str, source: str = "staff (command line)") -> bool:
    """``subscribers unsubscribe EMAIL``; NotFoundError for an unknown address."""
    return unsubscribe(app, _by_email(app, email).id, source)


def suppress(app: App, subscriber_id: int, status: str, source: str) -> bool:
    """Record a bounce, complaint or unsubscribe reported by a provider; True if it changed the status.

    Only ever moves towards the stronger reason (unsubscribed < bounced < complained).
    """
    if not has_left(status):
        raise ValueError(f"suppress: status must be one of {', '.join(LEFT)}, not {status!r}")
    with app.store.transaction():
        subscriber = db.get_subscriber(app.store, subscriber_id)
        if subscriber is None or not allowed(subscriber.status, status, Source.PROVIDER):
            return False
        _set_status(app, subscriber, status, source)
        return True


def confirm(app: App, subscriber_id: int, source: str, token_signed_at: datetime | None = None) -> bool:
    """Activate a pending subscriber (double opt-in); True if they became active.

    An unsubscribed subscriber is re-activated only by a confirmation token signed after
    they left (``token_signed_at``, i.e. they asked again through the form); bounced and
    complained ones never are. Active ones: False (idempotent).
    """
    with app.store.transaction():
        subscriber = db.get_subscriber(app.store, subscriber_id)
        if subscriber is None or not _confirmable(subscriber, token_signed_at):
            return False
        now = app.clock.now()
        detail = f"consent: {subscriber.consent_source}, {to_db(now)}"
        _set_status(app, subscriber, ACTIVE, source, detail, consent_at=now)
        return True


def _confirmable(subscriber: Subscriber, token_signed_at: datetime | None) -> bool:
    """Pending; or unsubscribed and the token signed since (they asked again). A link whose
    subscriber was confirmed, left or bounced after it was signed confirms nothing."""
    if not allowed(subscriber.status, ACTIVE, Source.CONFIRMATION):
        return False
    return subscriber.status == PENDING or (
        token_signed_at is not None and subscriber.status_at is not None and token_signed_at >= subscriber.status_at
    )


def update_preferences(
    app: App,
    subscriber_id: int,
    tag_slugs: Iterable[str] | None = None,
    paused: bool | None = None,
    source: str = "preferences page",
) -> bool:
    """Replace the interests (tag slugs or names) and/or pause or resume; None leaves a part as it is.

    True if anything changed; NotFoundError for an unknown subscriber or tag.
    """
    with app.store.transaction():
        subscriber = get_subscriber(app, subscriber_id)
        now = app.clock.now()
        history: list[db.HistoryEntry] = []
        if tag_slugs is not None:
            wanted = _tag_ids(app.store, tag_slugs)
            current = db.interests_of(app.store, [subscriber_id])[subscriber_id]
            if wanted != current:
                slugs = {tag_id: slug for slug, tag_id in db.tag_ids(app.store).items()}
                db.remove_interests(app.store, [(subscriber_id, tag_id) for tag_id in current - wanted])
                db.add_interests(app.store, [(subscriber_id, tag_id) for tag_id in wanted - current])
                history.append(
                    db.HistoryEntry(
                        subscriber_id,
                        now,
                        "interests",
                        _slug_list(current, slugs),
                        _slug_list(wanted, slugs),
                        source,
                    )
                )
        if paused is not None and paused != (subscriber.paused_at is not None):
            db.update_subscriber(app.store, subscriber_id, now, paused_at=now if paused else None)
            history.append(
                db.HistoryEntry(subscriber_id, now, "paused", str(not paused).lower(), str(paused).lower(), source)
            )
        db.add_history(app.store, history)
        return bool(history)


def _tag_ids(store: Store, names: Iterable[str]) -> set[int]:
    known = db.tag_ids(store)
    ids = set()
    for name in names:
        slug = slugify(name)
        if slug not in known:
            raise NotFoundError(f"unknown tag {name!r}")
        ids.add(known[slug])
    return ids


def _slug_list(tag_ids: set[int], slugs: dict[int, str]) -> str:
    return " | ".join(sorted(slugs[tag_id] for tag_id in tag_ids))


# --- double opt-in ------------------------------------------------------------------------


def subscribe(
    app: App,
    email: str,
    name: str = "",
    interests: Iterable[str] = (),
    consent_source: str = "formulaire d'inscription",
    locale: str | None = None,
) -> int | None:
    """A subscription from the public form. Queues the email to send (publisher.signup_queue) in
    the same transaction and returns the subscriber's id, or None when nothing is queued:

    - new address: a pending subscriber, and the confirmation email with its signed link;
    - pending: its name and interests updated, the confirmation sent again (the purge delay restarts);
    - active: an "already subscribed" email with the preferences link (the form reveals nothing);
    - unsubscribed: the confirmation email; they stay unsubscribed until they open it;
    - bounced, complained or forgotten: None — nothing is sent, nothing changes.

    InvalidAddress or InvalidName (PublisherErrors) for an address or name that the policy of
    publisher.addresses refuses; NotFoundError for an unknown tag.
    """
    normalized = checked_address(email, app.config.subscribers.allow_test_domains)
    name = checked_name(name)
    locale = locale or app.config.site.language
    with app.store.transaction():
        wanted = _tag_ids(app.store, interests)
        if db.has_suppressions(app.store) and db.suppressed_among(
            app.store, [hasher_for(app).hash(address_key(normalized))]
        ):
            return None
        subscriber = db.find_by_email(app.store, normalized)
        now = app.clock.now()
        if subscriber is None:
            subscriber_id = db.next_subscriber_id(app.store)
            db.insert_subscribers(
                app.store,
                [db.NewSubscriber(subscriber_id, normalized, name, locale, "pending", consent_source, None)],
                now,
            )
            db.add_interests(app.store, [(subscriber_id, tag_id) for tag_id in wanted])
            entry = db.HistoryEntry(subscriber_id, now, "status", None, "pending", consent_source, _REQUESTED)
            db.add_history(app.store, [entry])
            log.info("subscriber %s: pending, confirmation requested", subscriber_id)
        elif subscriber.status in FINAL:
            return None
        else:
            subscriber_id = subscriber.id
            if subscriber.status == PENDING:
                _renew_pending(app.store, subscriber, name, locale, consent_source, wanted, now)
        queue_mail(app.store, subscriber_id, now)
        return subscriber_id


def _renew_pending(
    store: Store, subscriber: Subscriber, name: str, locale: str, source: str, wanted: set[int], now
) -> None:
    """A pending subscriber asks again: their answers replace the former ones."""
    db.update_subscriber(store, subscriber.id, now, name=name or subscriber.name, locale=locale, consent_source=source)
    current = db.interests_of(store, [subscriber.id])[subscriber.id]
    db.remove_interests(store, [(subscriber.id, tag_id) for tag_id in current - wanted])
    db.add_interests(store, [(subscriber.id, tag_id) for tag_id in wanted - current])


def purge_pending(app: App, older_than_days: int | None = None) -> int:
    """Delete pending subscribers who did not confirm within ``older_than_days`` (default
    ``[subscribers] pending_days``) of their last request; return how many."""
    days = app.config.subscribers.pending_days if older_than_days is None else older_than_days
    with app.store.transaction():
        purged = db.delete_pending_before(app.store, app.clock.now() - timedelta(days=days))
    log.info("purged %s pending subscribers older than %s days", purged, days)
    return purged


# --- signed links --------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkTarget:
    subscriber: Subscriber
    signed_at: datetime


def open_link(app: App, token: str, purpose: str) -> LinkTarget:
    """The subscriber a link's token is for: TokenError if tampered, wrongly scoped or expired;
    NotFoundError if the subscriber is gone or the token predates them (a reused id)."""
    verified = verify_link(app, token, purpose)
    subscriber = db.get_subscriber(app.store, verified.subscriber_id)
    if subscriber is None or verified.signed_at < subscriber.created_at:
        raise NotFoundError(f"this {purpose} link is no longer valid")
    return LinkTarget(subscriber, verified.signed_at)


def confirm_link(app: App, token: str) -> bool:
    """The confirmation link of the double opt-in email: True if it activated the subscriber."""
    target = open_link(app, token, CONFIRM)
    return confirm(app, target.subscriber.id, "lien de confirmation", target.signed_at)


def link_confirms(app: App, token: str) -> bool:
    """Whether a confirmation link would activate its subscriber now (False once it has served,
    or after any later change of their status); TokenError or NotFoundError as ``open_link``."""
    target = open_link(app, token, CONFIRM)
    return _confirmable(target.subscriber, target.signed_at)


def unsubscribe_link(app: App, token: str, source: str = "lien de désinscription") -> bool:
    """An unsubscribe link (or a one-click List-Unsubscribe POST)."""
    return unsubscribe(app, open_link(app, token, UNSUBSCRIBE).subscriber.id, source)


def preferences_subscriber(app: App, token: str) -> Subscriber:
    """The subscriber whose preferences page a link opens."""
    return open_link(app, token, PREFERENCES).subscriber


# --- GDPR: access and erasure ---------------------------------------------------------------


def show(app: App, email: str) -> dict:
    """Everything held about one address (an access request), as JSON-ready data."""
    tz = app.config.site.tz
    store = app.store

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat() if moment else None

    subscriber = find_subscriber(app, email)
    if subscriber is None:
        normalized = normalize_email(email, allow_test_domains=True)
        forgotten = db.has_suppressions(store) and db.suppression(store, hasher_for(app).hash(address_key(normalized)))
        if forgotten:
            at, source = forgotten
            return {
                "email": normalized,
                "forgotten": {"at": local(at), "source": source},
                "held": "only a keyed hash of the address, so that it is never imported or mailed again",
            }
        raise NotFoundError(f"no subscriber with address {email.strip()!r}")
    tags = db.tags_by_id(store)
    return {
        "id": subscriber.id,
        "email": subscriber.email,
        "name": subscriber.name,
        "locale": subscriber.locale,
        "status": subscriber.status,
        "status_since": local(subscriber.status_at),
        "paused_since": local(subscriber.paused_at),
        "consent": {"source": subscriber.consent_source, "at": local(subscriber.consent_at)},
        "created_at": local(subscriber.created_at),
        "updated_at": local(subscriber.updated_at),
        "interests": [
            {"slug": tags[tag_id][0], "name": tags[tag_id][1]}
            for tag_id in sorted(db.interests_of(store, [subscriber.id])[subscriber.id], key=lambda i: tags[i][0])
        ],
        "attributes": db.attributes_of(store, [subscriber.id])[subscriber.id],
        "history": [
            {
                "at": local(entry.at),
                "change": entry.change,
                "from": entry.old_value,
                "to": entry.new_value,
                "source": entry.source,
                "detail": entry.detail,
            }
            for entry in db.history_of(store, subscriber.id)
        ],
    }


@dataclass(frozen=True)
class ForgetResult:
    found: bool
    subscriber_id: int | None


def forget(app: App, email: str, source: str = "demande d'effacement (RGPD)") -> ForgetResult:
    """Erase everything about an address and keep only its keyed hash, so it is suppressed forever.

    Also for an address that is not (or no longer) stored: it is added to the forget list.
    """
    normalized = normalize_email(email, allow_test_domains=True)
    hasher = hasher_for(app)
    with app.store.transaction():
        subscriber = db.find_by_email(app.store, normalized)
        if subscriber is not None:
            db.delete_subscriber(app.store, subscriber.id)
        db.add_suppression(app.store, hasher.hash(address_key(normalized)), hasher.key_id, app.clock.now(), source)
    log.info("forgot subscriber %s", subscriber.id if subscriber else "(not stored)")
    return ForgetResult(subscriber is not None, subscriber.id if subscriber else None)
