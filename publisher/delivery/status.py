"""What ``publisher status`` shows about deliveries: recent editions with their ledger
counts, paused editions with the reason, and batches whose outcome is unknown."""

from __future__ import annotations

from dataclasses import dataclass

from publisher.app import App
from publisher.store.deliveries import BatchInfo, EditionDeliveries, recent_edition_deliveries, unknown_batches


@dataclass(frozen=True)
class DeliveryStatus:
    editions: list[EditionDeliveries]
    unknown_batches: list[BatchInfo]


def delivery_status(app: App, limit: int = 10) -> DeliveryStatus:
    return DeliveryStatus(recent_edition_deliveries(app.store, limit), unknown_batches(app.store, limit))


def status_lines(app: App, limit: int = 10) -> list[str]:
    """The deliveries part of ``publisher status``, as lines (times in the site time zone)."""
    status = delivery_status(app, limit)
    tz = app.config.site.tz
    lines = []
    for edition in status.editions:
        when = edition.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        counts = ", ".join(f"{count} {name}" for name, count in edition.counts.items() if count) or "no recipients"
        what = f"edition {edition.edition_id} {edition.newsletter}/{edition.segment}"
        line = f"{when}  {what} {edition.edition_status}: {counts}"
        if edition.edition_status == "paused" and edition.status_reason:
            line += f"  PAUSED: {edition.status_reason} (resume: publisher send {edition.newsletter})"
        lines.append(line)
    for batch in status.unknown_batches:
        when = batch.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        lines.append(
            f"{when}  UNKNOWN batch {batch.id} of edition {batch.edition_id} ({batch.newsletter}): "
            f"{batch.recipients} recipients, {batch.error} — not resent; check the provider's activity, "
            f"then `publisher send {batch.newsletter} --resend-unknown` if they did not get it"
        )
    return lines
