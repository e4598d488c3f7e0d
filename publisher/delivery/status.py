"""What ``publisher status`` shows about deliveries: recent editions with their ledger
counts, paused editions with the reason, why recipients failed, and batches whose outcome
is unknown."""

from __future__ import annotations

from dataclasses import dataclass

from publisher.app import App
from publisher.store.deliveries import (
    BatchInfo,
    EditionDeliveries,
    failure_reasons,
    recent_edition_deliveries,
    unknown_batches,
)


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
        if edition.counts.get("failed"):
            lines.extend(_failure_lines(app, edition))
    for batch in status.unknown_batches:
        when = batch.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        recipients = f"{batch.recipients} recipient{'s' if batch.recipients > 1 else ''}"
        lines.append(
            f"{when}  UNKNOWN batch {batch.id} of edition {batch.edition_id} ({batch.newsletter}): "
            f"{recipients}, {batch.error} — not resent; check the provider's activity, "
            f"then `publisher send {batch.newsletter} --resend-unknown` if they did not get it"
        )
    return lines


def _failure_lines(app: App, edition: EditionDeliveries) -> list[str]:
    """One line per reason: how many recipients, the first subscriber ids (never addresses)."""
    lines = []
    for failure in failure_reasons(app.store, edition.edition_id):
        ids = ", ".join(map(str, failure.subscriber_ids))
        more = ", …" if failure.count > len(failure.subscriber_ids) else ""
        many = "s" if failure.count > 1 else ""
        lines.append(f"    FAILED {failure.count} × {failure.reason} — subscriber{many} {ids}{more}")
    return lines
