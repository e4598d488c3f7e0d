"""subscribers import|export|show|unsubscribe|forget|purge-pending, segments list|show."""

from __future__ import annotations

import json
from pathlib import Path

import click

from publisher.cli import FilePath, Lazy, echo_warnings, main, pass_lazy
from publisher.cli.progress import lines_in, progress_bar
from publisher.subscribers import export as subscriber_export
from publisher.subscribers import lifecycle as subscriber_ops
from publisher.subscribers import segments as segment_queries
from publisher.subscribers.csv_import import import_csv
from publisher.typos import segment_warnings, segments_warnings, stored_attributes


@main.group()
def subscribers() -> None:
    """Import, export, inspect and erase subscribers."""


@subscribers.command("import")
@click.argument("file", type=FilePath(exists=True))
@click.option("--dry-run", is_flag=True, help="Check and report everything, write nothing.")
@pass_lazy
def subscribers_import(lazy: Lazy, file: Path, dry_run: bool) -> None:
    """Import subscribers from a CSV file (header row; email required).

    Columns: email, name, locale, interests (tag names or slugs separated by |), status,
    consent_source, consent_at, also under their French and English names (Courriel, Prénom +
    Nom, Thèmes…); any other column is an attribute (bassin, role…). UTF-8 or Windows-1252;
    Excel's sep=; line is understood. --dry-run shows how each column is read. Addresses
    are normalised and duplicates merged; nobody who unsubscribed, bounced, complained or was
    forgotten is re-activated (such rows are reported as skipped). Bad rows are reported as
    FILE:LINE: field: reason; the exit status is 1 if any row was rejected.

    \b
    Example:
      publisher subscribers import contacts.csv --dry-run
      publisher subscribers import contacts.csv
    """
    with progress_bar("Importing subscribers", "rows", max(lines_in(file) - 1, 1)) as bar:
        report = import_csv(lazy.app, file, dry_run=dry_run, on_rows=bar.advance)
    for note in sorted([*report.rejected, *report.skipped, *report.warnings], key=lambda note: note.line):
        click.echo(str(note), err=True)
    for line in report.file_lines():
        click.echo(line)
    click.echo(report.summary())
    if report.rejected:
        raise SystemExit(1)


@subscribers.command("export")
@click.option("--segment", metavar="NAME", help="Only the subscribers this segment's filter selects (any status).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--out", type=FilePath(), help="Write to this file (default stdout).")
@pass_lazy
def subscribers_export(lazy: Lazy, segment: str | None, fmt: str, out: Path | None) -> None:
    """Export subscribers as CSV (importable again) or JSON Lines.

    \b
    Example:
      publisher subscribers export --segment apprentissage-tours --format csv --out tours.csv
    """
    if out is None:
        count = subscriber_export.export(lazy.app, segment, fmt)  # type: ignore[arg-type]
    else:
        count = subscriber_export.export_file(lazy.app, segment, fmt, out)  # type: ignore[arg-type]
    click.echo(f"{count} subscribers exported", err=True)


@subscribers.command("show")
@click.argument("email")
@pass_lazy
def subscribers_show(lazy: Lazy, email: str) -> None:
    """Everything held about one address, as JSON (for a GDPR access request).

    \b
    Example:
      publisher subscribers show marie.dupont@example.org
    """
    click.echo(json.dumps(subscriber_ops.show(lazy.app, email), ensure_ascii=False, indent=2))


@subscribers.command("unsubscribe")
@click.argument("email")
@pass_lazy
def subscribers_unsubscribe(lazy: Lazy, email: str) -> None:
    """Unsubscribe an address at once (recorded in its history).

    \b
    Example:
      publisher subscribers unsubscribe marie.dupont@example.org
    """
    changed = subscriber_ops.unsubscribe_address(lazy.app, email)
    click.echo(f"{email}: unsubscribed" if changed else f"{email}: already not subscribed, nothing changed")


@subscribers.command("forget")
@click.argument("email")
@pass_lazy
def subscribers_forget(lazy: Lazy, email: str) -> None:
    """Erase everything about an address (GDPR erasure); keep only a keyed hash so it is never
    imported or mailed again. Needs PUBLISHER_SECRET.

    \b
    Example:
      publisher subscribers forget marie.dupont@example.org
    """
    result = subscriber_ops.forget(lazy.app, email)
    if result.found:
        click.echo(f"{email}: erased; only a keyed hash is kept so the address is never imported again")
    else:
        click.echo(f"{email}: not stored; added to the forget list so it is never imported")


@subscribers.command("purge-pending")
@click.option("--days", type=click.IntRange(min=0), help="Older than this (default [subscribers] pending_days).")
@pass_lazy
def subscribers_purge_pending(lazy: Lazy, days: int | None) -> None:
    """Delete pending subscribers who did not confirm in time.

    \b
    Example:
      publisher subscribers purge-pending --days 7
    """
    click.echo(f"{subscriber_ops.purge_pending(lazy.app, days)} pending subscribers purged")


@main.group()
def segments() -> None:
    """List segments and see who is in them."""


@segments.command("list")
@pass_lazy
def segments_list(lazy: Lazy) -> None:
    """Every segment with its description and how many subscribers receive it.

    Tags no article has, and attributes or values no subscriber has, are reported as warnings
    with the closest spelling stored; a segment naming an unknown tag counts "-".

    \b
    Example:
      publisher segments list
    """
    summaries = segment_queries.list_segments(lazy.app)
    if not summaries:
        click.echo("no segments in config.toml")
    width = max((len(summary.name) for summary in summaries), default=0)
    for summary in summaries:
        members = "-" if summary.members is None else summary.members
        click.echo(f"{summary.name:<{width}}  {members:>8}  {summary.description}")
    echo_warnings(segments_warnings(lazy.app))


@segments.command("values")
@click.argument("attribute", required=False)
@pass_lazy
def segments_values(lazy: Lazy, attribute: str | None) -> None:
    """The subscriber attributes stored (the CSV's other columns), each value with how many
    subscribers have it (any status): what a segment's `attributes` can name.

    \b
    Example:
      publisher segments values
      publisher segments values bassin
    """
    rows = stored_attributes(lazy.app, attribute)
    if not rows:
        click.echo("no attributes stored (columns of the subscribers CSV other than email, name, locale…)")
        return
    width = max(len("ATTRIBUTE"), *(len(name) for name, _, _ in rows))
    value_width = max(len("VALUE"), *(len(value) for _, value, _ in rows))
    click.echo(f"{'ATTRIBUTE':<{width}}  {'VALUE':<{value_width}}  SUBSCRIBERS")
    for name, value, count in rows:
        click.echo(f"{name:<{width}}  {value:<{value_width}}  {count:>11}")


@segments.command("show")
@click.argument("name")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many members to list.")
@pass_lazy
def segments_show(lazy: Lazy, name: str, limit: int) -> None:
    """A segment's member count and its first members (those who receive newsletters).

    \b
    Example:
      publisher segments show apprentissage-tours --limit 5
    """
    app = lazy.app
    segment = segment_queries.segment_config(app, name)
    echo_warnings(segment_warnings(app, name))
    members = segment_queries.count_members(app, name)
    matches = segment_queries.count_matches(app, name)
    click.echo(f"{name}: {segment.description}".rstrip(": "))
    click.echo(f"{members} receive newsletters ({matches} match the filter, any status)")
    for recipient in segment_queries.first_members(app, name, limit):
        click.echo(f"{recipient.subscriber_id:>8}  {recipient.email}  {recipient.name}  [{recipient.locale}]")
