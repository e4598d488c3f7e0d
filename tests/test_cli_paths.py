"""Every command that takes a path, given a wrong one as a careless user would (a typo, a folder,
a folder that does not exist): one `Error:` line on stderr naming the path, exit status 1 as
docs/cli.md promises, never click's usage text (exit status 2), nothing written."""

from __future__ import annotations

import sqlite3

import pytest
from support.serve import cli


@pytest.fixture
def folder(config_file):
    assert cli(config_file, "init").returncode == 0
    assert cli(config_file, "demo", "load").returncode == 0
    return config_file.parent


def stored(folder) -> tuple[int, int]:
    with sqlite3.connect(folder / "publisher.db") as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("articles", "subscribers"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["articles", "import", "nope.jsonl"], "Error: File 'nope.jsonl' does not exist."),
        (["articles", "import", "{good}", "nope.jsonl"], "Error: File 'nope.jsonl' does not exist."),
        (["articles", "import", "{folder}"], "Error: File '{folder}' is a directory."),
        (["subscribers", "import", "nope.csv"], "Error: File 'nope.csv' does not exist."),
        (["subscribers", "import", "--dry-run", "nope.csv"], "Error: File 'nope.csv' does not exist."),
        (["subscribers", "import", "{folder}"], "Error: File '{folder}' is a directory."),
        (["subscribers", "export", "--out", "{folder}"], "Error: --out: File '{folder}' is a directory."),
        (
            ["subscribers", "export", "--out", "{folder}/absent/x.csv"],
            "Error: {folder}/absent/x.csv: cannot write: No such file or directory",
        ),
        (["newsletters", "preview", "hebdo", "--out", "{folder}"], "Error: --out: File '{folder}' is a directory."),
        (["--config", "nope.toml", "status"], "Error: nope.toml: config file not found (use --config or {env})"),
    ],
)
def test_a_wrong_path_is_one_error_line_and_exit_status_1(folder, tmp_path, args, message):
    good = tmp_path / "good.jsonl"
    good.write_text('{"url": "https://x.example.org/1", "title": "Un", "published_at": "2026-09-01"}\n', "utf-8")
    fill = {"folder": str(tmp_path), "good": str(good), "env": "PUBLISHER_CONFIG"}
    before = stored(folder)
    result = cli(folder / "config.toml", *(arg.format(**fill) for arg in args))
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [message.format(**fill)]
    assert "Usage:" not in result.stdout + result.stderr
    assert stored(folder) == before  # nothing half-done: the good file beside the missing one is not imported
