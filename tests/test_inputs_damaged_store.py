"""A damaged store file (pages overwritten with garbage, or not a SQLite file at all) is one
``Error:`` line pointing to the restore advice in docs/operations.md, exit 1, for every command."""

import random
import shutil
import sqlite3
import subprocess
import sys

import pytest
from support.cli import invoke_cli
from support.config import new_test_folder

from publisher.config import load_config

COMMANDS = [
    ("status",),
    ("subscribers", "export"),
    ("subscribers", "export", "--format", "jsonl"),
    ("feeds", "build", "--full"),
    ("send", "hebdo"),
    ("run-once",),
    ("articles", "list"),
    ("segments", "list"),
]


def invoke(config_file, *args):
    return invoke_cli(config_file, *args)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    """A real store after the demo's first cycle, built once for the module."""
    folder = tmp_path_factory.mktemp("demo")
    new_test_folder(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PUBLISHER_SECRET", "x" * 40)
        for command in (("init",), ("demo", "load"), ("run-once",)):
            assert invoke(folder / "config.toml", *command).exit_code == 0
    return load_config(folder / "config.toml").store.path


@pytest.fixture
def run(config_file, config, demo_store, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "x" * 40)
    shutil.copy(demo_store, config.store.path)
    return lambda *args: invoke(config_file, *args)


def overwrite_pages(path, pages, page_size):
    garbage = random.Random(12)
    with path.open("r+b") as handle:
        for page in pages:
            handle.seek((page - 1) * page_size)
            handle.write(bytes(garbage.randrange(256) for _ in range(page_size)))


def damage_tables(path):
    """Garbage over the first pages of the tables every command reads (the schema stays readable)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        tables = ("runs", "subscribers", "articles", "tags", "editions", "feeds")
        roots = [
            page
            for (page,) in conn.execute(
                "SELECT rootpage FROM sqlite_master WHERE rootpage > 0 AND tbl_name IN (?, ?, ?, ?, ?, ?)", tables
            )
        ]
    conn.close()
    overwrite_pages(path, roots, page_size)


def assert_one_damaged_line(result):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "looks damaged" in lines[0]
    assert "docs/operations.md" in lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_store_with_garbage_pages_is_one_error_line(run, config, command):
    damage_tables(config.store.path)
    assert_one_damaged_line(run(*command))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_file_that_is_not_a_database_is_one_error_line(config_file, config, command, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "x" * 40)
    config.store.path.write_bytes(b"these are minutes of a meeting, not a database\n" * 200)
    assert_one_damaged_line(invoke(config_file, *command))


def test_the_installed_command_prints_no_traceback(run, config, config_file):
    damage_tables(config.store.path)
    process = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(config_file), "subscribers", "export"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1


def test_an_export_that_fails_leaves_no_half_file(run, config, tmp_path):
    out = tmp_path / "export.csv"
    out.write_text("yesterday's export\n")
    damage_tables(config.store.path)
    assert_one_damaged_line(run("subscribers", "export", "--out", str(out)))
    assert out.read_text() == "yesterday's export\n"
    assert [path.name for path in tmp_path.glob(".export.csv*")] == []


def test_an_export_into_a_missing_folder_is_one_error_line(run, tmp_path):
    result = run("subscribers", "export", "--out", str(tmp_path / "absent" / "export.csv"))
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "absent/export.csv: cannot write" in line
