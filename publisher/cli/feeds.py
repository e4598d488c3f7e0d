"""feeds build."""

from __future__ import annotations

import click

from publisher.cli import Lazy, main, pass_lazy
from publisher.cli.progress import progress_bar
from publisher.feeds import build_feeds


@main.group()
def feeds() -> None:
    """RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds for the site and every tag."""


@feeds.command("build")
@click.option("--full", is_flag=True, help="Render every feed again (files are still rewritten only if they differ).")
@pass_lazy
def feeds_build(lazy: Lazy, full: bool) -> None:
    """Bring the feeds in [feeds] output_dir up to date with the store.

    Writes all.rss.xml, all.atom.xml, all.json and tags/<slug>.* for the site and every
    tag with published articles, plus index.opml and index.html. Only the feeds touched by
    articles changed since the last build are rendered again, and a file is rewritten only
    when its bytes change. With [feeds] websub_hub set, changed feeds are announced to the hub.
    A file that cannot be written is reported (exit status 1) and tried again by the next
    build; every other feed is still written.

    \b
    Example:
      publisher feeds build
      publisher feeds build --full     # after editing the store by hand, or to check every file
    """
    app = lazy.app
    with progress_bar("Rendering feeds", "feeds") as bar:
        report = build_feeds(app, full=full, progress=bar.progress)
    click.echo(f"{app.config.feeds.output_dir}: {report.summary()}")
    for failure in report.failed:
        click.echo(f"Error: {failure}", err=True)
    if report.failed:
        raise SystemExit(1)
