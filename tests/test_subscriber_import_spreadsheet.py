"""The office's spreadsheet imports as it is: Excel's Windows-1252 or UTF-8 (BOM) files, its
`sep=;` line, French and English column names; what cannot be read right is one clear line."""

import json
import re
import sqlite3

import pytest
from support.cli import invoke_cli
from support.paths import DATA, ROOT
from support.subscribers import add_tags

from publisher.subscribers.csv_headers import HEADER_NAMES, KNOWN_COLUMNS, header_key
from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.csv_speed import ImportTuning
from publisher.subscribers.lifecycle import show

SHEETS = DATA / "spreadsheet"


@pytest.fixture
def run(config_file, store, monkeypatch):
    """`publisher --config … ARGS` on a migrated store that has the tests' tags."""
    monkeypatch.setenv("PUBLISHER_SECRET", "spreadsheet-test-secret")
    add_tags(store)

    def invoke(*args):
        return invoke_cli(config_file, *args)

    return invoke


def stored_emails(config_file) -> list[str]:
    with sqlite3.connect(config_file.parent / "publisher.db") as conn:
        return sorted(email for (email,) in conn.execute("SELECT email FROM subscribers"))


def shown(run, email: str) -> dict:
    result = run("subscribers", "show", email)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_an_excel_windows_1252_file_with_a_sep_line_and_french_headers_imports_as_it_is(run):
    result = run("subscribers", "import", str(SHEETS / "excel_cp1252_sep.csv"))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [
        "encoding: Windows-1252 (the file is not UTF-8)",
        "columns used as attributes: bassin, fonction",
        "3 inserted, 0 updated, 0 unchanged, 0 duplicates merged, 0 skipped, 0 rejected, 0 warnings",
    ]
    helene = shown(run, "helene.leveque@exemple.fr")
    assert helene["name"] == "Hélène Lévêque" and helene["locale"] == "fr" and helene["status"] == "active"
    assert [interest["slug"] for interest in helene["interests"]] == ["apprentissage", "vae"]
    assert helene["consent"] == {"source": "Salon « Avenir » 2026", "at": "2026-03-28T14:05:00+01:00"}
    assert helene["attributes"] == {"bassin": "Orléans", "fonction": "conseillère"}
    francois = shown(run, "francois.ozil@exemple.fr")
    assert francois["name"] == "François Œzil" and francois["locale"] == "en"
    assert francois["consent"]["source"] == "Formulaire papier – 5 €"
    assert francois["attributes"] == {"bassin": "Châteauroux", "fonction": "élu"}
    zoe = shown(run, "zoe@exemple.fr")  # a first name without a last name
    assert zoe["name"] == "Zoé" and zoe["attributes"] == {"bassin": "Tours"}


def test_dry_run_shows_how_each_column_is_read_and_writes_nothing(run, config_file):
    result = run("subscribers", "import", str(SHEETS / "excel_cp1252_sep.csv"), "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "encoding: Windows-1252 (the file is not UTF-8)",
        "columns:",
        "  'Courriel' → email",
        "  'Prénom' → name (first part)",
        "  'Nom' → name (last part)",
        "  'Langue' → locale",
        "  'Thèmes' → interests",
        "  'Statut' → status",
        "  'Source du consentement' → consent_source",
        "  'Date du consentement' → consent_at",
        "  'Bassin' → attribute 'bassin'",
        "  'Fonction' → attribute 'fonction'",
        "columns used as attributes: bassin, fonction",
        "dry run, nothing written: 3 inserted, 0 updated, 0 unchanged, 0 duplicates merged, 0 skipped, "
        "0 rejected, 0 warnings",
    ]
    assert stored_emails(config_file) == []


def test_excel_csv_utf8_with_a_bom_and_headers_in_odd_case_accents_and_spacing(run):
    result = run("subscribers", "import", str(SHEETS / "excel_utf8_bom.csv"), "--dry-run")
    assert result.output.splitlines()[:8] == [
        "encoding: UTF-8",
        "columns:",
        "  'ADRESSE  E-MAIL' → email",
        "  'Nom complet' → name",
        "  'Centres d’intérêt' → interests",
        "  'LANGUAGE' → locale",
        "  'Statut' → status",
        '  "Bassin d\'emploi" → attribute "bassin d\'emploi"',
    ]
    result = run("subscribers", "import", str(SHEETS / "excel_utf8_bom.csv"))
    assert result.exit_code == 0, result.output
    assert "columns used as attributes: bassin d'emploi" in result.output.splitlines()
    agathe = shown(run, "agathe@exemple.fr")
    assert agathe["name"] == "Agathe Núñez" and agathe["attributes"] == {"bassin d'emploi": "Tours"}
    bob = shown(run, "bob@exemple.fr")
    assert bob["locale"] == "en" and [i["slug"] for i in bob["interests"]] == ["jeunes", "vae"]


