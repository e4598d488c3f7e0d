"""publisher stats."""

from __future__ import annotations

import json
from datetime import datetime

import click

from publisher.cli import Lazy, main, pass_lazy
from publisher.figures.readers import reader_figures
from publisher.figures.report import edition_figures, newsletter_figures
from publisher.figures.text import csv_text, edition_lines, readers_text


@main.command()
@click.argument("slug", required=False)
@click.option("--edition", "edition_id", type=click.IntRange(min=1), metavar="ID", help="Only this edition.")
@click.option(
    "--since", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE", help="Editions created since DATE (YYYY-MM-DD)."
)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="At most this many editions.")
@click.option("--readers", is_flag=True, help="Readers over time, week by week, instead of editions.")
@click.option("--json", "as_json", is_flag=True, help="JSON with stable keys (for scripts).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, one row per edition.")
@pass_lazy
def stats(
    lazy: Lazy,
    slug: str | None,
    edition_id: int | None,
    since: datetime | None,
    limit: int,
    readers: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Figures of the last editions sent: delivered, bounced, clicks per article (aggregate only).

    \b
    Example:
      publisher stats
      publisher stats hebdo --since 2026-11-01
      publisher stats --edition 42 --json
      publisher stats --readers --since 2026-01-01
    """
    if as_json and as_csv:
        raise click.UsageError("--json and --csv: choose one")
    app = lazy.app
    start = since.replace(tzinfo=app.config.site.tz) if since else None
    if readers:
        found = reader_figures(app, since=start)
        click.echo(
            json.dumps(found.as_dict(), ensure_ascii=False, indent=2) if as_json else readers_text(found, as_csv)
        )
        return
    editions = [edition_figures(app, edition_id, slug)] if edition_id else newsletter_figures(app, slug, start, limit)
    if as_json:
        click.echo(json.dumps([figures.as_dict() for figures in editions], ensure_ascii=False, indent=2))
    elif as_csv:
        click.echo(csv_text(editions), nl=False)
    elif not editions:
        click.echo("Aucune édition envoyée" + (f" pour {slug}" if slug else "") + ".")
    else:
        for figures in editions:
            click.echo("\n".join(edition_lines(figures, articles=edition_id is not None)))
