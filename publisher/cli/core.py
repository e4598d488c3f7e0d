"""init, demo load, articles import|list, run-once, status."""

from __future__ import annotations

import json
from pathlib import Path

import click

from publisher.article_import import expected_records, import_files
from publisher.cli import FilePath, Lazy, main, pass_lazy
from publisher.cli.progress import progress_bar
from publisher.config import load_config
from publisher.config.secrets import create_secrets_file
from publisher.cycle import run_once
from publisher.delivery.status import status_lines
from publisher.demo import load_demo
from publisher.shutdown import stopping_on_signals
from publisher.store import Store
from publisher.store.articles import find_tag, list_articles
from publisher.store.runs import recent_runs
from publisher.tokens import require_strong_secret_to_send


@main.command()
@pass_lazy
def init(lazy: Lazy) -> None:
    """Create the store if needed and apply every pending migration; create the secrets file
    (secrets.env beside config.toml, mode 0600) when it is missing, and print its admin password
    once.

    \b
    Example:
      publisher init
    """
    config = load_config(lazy.path)
    with Store(config.store.path) as store:
        applied = store.migrate()
    if applied:
        click.echo(f"{config.store.path}: applied migrations {', '.join(applied)}")
    else:
        click.echo(f"{config.store.path}: up to date")
    created = create_secrets_file(config.source)
    if created:
        path, password = created
        click.echo(f"{path}: created with a random PUBLISHER_SECRET (mode 0600; keep it private, never commit it)")
        click.echo(f"/admin/ password (user {config.service.admin_user}), shown only now: {password}")


@main.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
@pass_lazy
def demo_load(lazy: Lazy) -> None:
    """Load the demo articles and subscribers (loading twice changes nothing).

    \b
    Example:
      publisher init && publisher demo load
    """
    report = load_demo(lazy.app)
    click.echo(f"articles: {_import_summary(report.articles.counts, report.articles.rejected)}")
    click.echo(f"subscribers: {report.subscribers.summary()}")


@main.group()
def articles() -> None:
    """Import and list articles."""


@articles.command("import")
@click.argument("files", nargs=-1, required=True, type=FilePath(exists=True))
@pass_lazy
def articles_import(lazy: Lazy, files: tuple[Path, ...]) -> None:
    """Import articles from JSON Lines (.jsonl) or RSS/Atom (.rss, .atom, .xml) files.

    Re-importing is safe: articles are matched by guid (default: url), unchanged ones are
    left alone and edited ones updated. Bad records are reported as FILE:LINE: field: reason,
    every good record is imported, and the exit status is 1 if anything was rejected.

    \b
    Example:
      publisher articles import export.jsonl ancien-site.rss
    """
    app = lazy.app
    with progress_bar("Importing articles", "records", expected_records(list(files))) as bar:
        report = import_files(app.store, list(files), app.config.site.language, on_record=bar.advance)
    for error in report.rejected:
        click.echo(str(error), err=True)
    click.echo(_import_summary(report.counts, report.rejected))
    if report.rejected:
        raise SystemExit(1)


def _import_summary(counts, rejected) -> str:
    return (
        f"{counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged, {len(rejected)} rejected"
    )


@articles.command("list")
@click.option("--tag", "tag_slug", metavar="SLUG", help="Only articles with this tag slug.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_lazy
def articles_list(lazy: Lazy, tag_slug: str | None, limit: int, as_json: bool) -> None:
    """List the newest published articles.

    \b
    Example:
      publisher articles list --tag bassin-d-emploi --limit 5
    """
    app = lazy.app
    if tag_slug is not None and find_tag(app.store, tag_slug) is None:
        raise click.ClickException(f"--tag: no tag with slug {tag_slug!r}")
    tz = app.config.site.tz
    for article in list_articles(app.store, tag_slug, limit):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "guid": article.guid,
                        "url": article.url,
                        "title": article.title,
                        "published_at": article.published_at.astimezone(tz).isoformat(),
                        "updated_at": article.updated_at.astimezone(tz).isoformat(),
                        "author": article.author,
                        "tags": [tag.name for tag in article.tags],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            when = article.published_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            tags = ", ".join(tag.name for tag in article.tags)
            click.echo(f"{when}  {article.title}  [{tags}]")


@main.command("run-once")
@pass_lazy
def run_once_command(lazy: Lazy) -> None:
    """Run one publishing cycle: every job of `publisher schedule`, once.

    It builds the feeds, sends each newsletter whose schedule time has come (a newsletter
    just added waits for its first scheduled time: `publisher send SLUG` sends now), deletes
    unconfirmed sign-ups and forgets old webhook event ids. A job that fails is reported and
    the next one still runs; the exit status is then 1 and `publisher status` shows the run
    as failed with the reason.

    \b
    Example:
      publisher run-once
    """
    require_strong_secret_to_send(lazy.app)
    with stopping_on_signals():  # a send in progress stops after recording its batches on the wire
        results = run_once(lazy.app)
    for result in results:
        if result.failed:
            click.echo(f"Error: {result.name}: {result.summary}", err=True)
        else:
            click.echo(f"{result.name}: {result.summary}")
    if any(result.failed for result in results):
        raise SystemExit(1)


@main.command()
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1), help="How many runs.")
@pass_lazy
def status(lazy: Lazy, limit: int) -> None:
    """Show recent runs with their outcome and errors, recent editions with their delivery
    counts, paused editions (with the reason) and batches whose outcome is unknown.

    \b
    Example:
      publisher status --limit 5
    """
    app = lazy.app
    tz = app.config.site.tz
    runs = recent_runs(app.store, limit)
    if not runs:
        click.echo("no runs yet")
    for run in runs:
        when = run.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{when}  {run.kind:<10} {run.status:<7} {run.summary}"
        click.echo(line + (f"  error: {run.error}" if run.error else ""))
    deliveries = status_lines(app, limit)
    click.echo("deliveries:" if deliveries else "deliveries: none yet")
    for line in deliveries:
        click.echo(f"  {line}")
