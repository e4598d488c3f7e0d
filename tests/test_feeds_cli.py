"""`publisher feeds build` as a user runs it."""

from __future__ import annotations

from click.testing import CliRunner
from support.cli import invoke_cli
from support.config import set_keys

from publisher.cli import main


def run(config_file, *args):
    return invoke_cli(config_file, *args)


def test_feeds_build_full_then_incremental(config_file, tmp_path):
    run(config_file, "init")
    run(config_file, "demo", "load")

    first = run(config_file, "feeds", "build")
    assert first.exit_code == 0, first.output
    assert (
        first.output
        == f"{tmp_path / 'feeds'}: full build: 19 feeds, 19 rendered, 59 files written, 0 unchanged, 0 removed\n"
    )

    again = run(config_file, "feeds", "build")
    assert "incremental build: 19 feeds, 0 rendered, 0 files written" in again.output
    full = run(config_file, "feeds", "build", "--full")
    assert "full build: 19 feeds, 19 rendered, 0 files written, 57 unchanged" in full.output


def test_feeds_build_needs_a_migrated_store_and_says_so(config_file):
    result = run(config_file, "feeds", "build")
    assert result.exit_code == 1
    assert "run `publisher init`" in result.output and "Traceback" not in result.output


def test_a_bad_feeds_setting_is_one_line_naming_the_key(config_file):
    set_keys(config_file, "feeds", tag_page_url="https://www.horizons-emploi.example.org/tags/")
    result = run(config_file, "feeds", "build")
    assert result.exit_code == 1
    assert "feeds.tag_page_url: expected a URL containing {slug}" in result.output


def test_feeds_build_help_has_an_example():
    result = CliRunner().invoke(main, ["feeds", "build", "--help"])
    assert "Example:" in result.output and "publisher feeds build --full" in result.output
