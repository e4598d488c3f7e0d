"""The figures in words: French labels (terminal and /admin/), terminal lines, CSV rows.

The keys stay those of ``EditionFigures.as_dict`` (stable, for scripts); only labels are French.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from publisher.figures.readers import LABELS as READER_LABELS
from publisher.figures.readers import MEASURES as READER_MEASURES
from publisher.figures.readers import ReaderFigures
from publisher.figures.report import EditionFigures
from publisher.subscribers.spreadsheet import neutralize

LABELS = {
    "recipients": "destinataires",
    "accepted": "acceptés par l’envoi",
    "failed": "échecs à l’envoi",
    "delivered": "délivrés",
    "deferred": "différés (événements)",
    "bounced_hard": "rebonds définitifs",
    "bounced_soft": "rebonds temporaires ou bloqués",
    "spam_reports": "signalés comme indésirables",
    "sendgrid_unsubscribes": "désabonnements via SendGrid",
    "clicks": "clics",
    "prefetches": "ouvertures de liens par des scanners (à part)",
    "opens": "ouvertures (indicatif)",
    "machine_opens": "ouvertures automatiques (à part)",
}
CSV_KEYS = (
    "edition",
    "newsletter",
    "segment",
    "subject",
    "status",
    "sent_at",
    "recipients",
    "accepted",
    "failed",
    "delivered",
    "deferred",
    "bounced_hard",
    "bounced_soft",
    "dropped",
    "spam_reports",
    "sendgrid_unsubscribes",
    "opens",
    "machine_opens",
    "clicks",
    "prefetches",
    "delivered_rate",
    "bounced_rate",
    "click_rate",
)


def percent(rate: float | None) -> str:
    """0.9321 → « 93,2 % » (French style); None → « – »."""
    return "–" if rate is None else f"{rate * 100:.1f} %".replace(".", ",")


def edition_lines(figures: EditionFigures, articles: bool) -> list[str]:
    """The figures of one edition for the terminal; ``articles`` adds its articles ranked by clicks."""
    data = figures.as_dict()
    lines = [
        f"Édition {figures.id} · {figures.newsletter} ({figures.segment}) · {data['sent_at']} · « {figures.subject} »",
        "  " + " · ".join(f"{LABELS[key]} {data[key]}" for key in ("recipients", "accepted", "failed")),
        f"  {LABELS['delivered']} {data['delivered']} ({percent(data['delivered_rate'])}) · "
        + " · ".join(f"{LABELS[key]} {data[key]}" for key in ("deferred", "bounced_hard", "bounced_soft")),
        f"  rejetés par SendGrid {sum(figures.dropped.values())}"
        + "".join(f" · {reason} {count}" for reason, count in sorted(figures.dropped.items()))
        + " · "
        + " · ".join(f"{LABELS[key]} {data[key]}" for key in ("spam_reports", "sendgrid_unsubscribes")),
        f"  {LABELS['clicks']} {figures.clicks} ({percent(data['click_rate'])} des messages acceptés) · "
        f"{LABELS['prefetches']} {figures.prefetches}",
        "  " + " · ".join(f"{LABELS[key]} {data[key]}" for key in ("opens", "machine_opens")),
    ]
    lines += [f"  échec « {reason or 'sans raison'} » : {count}" for reason, count in figures.failures]
    if articles:
        lines += ["  Articles par clics :"]
        lines += [f"  {article.clicks:>7}  {article.title or f'article {article.id}'}" for article in figures.articles]
    return lines


def csv_text(editions: Iterable[EditionFigures]) -> str:
    """One CSV row per edition, with the keys of ``--json`` as header (drops: reason=count;…); a
    subject a spreadsheet would run as a formula is quoted."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_KEYS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for figures in editions:
        row = figures.as_dict()
        row["dropped"] = ";".join(f"{reason}={count}" for reason, count in sorted(figures.dropped.items()))
        row["subject"] = neutralize(row["subject"])
        writer.writerow(row)
    return out.getvalue()


def readers_text(found: ReaderFigures, as_csv: bool) -> str:
    """Readers over time, one line per week: a terminal table in French, or CSV with stable keys."""
    out = io.StringIO()
    if as_csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["week", *READER_MEASURES])
    else:
        out.write("Semaine du  " + "  ".join(READER_LABELS[m] for m in READER_MEASURES) + "\n")
    for index, week in enumerate(found.weeks):
        counts = [found.per_week[measure][index] for measure in READER_MEASURES]
        if as_csv:
            writer.writerow([week.isoformat(), *counts])
        else:
            widths = [len(READER_LABELS[m]) for m in READER_MEASURES]
            out.write(f"{week:%d/%m/%Y}  " + "  ".join(f"{n:>{w}}" for n, w in zip(counts, widths, strict=True)) + "\n")
    return out.getvalue().rstrip("\n")
