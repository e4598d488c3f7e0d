"""backup, restore."""

from __future__ import annotations

from pathlib import Path

import click

from publisher.cli import Lazy, main, pass_lazy
from publisher.store.backup import back_up, backup_file, restore
from publisher.store.process_lock import holding


@main.command()
@click.argument("path")
@pass_lazy
def backup(lazy: Lazy, path: str) -> None:
    """Write a consistent copy of the store to PATH, check it and print its size.

    Safe while `publisher serve` and a send are running (SQLite's online backup). PATH may be a
    folder (or end with /): the copy is then FOLDER/publisher-YYYY-MM-DD.db. An existing file is
    replaced, only once the new copy is complete and checked.

    \b
    Example:
      publisher backup backups/
    """
    app = lazy.app
    target = backup_file(path, app.local_now().date())
    app.refuse_own_file(target)
    size = back_up(app.store, target)
    click.echo(f"{target}: {_size(size)}, integrity ok")


@main.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@pass_lazy
def restore_command(lazy: Lazy, path: Path) -> None:
    """Put the backup PATH in place of the store; the current store is kept aside.

    Refused while `publisher serve` runs on this store: stop it (and the cron lines running
    publisher) first. The backup is checked before anything changes.

    \b
    Example:
      publisher restore backups/publisher-2026-11-25.db
    """
    app = lazy.app
    store_path = app.config.store.path
    app.refuse_own_file(path)
    with holding(store_path, "publisher restore"):
        restored = restore(store_path, path, app.clock.now().strftime("%Y%m%dT%H%M%SZ"))
    click.echo(f"{store_path}: restored from {path} ({_size(restored.size)})")
    if restored.previous:
        click.echo(f"the previous store is kept as {restored.previous}")
    if restored.migrations:
        click.echo(f"applied migrations {', '.join(restored.migrations)}")


def _size(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB ({size:,} bytes)"
