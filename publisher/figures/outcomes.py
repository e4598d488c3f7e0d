"""Which figure of its edition an Event Webhook event moves: one stable key per outcome.

``processed`` moves none (what SendGrid accepted is the ledger's 'sent'); ``open`` and
``click`` are not delivery outcomes (clicks: publisher.figures.clicks; opens, counted only for
a newsletter with ``track_opens``: OPENS, and MACHINE_OPENS for SendGrid's ``sg_machine_open``).
A drop keeps its reason, as one of SendGrid's documented reasons or ``other``, so the keys stay
few whatever comes in.
"""

from __future__ import annotations

OPENS, MACHINE_OPENS = "opens", "machine_opens"
_MEASURES = {
    "delivered": "delivered",
    "deferred": "deferred",
    "spamreport": "spam_reports",
    "unsubscribe": "sendgrid_unsubscribes",
    "group_unsubscribe": "sendgrid_unsubscribes",
}
# SendGrid's drop reasons (docs: Event Webhook reference, "dropped") → the end of the key.
DROP_REASONS = {
    "bounced address": "bounced_address",
    "invalid": "invalid",
    "invalid smtpapi header": "invalid_smtpapi_header",
    "spam reporting address": "spam_reporting_address",
    "unsubscribed address": "unsubscribed_address",
    "recipient list over package quota": "over_quota",
}


def outcome_measure(kind: str, bounce_type: str | None, reason: str | None) -> str | None:
    """The key of the edition figure an event of this kind (bounce type, reason) adds one to, or None."""
    if kind == "bounce":
        return "bounced_soft" if bounce_type == "blocked" else "bounced_hard"
    if kind == "dropped":
        return "dropped." + DROP_REASONS.get((reason or "").strip().lower(), "other")
    return _MEASURES.get(kind)
