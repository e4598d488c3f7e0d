"""schedule, serve."""

from __future__ import annotations

import click

from publisher.cli import Lazy, main, pass_lazy


@main.command()
@pass_lazy
def schedule(lazy: Lazy) -> None:
    """List every job of `publisher serve` and `publisher run-once` with the next time it will
    act on (site time zone): "due now" when the next run will do it.

    A newsletter is sent at its first `schedule` time after it was added to config.toml (the
    first run that saw it), never earlier; the feeds are rebuilt every [feeds] rebuild_minutes.

    \b
    Example:
      publisher schedule
    """
    from publisher.jobs import next_runs

    for job in next_runs(lazy.app):
        when = job.next_run.strftime("%Y-%m-%d %H:%M %Z") if job.next_run else "never"
        click.echo(f"{job.id:<24} {'due now' if job.due_now else when:<22} {job.description}")


@main.command()
@click.option("--host", metavar="H", default=None, help="Address to listen on (default [service] host, 127.0.0.1).")
@click.option("--port", metavar="P", type=click.IntRange(0, 65535), default=None, help="Port (default [service] port).")
@pass_lazy
def serve(lazy: Lazy, host: str | None, port: int | None) -> None:
    """Run the scheduler and the web app (feeds, sign-up, unsubscribe, webhooks, /admin/).

    Stops cleanly on SIGTERM or Ctrl-C: a newsletter being sent finishes its current batch,
    records it, and is resumed by the next run. Put a reverse proxy (TLS) in front of it.

    \b
    Example:
      PUBLISHER_SECRET=… PUBLISHER_ADMIN_PASSWORD=… publisher serve --host 127.0.0.1 --port 8000
    """
    from publisher.app import AppFactory
    from publisher.service.server import serve as run_service
    from publisher.tokens import require_strong_secret

    app = lazy.app
    require_strong_secret(app, "publisher serve")
    settings = app.config.service
    click.echo(
        f"publisher serve: http://{host or settings.host}:{settings.port if port is None else port}/ "
        f"({len(app.config.newsletters)} newsletters scheduled; Ctrl-C to stop)",
        err=True,
    )
    run_service(AppFactory(app), host, port)
