"""Readers over time: sign-ups, confirmations, unsubscribes, bounces and complaints per week and
by consent source, counted from the subscribers' status history (publisher.store.figures).

A sign-up is a subscriber who becomes pending or active from any other state (the form, an
import, a come-back); a confirmation, pending → active (double opt-in); an unsubscribe, a
bounce or a complaint, a change to that status (a subscriber imported with it is none). Weeks start on Monday,
in UTC. The history of a subscriber who was forgotten (erased) is gone with them, so past
weeks can shrink after an erasure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from publisher.app import App
from publisher.store import figures

MEASURES = ("sign_ups", "confirmations", "unsubscribes", "bounces", "complaints")
LABELS = {
    "sign_ups": "inscriptions",
    "confirmations": "confirmations",
    "unsubscribes": "désabonnements",
    "bounces": "adresses en erreur",
    "complaints": "plaintes",
}
NO_SOURCE = "(non renseignée)"


@dataclass(frozen=True)
class ReaderFigures:
    weeks: list[date]
    per_week: dict[str, list[int]]  # measure → one count per week
    per_source: dict[str, dict[str, int]]  # consent source → measure → count over the period

    def as_dict(self) -> dict[str, Any]:
        return {
            "weeks": [
                {"week": week.isoformat(), **{m: self.per_week[m][i] for m in MEASURES}}
                for i, week in enumerate(self.weeks)
            ],
            "by_consent_source": self.per_source,
        }


def reader_figures(app: App, weeks: int = 26, since: datetime | None = None) -> ReaderFigures:
    """The last ``weeks`` weeks (or every week since ``since``), the current one included."""
    today = app.clock.now().date()
    this_monday = today - timedelta(days=today.weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    if since is not None:
        first = since.date() - timedelta(days=since.date().weekday())
    start = datetime(first.year, first.month, first.day, tzinfo=app.clock.now().tzinfo)
    all_weeks = [first + timedelta(weeks=n) for n in range((this_monday - first).days // 7 + 1)]
    index = {week.isoformat(): n for n, week in enumerate(all_weeks)}
    per_week = {measure: [0] * len(all_weeks) for measure in MEASURES}
    per_source: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for week, measure, source, count in figures.reader_changes(app.store, start):
        if week in index:
            per_week[measure][index[week]] += count
        per_source[source or NO_SOURCE][measure] += count
    return ReaderFigures(all_weeks, per_week, dict(sorted(per_source.items())))
