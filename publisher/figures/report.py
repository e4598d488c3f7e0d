"""The figures of editions, as ``publisher stats`` and the admin pages show them.

One ``EditionFigures`` per edition: what the ledger says (recipients, accepted by the transport,
failed by reason) and what the counters say (publisher.store.figures: outcomes from SendGrid's
Event Webhook, clicks per article). ``as_dict`` gives the stable keys of ``--json``.
NotFoundError for an edition that did not go out or a newsletter not in config.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from publisher.app import App
from publisher.clock import to_db
from publisher.errors import NotFoundError
from publisher.store import figures

# The outcomes of the Event Webhook, in funnel order (drops are per reason: ``dropped``).
OUTCOMES = (
    "delivered",
    "deferred",
    "bounced_hard",
    "bounced_soft",
    "spam_reports",
    "sendgrid_unsubscribes",
    "opens",
    "machine_opens",
)
DROPPED = "dropped."
CLICKS, PREFETCHES = "clicks", "prefetches"


@dataclass(frozen=True)
class ArticleFigures:
    id: int
    title: str
    clicks: int
    prefetches: int


@dataclass(frozen=True)
class EditionFigures:
    id: int
    newsletter: str
    segment: str
    subject: str
    status: str
    sent_at: datetime
    recipients: int
    accepted: int
    failed: int
    failures: tuple[tuple[str, int], ...]
    outcomes: dict[str, int]
    dropped: dict[str, int]
    articles: tuple[ArticleFigures, ...]

    @property
    def clicks(self) -> int:
        return sum(article.clicks for article in self.articles)

    @property
    def prefetches(self) -> int:
        return sum(article.prefetches for article in self.articles)

    def rate(self, count: int) -> float | None:
        """``count`` per accepted message, or None before anything was accepted."""
        return round(count / self.accepted, 4) if self.accepted else None

    @property
    def bounced(self) -> int:
        return self.outcomes["bounced_hard"] + self.outcomes["bounced_soft"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "edition": self.id,
            "newsletter": self.newsletter,
            "segment": self.segment,
            "subject": self.subject,
            "status": self.status,
            "sent_at": to_db(self.sent_at),
            "recipients": self.recipients,
            "accepted": self.accepted,
            "failed": self.failed,
            "failures": [{"reason": reason, "count": count} for reason, count in self.failures],
            **self.outcomes,
            "dropped": self.dropped,
            "clicks": self.clicks,
            "prefetches": self.prefetches,
            "delivered_rate": self.rate(self.outcomes["delivered"]),
            "bounced_rate": self.rate(self.bounced),
            "click_rate": self.rate(self.clicks),
            "articles": [
                {"article": a.id, "title": a.title, "clicks": a.clicks, "prefetches": a.prefetches}
                for a in self.articles
            ],
        }


def edition_figures(app: App, edition_id: int, newsletter: str | None = None) -> EditionFigures:
    """The figures of one edition that went out (of ``newsletter`` when given); NotFoundError otherwise."""
    row = figures.find_edition(app.store, edition_id)
    if row is None or row.status not in ("sending", "paused", "sent") or newsletter not in (None, row.newsletter):
        raise NotFoundError(f"edition {edition_id}: no such edition was sent")
    return _figures(app, row)


def newsletter_figures(
    app: App, newsletter: str | None = None, since: datetime | None = None, limit: int = 20
) -> list[EditionFigures]:
    """The figures of the last ``limit`` editions that went out (of one newsletter), newest first."""
    if newsletter is not None and newsletter not in app.config.newsletters:
        raise NotFoundError(f"newsletter {newsletter!r} is not in config.toml [newsletters]")
    return [_figures(app, row) for row in figures.sent_editions(app.store, newsletter, since, limit)]


def _figures(app: App, row: figures.EditionRow) -> EditionFigures:
    store = app.store
    ledger = figures.ledger_counts(store, row.id)
    counts = figures.edition_counts(store, row.id)
    per_article = figures.article_counts(store, row.id)
    clicks, prefetches = per_article.get(CLICKS, {}), per_article.get(PREFETCHES, {})
    articles = [
        ArticleFigures(article.id, article.title, clicks.get(article.id, 0), prefetches.get(article.id, 0))
        for article in figures.edition_articles(store, row.id)
    ]
    return EditionFigures(
        id=row.id,
        newsletter=row.newsletter,
        segment=row.segment,
        subject=row.subject,
        status=row.status,
        sent_at=row.sent_at,
        recipients=sum(ledger.values()),
        accepted=ledger.get("sent", 0),
        failed=ledger.get("failed", 0),
        failures=tuple(figures.failures_by_reason(store, row.id)),
        outcomes={measure: counts.get(measure, 0) for measure in OUTCOMES},
        dropped={key.removeprefix(DROPPED): n for key, n in counts.items() if key.startswith(DROPPED)},
        articles=tuple(sorted(articles, key=lambda article: -article.clicks)),
    )
