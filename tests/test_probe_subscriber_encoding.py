"""`subscribers import` of a file with a few bytes that are not UTF-8 (a name or attribute typed
in a Latin-1 spreadsheet): each such row is one `FILE:LINE:` error naming its own line, and
every good row, before and after it, is imported. A header that is not UTF-8 is one Error line."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from support.config import TEST_CONFIG
from support.paths import HOSTILE
from support.serve import cli


@pytest.fixture
def config(tmp_path) -> Path:
    shutil.copy(TEST_CONFIG, tmp_path / "config.toml")
    assert cli(tmp_path / "config.toml", "init").returncode == 0
    return tmp_path / "config.toml"


def emails(config: Path) -> list[str]:
    with sqlite3.connect(config.parent / "publisher.db") as conn:
        return sorted(email for (email,) in conn.execute("SELECT email FROM subscribers"))


def test_rows_that_are_not_utf8_are_refused_by_their_own_line_and_the_good_ones_kept(config):
    path = HOSTILE / "probe_subscribers_latin1.csv"
    result = cli(config, "subscribers", "import", str(path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if "not valid UTF-8" in line]
    assert [line.split(": ", 1)[0] for line in errors] == [f"{path}:3", f"{path}:5"], output
    assert emails(config) == ["bon1@exemple.fr", "bon2@exemple.fr", "bon3@exemple.fr"]


def test_a_header_that_is_not_utf8_is_one_error_line(config):
    path = HOSTILE / "probe_subscribers_latin1_header.csv"
    result = cli(config, "subscribers", "import", str(path))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {path}:1: header: ") and "not valid UTF-8" in line, line
    assert emails(config) == []
