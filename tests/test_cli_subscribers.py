"""The subscribers and segments commands as staff meet them."""

import csv
import io
import json
import sqlite3

import pytest
from support.cli import invoke_cli
from support.subscribers import write_csv


@pytest.fixture
def run(config_file, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "cli-test-secret")

    def invoke(*args):
        return invoke_cli(config_file, *args)

    assert invoke("init").exit_code == 0
    assert invoke("demo", "load").exit_code == 0
    return invoke


def test_demo_load_imports_the_subscribers_once(run):
    again = run("demo", "load")
    assert "subscribers: 0 inserted, 0 updated, 340 unchanged" in again.output
    listed = run("segments", "list")
    assert listed.exit_code == 0
    assert listed.output.splitlines()[-1].split()[:2] == ["tous", "305"]


def test_import_reports_bad_rows_by_line_and_exits_1(run, tmp_path):
    path = write_csv(
        tmp_path / "new.csv",
        "nouveau@example.org,Nouveau,fr,apprentissage,active,salon,,Tours,conseiller",
        "pas-une-adresse,,,,,,,,",
        "NOUVEAU@example.org,,,VAE,,,,,",
        "marie-helene.berger@example.org,,,,,,,,",
    )
    dry = run("subscribers", "import", str(path), "--dry-run")
    assert dry.exit_code == 1
    assert f"{path}:3: email: 'pas-une-adresse'" in dry.output
    assert f"{path}:4: email: duplicate of line 2, merged" in dry.output
    assert "dry run, nothing written: 1 inserted, 0 updated, 1 unchanged, 1 duplicates merged" in dry.output
    assert "nouveau@example.org" not in run("subscribers", "export").output

    real = run("subscribers", "import", str(path))
    assert real.exit_code == 1
    assert "1 inserted, 0 updated, 1 unchanged, 1 duplicates merged, 0 skipped, 1 rejected" in real.output
    assert '"status": "active"' in run("subscribers", "show", "nouveau@example.org").output


def test_unsubscribe_show_forget_and_reimport(run, tmp_path):
    email = "marie-helene.berger@example.org"
    assert run("subscribers", "unsubscribe", email).output == f"{email}: unsubscribed\n"
    assert "already not subscribed" in run("subscribers", "unsubscribe", email).output
    shown = json.loads(run("subscribers", "show", email).output)
    assert shown["status"] == "unsubscribed"
    assert shown["history"][-1]["source"] == "staff (command line)"

    reimport = run("subscribers", "import", str(write_csv(tmp_path / "a.csv", f"{email},,,,active,,,,")))
    assert reimport.exit_code == 0
    assert f"{tmp_path / 'a.csv'}:2: status: unsubscribed since" in reimport.output

    assert "erased" in run("subscribers", "forget", email).output
    assert "forgotten" in json.loads(run("subscribers", "show", email).output)
    refused = run("subscribers", "import", str(write_csv(tmp_path / "b.csv", f"{email},,,,active,,,,")))
    assert "forgotten at its owner's request; not imported" in refused.output


def test_export_formats_and_segments_show(run, tmp_path):
    exported = run("subscribers", "export", "--segment", "apprentissage-tours")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows and all(row["bassin"] == "Tours" for row in rows)
    assert f"{len(rows)} subscribers exported" in exported.stderr

    out = tmp_path / "all.jsonl"
    assert run("subscribers", "export", "--format", "jsonl", "--out", str(out)).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 340

    shown = run("segments", "show", "apprentissage-tours", "--limit", "2")
    lines = shown.output.splitlines()
    assert lines[0] == "apprentissage-tours: Abonnés du bassin de Tours intéressés par l’apprentissage"
    assert lines[1].endswith("receive newsletters (14 match the filter, any status)")
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("segments", "show", "nope"), "Error: unknown segment 'nope'"),
        (("subscribers", "show", "personne@example.org"), "Error: no subscriber with address 'personne@example.org'"),
        (("subscribers", "unsubscribe", "pas-une-adresse"), "Error: An email address must have an @-sign"),
        (("subscribers", "export", "--segment", "nope"), "Error: unknown segment 'nope'"),
    ],
)
def test_user_mistakes_are_one_line_errors(run, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.startswith(message) and len(result.output.splitlines()) == 1


def test_forget_needs_the_secret(run, config_file, monkeypatch):
    monkeypatch.delenv("PUBLISHER_SECRET")
    (config_file.parent / "secrets.env").unlink()  # made by init: neither it nor the variable
    result = run("subscribers", "forget", "marie-helene.berger@example.org")
    assert result.exit_code == 1
    assert "PUBLISHER_SECRET is not set" in result.output
    assert "run publisher init to create secrets.env" in result.output  # says what to do
    assert "export PUBLISHER_SECRET=" in result.output and len(result.output.splitlines()) == 1


def test_a_store_kept_busy_by_another_process_is_a_one_line_error(run, config_file, monkeypatch):
    monkeypatch.setattr("publisher.store.BUSY_TIMEOUT_SECONDS", 0.2)
    importing = sqlite3.connect(config_file.parent / "publisher.db", isolation_level=None)  # e.g. a large import
    importing.execute("BEGIN IMMEDIATE")
    result = run("subscribers", "unsubscribe", "marie-helene.berger@example.org")
    importing.execute("ROLLBACK")
    importing.close()
    assert result.exit_code == 1
    assert result.output.strip().endswith("the store is busy with another write (waited 0.2 s); try again")
    assert len(result.output.strip().splitlines()) == 1
    assert run("subscribers", "unsubscribe", "marie-helene.berger@example.org").exit_code == 0
