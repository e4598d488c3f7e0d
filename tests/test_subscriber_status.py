"""The lifecycle rules table of publisher.subscribers.status."""

from publisher.subscribers.status import (
    LEFT,
    RANK,
    STATUSES,
    TRANSITIONS,
    Source,
    allowed,
    has_left,
    mailable,
)


def changes_allowed_from(source: Source) -> set[tuple[str, str]]:
    return {(old, new) for old in STATUSES for new in STATUSES if allowed(old, new, source)}


def test_a_provider_only_moves_towards_a_stronger_reason_to_leave():
    assert changes_allowed_from(Source.PROVIDER) == {
        (old, new) for old in STATUSES for new in LEFT if RANK[new] > RANK[old]
    }


def test_an_import_leaves_like_a_provider_and_confirms_pending_subscribers():
    assert changes_allowed_from(Source.IMPORT) == changes_allowed_from(Source.PROVIDER) | {("pending", "active")}


def test_a_person_can_only_unsubscribe_who_has_not_left():
    assert changes_allowed_from(Source.PERSON) == {("pending", "unsubscribed"), ("active", "unsubscribed")}


def test_only_a_confirmation_link_brings_back_who_unsubscribed():
    assert changes_allowed_from(Source.CONFIRMATION) == {("pending", "active"), ("unsubscribed", "active")}
    assert [source for source in Source if allowed("unsubscribed", "active", source)] == [Source.CONFIRMATION]


def test_nothing_brings_back_who_bounced_or_complained():
    assert all(TRANSITIONS.values())
    assert [change for change in TRANSITIONS if change[0] in ("bounced", "complained")] == [("bounced", "complained")]
    assert not any(allowed(old, old, source) for old in STATUSES for source in Source)


def test_who_may_be_mailed():
    assert [status for status in STATUSES if mailable(status, paused=False)] == ["active"]
    assert not mailable("active", paused=True)
    assert [status for status in STATUSES if has_left(status)] == ["unsubscribed", "bounced", "complained"]
    assert not has_left(None)
