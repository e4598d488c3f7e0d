"""The CLI in-process, as the tests run it: click's runner with exceptions not caught, so a
traceback fails the test instead of turning into an exit status."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from publisher.cli import main


def invoke_cli(config_file: Path, *args: str) -> Result:
    """`publisher --config CONFIG_FILE ARGS…`, in this process."""
    return CliRunner().invoke(main, ["--config", str(config_file), *args], catch_exceptions=False)