def test_excel_unicode_text_utf16_tab_separated_imports(run):
    result = run("subscribers", "import", str(SHEETS / "excel_unicode_text.txt"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        "encoding: UTF-16 (the file is not UTF-8)",
        "columns used as attributes: bassin",
    ]
    noemie = shown(run, "noemie@exemple.fr")
    assert noemie["name"] == "Noémie Łukasiewicz" and noemie["attributes"] == {"bassin": "Dreux"}


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("ambiguous_email.csv", "columns 'Courriel' and 'E-mail' both read as email; keep one"),
        ("ambiguous_name.csv", "columns 'Nom complet' and 'Prénom' both read as name; keep one"),
        (
            "mojibake_header.csv",
            "'PrÃ©nom' is garbled text (UTF-8 read as Windows-1252; meant 'Prénom'); "
            "export the file again from the original spreadsheet as CSV UTF-8",
        ),
    ],
)
def test_a_header_that_cannot_be_read_right_is_one_error_line_and_nothing_is_written(run, config_file, sheet, message):
    path = SHEETS / sheet
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"Error: {path}:1: header: {message}"]
    assert stored_emails(config_file) == []


def test_a_row_in_another_encoding_than_the_rest_of_a_utf8_file_is_refused_alone(run, config_file):
    path = SHEETS / "mixed_encodings.csv"
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: row: not valid UTF-8 (save the file as CSV UTF-8)" in result.output.splitlines()
    assert "encoding: UTF-8" in result.output.splitlines()
    assert stored_emails(config_file) == ["trois@exemple.fr", "un@exemple.fr"]
    assert shown(run, "un@exemple.fr")["name"] == "Élise Un"


def test_a_byte_windows_1252_does_not_have_is_refused_with_its_row(run, config_file):
    path = SHEETS / "cp1252_undefined_byte.csv"
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: row: not valid Windows-1252 (save the file as CSV UTF-8)" in result.output.splitlines()
    assert stored_emails(config_file) == ["trois@exemple.fr", "un@exemple.fr"]
    assert shown(run, "trois@exemple.fr")["name"] == "Noël"


# Large files are read in a child process: 0 sends every file there.
@pytest.mark.parametrize("read_in_child_from_bytes", [10**9, 0], ids=["inline", "child-process"])
def test_after_a_sep_line_rows_are_reported_by_their_line_in_the_file(app, store, tmp_path, read_in_child_from_bytes):
    add_tags(store)
    path = tmp_path / "contacts.csv"
    path.write_bytes('"sep=,"\r\nE-mail,Prénom,Nom\r\nbad,Léa,Roy\r\nok@exemple.fr,Léa,Roy\r\n'.encode("cp1252"))
    report = import_csv(app, path, tuning=ImportTuning(read_in_child_from_bytes=read_in_child_from_bytes))
    assert [str(error).split(": ")[0:2] for error in report.rejected] == [[f"{path}:3", "email"]]
    assert report.encoding == "Windows-1252" and report.inserted == 1
    assert show(app, "ok@exemple.fr")["name"] == "Léa Roy"


@pytest.mark.parametrize(
    ("first_line", "delimiter"), [("sep=;", ";"), ('"sep=;"', ";"), ("sep=,;;", ","), ("sep=\t", "\t")]
)
def test_excel_sep_line_names_the_delimiter(app, store, tmp_path, first_line, delimiter):
    path = tmp_path / "contacts.csv"
    path.write_text(f'{first_line}\nemail{delimiter}nom\nx@exemple.fr{delimiter}"Roy, Léa"\n', encoding="utf-8")
    report = import_csv(app, path)
    assert report.inserted == 1, report.rejected
    assert show(app, "x@exemple.fr")["name"] == "Roy, Léa"


def test_header_names_compare_without_case_accents_spaces_or_punctuation():
    assert {
        header_key(name) for name in ("Adresse électronique", " ADRESSE  ELECTRONIQUE ", "adresse_électronique")
    } == {"adresseelectronique"}
    assert header_key("Centres d’intérêt") == header_key("centres d'interet") == header_key("CENTRES D INTÉRÊT")


def test_every_stored_field_is_named_by_its_own_name_and_no_name_means_two_fields():
    for field in KNOWN_COLUMNS:
        assert field in HEADER_NAMES[field]
    fields_of_key = {}
    for field, names in HEADER_NAMES.items():
        for name in names:
            assert fields_of_key.setdefault(header_key(name), field) == field, name


def test_the_documented_table_of_header_names_is_the_codes():
    page = (ROOT / "docs" / "subscribers.md").read_text(encoding="utf-8")
    section = page.split("## Column names", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)`[^|]*\|([^|\n]*)\|", section, re.MULTILINE)
    assert {field: tuple(re.findall(r"`([^`]+)`", names)) for field, names in rows} == HEADER_NAMES


def test_a_header_cell_on_two_lines_keeps_the_rows_line_numbers(app, store, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text('Courriel;"Bassin\nd\'emploi"\nbad;Tours\n', encoding="utf-8")
    report = import_csv(app, path)
    assert [(error.line, error.field) for error in report.rejected] == [(3, "email")]
    assert report.columns.attribute_names == ["bassin\nd'emploi"]
