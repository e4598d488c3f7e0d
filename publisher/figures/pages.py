"""What the admin's figures pages show, charts included: built here, rendered by publisher.web.

``readers_page``: readers over time, week by week, and by consent source.
``newsletter_page``: the last editions of a newsletter, a chart of their delivered, bounced and
clicked rates and the text table beside it. ``edition_page``: one edition's funnel and its
articles ranked by clicks. Rates are per message accepted by the transport; clicks are not
unique readers (nothing is kept per reader), so a click rate above 100 % is possible.
"""

from __future__ import annotations

from dataclasses import dataclass

from publisher.app import App
from publisher.figures.charts import Bar, BarGroup, bar_groups, lines
from publisher.figures.readers import LABELS as READER_LABELS
from publisher.figures.readers import MEASURES as READER_MEASURES
from publisher.figures.readers import ReaderFigures, reader_figures
from publisher.figures.report import EditionFigures, edition_figures, newsletter_figures
from publisher.figures.text import LABELS, percent

RATES = (("delivered_rate", "délivrés"), ("bounced_rate", "rebonds"), ("click_rate", "clics"))


@dataclass(frozen=True)
class NewsletterPage:
    slug: str
    title: str
    editions: list[EditionFigures]
    chart: str


@dataclass(frozen=True)
class EditionPage:
    figures: EditionFigures
    funnel: list[tuple[str, int, str]]  # (label, count, share of recipients as text)
    funnel_chart: str
    articles_chart: str


def newsletter_page(app: App, slug: str, limit: int = 12) -> NewsletterPage:
    editions = newsletter_figures(app, slug, limit=limit)
    groups = [
        BarGroup(
            f"Édition {figures.id} · {figures.sent_at.astimezone(app.config.site.tz):%d/%m/%Y}",
            _rate_bars(figures),
        )
        for figures in editions
    ]
    title = app.config.newsletters[slug].title
    return NewsletterPage(slug, title, editions, bar_groups(f"Dernières éditions de {title}", groups))


def _rate_bars(figures: EditionFigures) -> list[Bar]:
    data = figures.as_dict()
    return [Bar(label, data[key] or 0.0, percent(data[key])) for key, label in RATES]


def _short(text: str, limit: int = 38) -> str:
    """A label that fits on one line of a chart at 375 px (the table beside it has it whole)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def edition_page(app: App, edition_id: int) -> EditionPage:
    figures = edition_figures(app, edition_id)
    data = figures.as_dict()
    steps = [
        (LABELS["recipients"], figures.recipients),
        (LABELS["accepted"], figures.accepted),
        (LABELS["delivered"], data["delivered"]),
        ("rebonds", figures.bounced),
        (LABELS["spam_reports"], data["spam_reports"]),
        (LABELS["clicks"], figures.clicks),
    ]
    whole = figures.recipients or 1
    funnel = [(label, count, percent(count / whole)) for label, count in steps]
    top = max((article.clicks for article in figures.articles), default=0) or 1
    return EditionPage(
        figures=figures,
        funnel=funnel,
        funnel_chart=bar_groups(
            f"Parcours de l’édition {figures.id}",
            [BarGroup("", [Bar(label, count / whole, str(count)) for label, count in steps])],
        ),
        articles_chart=bar_groups(
            f"Articles de l’édition {figures.id} par clics",
            [
                BarGroup(
                    "",
                    [
                        Bar(_short(a.title or f"article {a.id}"), a.clicks / top, str(a.clicks))
                        for a in figures.articles
                    ],
                )
            ],
        ),
    )


@dataclass(frozen=True)
class ReadersPage:
    figures: ReaderFigures
    chart: str
    labels: dict[str, str]
    measures: tuple[str, ...]


def readers_page(app: App) -> ReadersPage:
    found = reader_figures(app)
    steps = [f"{week:%d/%m/%Y}" for week in found.weeks]
    series = {READER_LABELS[measure]: found.per_week[measure] for measure in READER_MEASURES}
    return ReadersPage(found, lines("Lecteurs, semaine par semaine", steps, series), READER_LABELS, READER_MEASURES)
