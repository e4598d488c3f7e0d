"""Backups staff can trust: `publisher backup PATH` writes a consistent, checked copy of the store
while `publisher serve` and a send keep writing, and says its size; `publisher restore PATH`
brings one back, keeps the store it replaces aside, and refuses while serve runs or when the
file is not a good backup."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from support.config import set_keys
from support.paths import HOSTILE, ROOT
from support.serve import SECRET, cli, environment, start_serve

from publisher.app import App
from publisher.config import Secrets, load_config
from publisher.tokens import links_for

EMAIL = "marie-helene.berger@example.org"


@pytest.fixture
def folder(tmp_path) -> Path:
    """The demo config and data in tmp_path, sending slowly (100 messages/s) so a send lasts."""
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "newsletters", tmp_path / "newsletters")
    set_keys(tmp_path / "config.toml", "delivery", rate_per_second=100, batch_size=10, concurrency=1)
    for command in (["init"], ["demo", "load"]):
        result = cli(tmp_path / "config.toml", *command)
        assert result.returncode == 0, result.stderr
    return tmp_path


def status_of(database: Path, email: str) -> str:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT status FROM subscribers WHERE email = ?", [email]).fetchone()[0]


def checked(database: Path) -> dict[str, int]:
    """Row counts of a backup after SQLite's own checks: integrity and foreign keys."""
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("deliveries", "subscribers", "subscriber_history", "editions")
        }


def unsubscribe_urls(config_file: Path, count: int) -> list[str]:
    app = App(load_config(config_file), Secrets(signing_secret=SECRET))
    try:
        ids = [row[0] for row in app.store.conn.execute("SELECT id FROM subscribers ORDER BY id LIMIT ?", [count])]
        return [links_for(app, subscriber_id).unsubscribe_url for subscriber_id in ids]
    finally:
        app.close()


def test_backups_taken_while_serve_and_a_send_write_are_whole_and_checked(folder):
    config_file = folder / "config.toml"
    urls = unsubscribe_urls(config_file, 60)
    server = start_serve(config_file)
    done = threading.Event()

    def one_click_unsubscribes() -> None:  # what mail providers POST while a send goes on
        for url in urls:
            path = url.split("example.org", 1)[1]
            httpx.post(server.base + path, data={"List-Unsubscribe": "One-Click"}, timeout=30)
        done.set()

    send = subprocess.Popen(
        [sys.executable, "-m", "publisher", "--config", str(config_file), "send", "hebdo"],
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    writer = threading.Thread(target=one_click_unsubscribes)
    writer.start()
    backups = []
    try:
        while send.poll() is None or not done.is_set():
            target = folder / "backups" / f"during-{len(backups)}.db"
            result = cli(config_file, "backup", str(target))
            assert result.returncode == 0, result.stderr
            assert (
                result.stdout.startswith(f"{target}: ") and "MiB" in result.stdout and "integrity ok" in result.stdout
            )
            backups.append(checked(target))
    finally:
        writer.join()
        send.wait(timeout=120)
        server.stop()
    assert send.returncode == 0
    assert len(backups) >= 2
    deliveries = [counts["deliveries"] for counts in backups]
    assert deliveries == sorted(deliveries)  # each copy is one instant of a store that only grew
    final = cli(config_file, "backup", str(folder / "backups" / "after.db"))
    assert final.returncode == 0, final.stderr
    assert checked(folder / "backups" / "after.db") == checked(folder / "publisher.db")  # once quiet: all of it


def test_a_folder_gets_a_dated_file_and_the_store_itself_is_refused(folder):
    config_file = folder / "config.toml"
    into_folder = cli(config_file, "backup", str(folder / "nightly") + "/")
    assert into_folder.returncode == 0, into_folder.stderr
    [dated] = (folder / "nightly").iterdir()  # the folder is made when missing
    assert re.fullmatch(r"publisher-\d{4}-\d{2}-\d{2}\.db", dated.name)
    again = cli(config_file, "backup", str(folder / "nightly"))  # an existing folder, without the slash
    assert again.returncode == 0 and f"{dated}: " in again.stdout
    for own in ("publisher.db", "publisher.db-wal", "config.toml"):
        refused = cli(config_file, "backup", str(folder / own))
        assert refused.returncode == 1
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith("Error: ") and "choose another file name" in line, line


def test_restore_brings_the_backup_back_and_keeps_the_store_it_replaces(folder):
    config_file = folder / "config.toml"
    assert cli(config_file, "backup", str(folder / "lundi #1 ?é.db")).returncode == 0
    assert cli(config_file, "subscribers", "unsubscribe", EMAIL).returncode == 0  # after the backup
    result = cli(config_file, "restore", str(folder / "lundi #1 ?é.db"))
    assert result.returncode == 0, result.stderr
    assert f"restored from {folder / 'lundi #1 ?é.db'}" in result.stdout
    [aside] = folder.glob("publisher.db.before-restore-*Z")
    assert str(aside) in result.stdout
    assert status_of(folder / "publisher.db", EMAIL) == "active"
    assert status_of(aside, EMAIL) == "unsubscribed"  # nothing is lost: the replaced store is kept
    assert cli(config_file, "status").returncode == 0
    assert checked(folder / "lundi #1 ?é.db")  # the backup itself is untouched


def test_restore_is_refused_while_serve_runs(folder):
    config_file = folder / "config.toml"
    assert cli(config_file, "backup", str(folder / "lundi #1 ?é.db")).returncode == 0
    before = (folder / "publisher.db").stat().st_ino
    server = start_serve(config_file)
    try:
        result = cli(config_file, "restore", str(folder / "lundi #1 ?é.db"))
        second = cli(config_file, "serve", "--port", "0")
    finally:
        server.stop()
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "publisher serve (pid" in line and "stop it first" in line, line
    assert (folder / "publisher.db").stat().st_ino == before
    assert not list(folder.glob("publisher.db.before-restore-*"))
    assert second.returncode == 1 and "publisher serve (pid" in second.stderr  # nor a second service


def truncated_store(folder: Path) -> Path:
    path = folder / "cut-short.db"
    assert cli(folder / "config.toml", "backup", str(folder / "whole.db")).returncode == 0
    path.write_bytes((folder / "whole.db").read_bytes()[:50_000])
    return path


def other_database(folder: Path) -> Path:
    path = folder / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda folder: HOSTILE / "backup_not_sqlite.db", "not a good backup (file is not a database)"),
        (truncated_store, "damaged, not a good backup"),
        (other_database, "not a publisher store"),
        (lambda folder: folder / "nope.db", "no such backup file"),
        (lambda folder: folder / "publisher.db", "choose another file name"),
    ],
)
def test_restore_refuses_a_bad_backup_and_changes_nothing(folder, make, reason):
    backup = make(folder)
    before = (folder / "publisher.db").read_bytes()
    result = cli(folder / "config.toml", "restore", str(backup))
    assert result.returncode == 1, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and reason in line, line
    assert (folder / "publisher.db").read_bytes() == before
    assert not list(folder.glob("publisher.db.before-restore-*"))
    assert not list(folder.glob("*.restoring")) and not list(folder.glob(".*.partial"))
