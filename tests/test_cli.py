"""The CLI as a user meets it: exit codes, one-line errors, no tracebacks."""

import json
import subprocess
import sys

from click.testing import CliRunner
from support.cli import invoke_cli
from support.config import replace_once

from publisher.cli import main


def run(config_file, *args):
    result = invoke_cli(config_file, *args)
    return result


def test_init_demo_load_list_run_once_status(config_file, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")  # send signs the links
    assert "applied migrations 0001_foundation" in run(config_file, "init").output
    assert "up to date" in run(config_file, "init").output

    loaded = run(config_file, "demo", "load")
    assert loaded.exit_code == 0, loaded.output
    assert "48 inserted" in loaded.output
    assert "0 inserted, 0 updated, 48 unchanged" in run(config_file, "demo", "load").output

    listed = run(config_file, "articles", "list", "--tag", "bassin-d-emploi", "--limit", "3", "--json")
    records = [json.loads(line) for line in listed.output.splitlines()]
    assert len(records) == 3
    assert all("bassin d'emploi" in record["tags"] for record in records)
    assert records[0]["published_at"] >= records[1]["published_at"]

    cycle = run(config_file, "run-once")
    assert cycle.exit_code == 0, cycle.output
    assert "newsletter:hebdo: not due (next: " in cycle.output  # just added: it waits for its first Monday
    assert "purge-pending: 0 unconfirmed sign-ups deleted" in cycle.output
    assert " run-once " in run(config_file, "status").output
    sent = run(config_file, "send", "hebdo")  # the explicit way to send now (make demo)
    assert sent.exit_code == 0, sent.output
    assert "hebdo → tous: 1 edition" in sent.output


def test_import_with_a_bad_line_exits_non_zero_and_names_the_line(config_file, tmp_path):
    run(config_file, "init")
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"url": "https://x.example.org/1", "title": "Un", "published_at": "2026-09-01T10:00:00+02:00"}\n'
        '{"url": "https://x.example.org/2", "title": "Deux"}\n',
        encoding="utf-8",
    )
    result = run(config_file, "articles", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:2: published_at: required" in result.output
    assert "1 inserted, 0 updated, 0 unchanged, 1 rejected" in result.output


def test_user_mistakes_are_one_line_errors(config_file, tmp_path):
    not_migrated = run(config_file, "articles", "list")
    assert not_migrated.exit_code == 1
    assert not_migrated.output.strip().count("\n") == 0
    assert "run `publisher init`" in not_migrated.output

    missing = run(tmp_path / "absent.toml", "status")
    assert missing.exit_code == 1
    assert "absent.toml: config file not found" in missing.output

    run(config_file, "init")
    unknown_tag = run(config_file, "articles", "list", "--tag", "inconnu")
    assert unknown_tag.exit_code == 1
    assert "no tag with slug 'inconnu'" in unknown_tag.output


def test_installed_entry_point_reports_config_errors_without_traceback(config_file):
    replace_once(config_file, "items = 50", "items = -1")
    process = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(config_file), "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert process.stderr.strip().startswith("Error: ")
    assert "feeds.items: Input should be greater than 0" in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1


def test_every_command_has_help_with_an_example():
    runner = CliRunner()

    def walk(group, path):
        for name, command in group.commands.items():
            yield from walk(command, [*path, name]) if hasattr(command, "commands") else [[*path, name]]

    for path in walk(main, []):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example:" in result.output, f"publisher {' '.join(path)} --help has no example"
