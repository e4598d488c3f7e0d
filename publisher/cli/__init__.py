"""The command line: a thin click shell over the library.

Each command parses its options, calls one library function and prints the result.
A PublisherError, or a store file SQLite finds damaged, becomes one line on stderr and exit
status 1, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from publisher import __version__
from publisher.app import App
from publisher.config import CONFIG_ENV, Secrets, config_path, load_config
from publisher.errors import PublisherError
from publisher.store import damaged_store, is_damage


class PublisherGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PublisherError as error:
            raise click.ClickException(str(error)) from None
        except Exception as error:
            if not is_damage(error):
                raise
            raise click.ClickException(
                str(damaged_store(ctx.obj.store_path if isinstance(ctx.obj, Lazy) else None, error))
            ) from None
        finally:
            if isinstance(ctx.obj, Lazy):
                ctx.obj.close()


class Lazy:
    """Loads config.toml and the secrets (and opens the store) only when a command asks for them."""

    def __init__(self, path: str | None) -> None:
        self.path = config_path(path)
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            config = load_config(self.path)
            self._app = App(config, Secrets.load(config.source))
        return self._app

    @property
    def store_path(self) -> Path | None:
        return self._app.config.store.path if self._app is not None else None

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_lazy = click.make_pass_decorator(Lazy)


class FilePath(click.Path):
    """A file to read or write. A missing, unreadable or folder path is the user's mistake about
    a file, not about the command's usage: one `Error:` line and exit status 1, as for every
    other error, instead of click's usage text and exit status 2."""

    def __init__(self, *, exists: bool = False) -> None:
        super().__init__(exists=exists, dir_okay=False, path_type=Path)

    def fail(self, message: str, param: click.Parameter | None = None, ctx: click.Context | None = None) -> NoReturn:
        option = next((name for name in param.opts if name.startswith("-")), None) if param else None
        raise click.ClickException(f"{option}: {message}" if option else message)


@click.group(cls=PublisherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    metavar="PATH",
    envvar=CONFIG_ENV,
    default=None,
    help="config.toml to use (default ./config.toml, or $PUBLISHER_CONFIG).",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.version_option(__version__, prog_name="publisher")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: int) -> None:
    """Publish RSS, Atom and JSON feeds and MJML email digests from a SQLite article store.

    \b
    Example:
      publisher --config config.toml run-once
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = Lazy(config)


def echo_warnings(warnings: list[str]) -> None:
    """Warnings on stderr, one line each: ``warning: config.toml:12: key: what``."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


# Command modules register themselves on ``main``.
from publisher.cli import core, delivery, feeds, figures, newsletters, service, store, subscribers  # noqa: E402, F401
