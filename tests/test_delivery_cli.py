"""`publisher send` and the deliveries part of `publisher status`."""

from __future__ import annotations

from click.testing import CliRunner
from support.cli import invoke_cli
from support.delivery import add_subscribers, make_edition

from publisher.cli import main
from publisher.delivery.send import enqueue
from publisher.store.deliveries import claim_batch, record_batch
from publisher.store.editions import set_edition_status


def run(config_file, *args: str):
    return invoke_cli(config_file, *args)


def test_status_shows_deliveries_paused_editions_and_unknown_batches(app, config_file):
    edition = make_edition(app.store)
    enqueue(app.store, edition, add_subscribers(app.store, 5))
    batch = claim_batch(app.store, edition.id, [1, 2])
    record_batch(app.store, batch, {}, {}, unknown=[1, 2], error="no answer from SendGrid: TimeoutError")
    batch = claim_batch(app.store, edition.id, [3, 4, 5])
    record_batch(app.store, batch, dict.fromkeys([3, 4, 5], "msg1"), {})
    set_edition_status(app.store, edition.id, "paused", "5 batches failed in a row; last error: SendGrid 500")

    result = run(config_file, "status")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "deliveries:" in lines
    edition_line = next(line for line in lines if f"edition {edition.id} hebdo/tous" in line)
    assert "paused: 3 sent, 2 unknown" in edition_line
    assert "PAUSED: 5 batches failed in a row; last error: SendGrid 500 (resume: publisher send hebdo)" in edition_line
    unknown = next(line for line in lines if "UNKNOWN batch" in line)
    assert "2 recipients, no answer from SendGrid: TimeoutError" in unknown
    assert "publisher send hebdo --resend-unknown" in unknown


def test_send_names_unknown_newsletters_and_segments_in_one_line(app, config_file):
    result = CliRunner().invoke(main, ["--config", str(config_file), "send", "quotidienne"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: no newsletter 'quotidienne' in {config_file} (newsletters: hebdo, mes-sujets)"
    )
    result = CliRunner().invoke(main, ["--config", str(config_file), "send", "hebdo", "--segment", "nulle-part"])
    assert result.output.strip().startswith(f"Error: --segment: no segment 'nulle-part' in {config_file} (segments: ")


def test_send_help_has_an_example(config_file):
    result = run(config_file, "send", "--help")
    assert "publisher send hebdo --dry-run" in result.output and "--resend-unknown" in result.output
