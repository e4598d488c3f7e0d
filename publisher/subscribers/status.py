"""The subscriber lifecycle, in one place: the statuses, who may be mailed, and which status
changes are allowed from which source.

``pending`` (waiting for double opt-in) → ``active`` → ``unsubscribed``, ``bounced`` or
``complained``. Only active, unpaused subscribers receive newsletters. Leaving outranks
staying, and a stronger reason to leave replaces a weaker one (unsubscribed < bounced <
complained). Nothing but the person's own confirmation link brings back someone who
unsubscribed (and only a link signed after they left: publisher.subscribers.lifecycle checks the
date); nothing at all brings back one who bounced or complained.
"""

from __future__ import annotations

from enum import Enum

PENDING = "pending"
ACTIVE = "active"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"
COMPLAINED = "complained"

STATUSES = (PENDING, ACTIVE, UNSUBSCRIBED, BOUNCED, COMPLAINED)
LEFT = (UNSUBSCRIBED, BOUNCED, COMPLAINED)
# Nothing brings these back, not even the person's own confirmation link.
FINAL = (BOUNCED, COMPLAINED)
RANK = {status: rank for rank, status in enumerate(STATUSES)}


class Source(Enum):
    """Where a status change comes from."""

    IMPORT = "import"  # a row of a subscriber CSV import
    PROVIDER = "provider"  # a bounce, complaint or unsubscribe reported by the mail provider
    PERSON = "person"  # an unsubscribe link, or staff unsubscribing someone at their request
    CONFIRMATION = "confirmation"  # the link of the double opt-in email


_REPORTED = frozenset({Source.IMPORT, Source.PROVIDER})
_ANYONE_LEAVING = frozenset({Source.IMPORT, Source.PROVIDER, Source.PERSON})

# (from, to) → the sources allowed to make that change; any other change is refused.
TRANSITIONS: dict[tuple[str, str], frozenset[Source]] = {
    (PENDING, ACTIVE): frozenset({Source.IMPORT, Source.CONFIRMATION}),
    (UNSUBSCRIBED, ACTIVE): frozenset({Source.CONFIRMATION}),
    (PENDING, UNSUBSCRIBED): _ANYONE_LEAVING,
    (ACTIVE, UNSUBSCRIBED): _ANYONE_LEAVING,
    (PENDING, BOUNCED): _REPORTED,
    (ACTIVE, BOUNCED): _REPORTED,
    (UNSUBSCRIBED, BOUNCED): _REPORTED,
    (PENDING, COMPLAINED): _REPORTED,
    (ACTIVE, COMPLAINED): _REPORTED,
    (UNSUBSCRIBED, COMPLAINED): _REPORTED,
    (BOUNCED, COMPLAINED): _REPORTED,
}


def allowed(current: str, new: str, source: Source) -> bool:
    """Whether ``source`` may change a subscriber's status from ``current`` to ``new``."""
    return source in TRANSITIONS.get((current, new), ())


def has_left(status: str | None) -> bool:
    """Unsubscribed, bounced or complained."""
    return status in LEFT


def mailable(status: str, paused: bool) -> bool:
    """Receives newsletters: active and not paused."""
    return status == ACTIVE and not paused
