"""`subscribers import` of a file with a few bytes that are not UTF-8 (a name or attribute typed
in a Latin-1 spreadsheet): the file is read as Windows-1252, said so, and every row is imported
with its accents right, the header's included. (A file mixing UTF-8 and Windows-1252 rows:
tests/test_subscriber_import_spreadsheet.py.)"""

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


def attributes(config: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(config.parent / "publisher.db") as conn:
        return sorted(conn.execute("SELECT name, value FROM subscriber_attributes"))


def test_a_file_with_latin1_rows_is_read_as_windows_1252_and_every_row_imported(config):
    path = HOSTILE / "probe_subscribers_latin1.csv"
    result = cli(config, "subscribers", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "encoding: Windows-1252 (the file is not UTF-8)" in result.stdout.splitlines()
    assert emails(config) == [f"{who}@exemple.fr" for who in ("bon1", "bon2", "bon3", "mauvais1", "mauvais2")]
    assert ("bassin", "Blére") in attributes(config)


def test_a_latin1_header_is_read_as_windows_1252(config):
    path = HOSTILE / "probe_subscribers_latin1_header.csv"
    result = cli(config, "subscribers", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "columns used as attributes: nom déjà" in result.stdout.splitlines()
    assert emails(config) == ["bon@exemple.fr"]
