"""publisher send."""

from __future__ import annotations

import click

from publisher.cli import Lazy, echo_warnings, main, pass_lazy
from publisher.cli.progress import progress_bar
from publisher.delivery.manual_send import send_as_run
from publisher.delivery.send import dry_run, send_test_copy
from publisher.french import count_of
from publisher.shutdown import stop_requested, stopping_on_signals
from publisher.tokens import require_strong_secret_to_send
from publisher.typos import newsletter_warnings


@main.command()
@click.argument("slug")
@click.option("--segment", metavar="NAME", help="Send to this segment instead of the newsletter's own.")
@click.option(
    "--dry-run", "dry_run_", is_flag=True, help="Show the editions, recipient counts and a sample; send nothing."
)
@click.option("--test-to", metavar="EMAIL", help="Send one copy to this address only (the ledger is untouched).")
@click.option(
    "--force",
    is_flag=True,
    help="Take the send over from another process still marked as sending this newsletter "
    "(e.g. one on another host that is gone).",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Resend batches whose outcome is unknown (their recipients may get the message twice).",
)
@click.option("--retry-failed", is_flag=True, help="Try failed recipients again (e.g. after fixing the config).")
@pass_lazy
def send(
    lazy: Lazy,
    slug: str,
    segment: str | None,
    dry_run_: bool,
    test_to: str | None,
    force: bool,
    resend_unknown: bool,
    retry_failed: bool,
) -> None:
    """Send newsletter SLUG to its segment, each member exactly once.

    A send that was interrupted or paused is resumed where it stopped; running it again
    never sends twice. Batches whose outcome is unknown (the process died or timed out
    while SendGrid had the request) are reported by `publisher status` and not resent
    unless --resend-unknown is given.

    \b
    Example:
      publisher send hebdo --dry-run
      publisher send hebdo --test-to redaction@horizons-emploi.example.org
      publisher send hebdo --segment apprentissage-tours
    """
    app = lazy.app
    echo_warnings(newsletter_warnings(app, slug, segment))
    if dry_run_:
        planned = dry_run(app, slug, segment)
        click.echo(
            f"{slug} → segment {segment or app.config.newsletters[slug].segment}: "
            f"{count_of(len(planned), 'edition', 'editions', 'en')}, "
            f"{count_of(sum(p.recipients for p in planned), 'recipient', 'recipients', 'en')} (dry run)"
        )
        for number, edition in enumerate(planned, start=1):
            articles = count_of(edition.articles, "article", "articles", "en")
            recipients = count_of(edition.recipients, "recipient", "recipients", "en")
            click.echo(f"  {number}. {edition.subject!r}: {articles}, {recipients}")
            if edition.sample:
                click.echo(f"     e.g. {', '.join(edition.sample)}")
        return
    require_strong_secret_to_send(app)
    if test_to:
        message_id = send_test_copy(app, slug, test_to, segment)
        click.echo(f"test copy of {slug} sent to {test_to} ({message_id or 'accepted'})")
        return
    with stopping_on_signals(), progress_bar(f"Sending {slug}", "messages") as bar:
        report = send_as_run(
            app,
            slug,
            segment,
            force=force,
            resend_unknown=resend_unknown,
            retry_failed=retry_failed,
            on_progress=bar.advance,
            on_start=bar.expect,
        )
        stopped = stop_requested()
    click.echo(f"{slug} → {report.segment}: {'resumed, ' if report.resumed else ''}{report.summary()}")
    if stopped:
        click.echo(f"stopped on request; `publisher send {slug}` resumes where it stopped")
    if stopped or any(edition.status == "paused" for edition in report.editions):
        raise SystemExit(1)
