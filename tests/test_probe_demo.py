"""`publisher demo load` run by mistake on a store with real data (the production folder):
refused with one `Error:` line, before it adds 340 made-up subscribers to the next send and
48 made-up articles to the feeds and newsletters of real readers. On a new or demo store it
still loads, and loading twice changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from support.config import new_test_folder
from support.paths import HOSTILE
from support.serve import cli


@pytest.fixture
def folder(tmp_path) -> Path:
    new_test_folder(tmp_path)
    assert cli(tmp_path / "config.toml", "init").returncode == 0
    return tmp_path


def counts(folder: Path) -> tuple[int, int]:
    with sqlite3.connect(folder / "publisher.db") as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("subscribers", "articles")
        )


@pytest.mark.parametrize(
    "real",
    [
        ["subscribers", "import", str(HOSTILE / "probe_real_subscribers.csv")],
        ["articles", "import", str(HOSTILE / "probe_real_article.jsonl")],
    ],
)
def test_demo_load_refuses_a_store_with_real_data(folder, real):
    assert cli(folder / "config.toml", *real).returncode == 0
    before = counts(folder)
    result = cli(folder / "config.toml", "demo", "load")
    assert result.returncode == 1, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: demo load: the store already holds ") and "not the demo's" in line, line
    assert counts(folder) == before


def test_demo_load_still_loads_a_new_store_and_twice_changes_nothing(folder):
    first = cli(folder / "config.toml", "demo", "load")
    assert first.returncode == 0, first.stderr
    loaded = counts(folder)
    second = cli(folder / "config.toml", "demo", "load")
    assert second.returncode == 0, second.stderr
    assert "0 inserted" in second.stdout
    assert counts(folder) == loaded
