"""newsletters list | preview | history."""

from __future__ import annotations

from pathlib import Path

import click

from publisher.cli import FilePath, Lazy, echo_warnings, main, pass_lazy
from publisher.digests import write_preview
from publisher.french import count_of
from publisher.store.digests import recent_plans
from publisher.typos import newsletter_warnings, newsletters_warnings

GMAIL_CLIP_BYTES = 102 * 1024


@main.group()
def newsletters() -> None:
    """Newsletters declared in config.toml: list them, preview the next edition."""


@newsletters.command("list")
@pass_lazy
def newsletters_list(lazy: Lazy) -> None:
    """List the newsletters: slug, title, segment, schedule and article selection.

    Tags no article has, and segment attributes or values no subscriber has, are reported
    as warnings with the closest spelling stored.

    \b
    Example:
      publisher newsletters list
    """
    config = lazy.app.config
    if not config.newsletters:
        click.echo("no newsletters in config.toml")
        return
    rows = [("SLUG", "TITLE", "SEGMENT", "SCHEDULE", "SELECTION")]
    for slug, newsletter in config.newsletters.items():
        selection = newsletter.selection
        if selection == "tags":
            selection += ": " + ", ".join(newsletter.tags)
        rows.append((slug, newsletter.title, newsletter.segment, newsletter.schedule, selection))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4])
    echo_warnings(newsletters_warnings(lazy.app))


@newsletters.command("preview")
@click.argument("slug")
@click.option("--segment", metavar="NAME", help="Preview for this segment (default: the newsletter's).")
@click.option("--email", metavar="EMAIL", help="As this subscriber would get it (their interests and links).")
@click.option(
    "--out",
    type=FilePath(),
    metavar="FILE.html",
    help="Where to write the HTML; the text part goes beside it as FILE.txt (default: previews/SLUG.html).",
)
@pass_lazy
def newsletters_preview(lazy: Lazy, slug: str, segment: str | None, email: str | None, out: Path | None) -> None:
    """Render the next edition of a newsletter to FILE.html and FILE.txt, sending nothing.

    The preview holds the articles that are new for the segment; for its first edition, those
    its first scheduled send will hold (one schedule period back, or first_edition_since).
    When nothing is new it shows the latest ones instead. Without --email, a sample subscriber following every topic.

    \b
    Example:
      publisher newsletters preview hebdo --out /tmp/hebdo.html
      publisher newsletters preview mes-sujets --email lea.martin@example.org
    """
    echo_warnings(newsletter_warnings(lazy.app, slug, segment))
    result = write_preview(lazy.app, slug, segment, email, out)
    digest = result.digest
    size = len(digest.html.encode())
    click.echo(f"subject:   {digest.subject}")
    click.echo(f"preheader: {digest.preheader}")
    articles = count_of(len(digest.article_ids), "article", "articles", "en")
    if not digest.fresh:
        articles += " (nothing new for this edition: showing the latest articles)"
    click.echo(f"articles:  {articles}")
    if digest.first_edition_since is not None:
        since = digest.first_edition_since.astimezone(lazy.app.config.site.tz).strftime("%Y-%m-%d %H:%M %Z")
        click.echo(f"first edition: articles published since {since}")
    click.echo(f"html:      {result.html_path} ({size / 1024:.1f} KB)")
    click.echo(f"text:      {result.text_path}")
    if size > GMAIL_CLIP_BYTES:
        click.echo(f"warning: the HTML is over {GMAIL_CLIP_BYTES // 1024} KB: Gmail will clip it", err=True)


@newsletters.command("history")
@click.argument("slug", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many plans.")
@pass_lazy
def newsletters_history(lazy: Lazy, slug: str | None, limit: int) -> None:
    """Show the latest digest plans: editions compiled, or nothing new.

    \b
    Example:
      publisher newsletters history hebdo --limit 5
    """
    app = lazy.app
    tz = app.config.site.tz
    plans = recent_plans(app.store, slug, limit)
    if not plans:
        click.echo("no digest planned yet")
    for plan in plans:
        when = plan.planned_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        line = f"{when}  {plan.newsletter} → {plan.segment}  {plan.status}"
        if plan.candidate_count:
            counts = (
                count_of(plan.candidate_count, "new article", "new articles", "en"),
                count_of(plan.edition_count, "edition", "editions", "en"),
                count_of(plan.recipient_count, "recipient", "recipients", "en"),
            )
            line += ": " + ", ".join(counts)
        click.echo(line)
