"""A staff member's typos in config.toml are caught, not silent: a newsletter or segment tag that
no article has, a segment attribute (or value) that no subscriber has, are reported with the
closest spelling stored, accents and case aside, by every command that uses them and on
/admin/; `segments values` shows what is stored; a bad cron expression is a config error."""

from __future__ import annotations

import html

import httpx
import pytest
from support.cli import invoke_cli
from support.config import replace_once
from support.paths import HOSTILE
from support.serve import ADMIN_PASSWORD, cli, serving

from publisher.config import load_config
from publisher.errors import ConfigError
from publisher.spelling import closest

TYPO_TAG = "unknown tag 'aprentissage' — did you mean 'apprentissage'?"
TYPO_VALUE = "no subscriber has bassin = 'Orleans' — did you mean 'Orléans'?"
TYPO_NAME = "no subscriber has an attribute 'basin' — did you mean 'bassin'?"


@pytest.fixture
def typos(config_file):
    """The demo store, and a config where staff added a newsletter and segments with typos."""
    assert cli(config_file, "init").returncode == 0
    assert cli(config_file, "demo", "load").returncode == 0
    with config_file.open("a", encoding="utf-8") as file:
        file.write("\n" + (HOSTILE / "typos_config.toml").read_text(encoding="utf-8"))
    return config_file


def line_of(config_file, text: str) -> int:
    lines = config_file.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning: ")]


def test_closest_spelling_ignores_accents_and_case():
    assert closest("aprentissage", ["apprentissage", "jeunes"]) == "apprentissage"
    assert closest("Orleans", ["Tours", "Orléans"]) == "Orléans"
    assert closest("CHATEAUROUX", ["Châteauroux", "Chartres"]) == "Châteauroux"
    assert closest("basin d'emploi", ["bassin d'emploi", "VAE"]) == "bassin d'emploi"
    assert closest("zzz", ["apprentissage"]) is None
    assert closest("tours", []) is None


def test_newsletters_list_names_the_file_line_key_and_closest_tag(typos):
    result = cli(typos, "newsletters", "list")
    assert result.returncode == 0, result.stderr
    assert "alternance" in result.stdout
    tag_line = line_of(typos, 'tags = ["aprentissage"]')
    value_line = line_of(typos, 'bassin = "Orleans"')
    assert warnings(result.stderr) == [
        f"warning: {typos}:{tag_line}: newsletters.alternance.tags: {TYPO_TAG}",
        f"warning: {typos}:{value_line}: segments.orleans.attributes.bassin: {TYPO_VALUE}",
    ]


def test_segments_list_reports_attribute_names_and_values_no_subscriber_has(typos):
    result = cli(typos, "segments", "list")
    assert result.returncode == 0, result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines() if line.startswith(("orleans", "basin"))] == [
        ["basin", "0"],
        ["orleans", "0"],
    ]
    name_line, value_line = line_of(typos, "basin = ["), line_of(typos, 'bassin = "Orleans"')
    assert warnings(result.stderr) == [
        f"warning: {typos}:{name_line}: segments.basin.attributes.basin: {TYPO_NAME}",
        f"warning: {typos}:{value_line}: segments.orleans.attributes.bassin: {TYPO_VALUE}",
    ]


def test_segments_show_reports_the_typos_of_its_segment(typos):
    result = cli(typos, "segments", "show", "orleans")
    assert result.returncode == 0, result.stderr
    assert "0 receive newsletters" in result.stdout
    assert [line.split(": ", 2)[2] for line in warnings(result.stderr)] == [
        f"segments.orleans.attributes.bassin: {TYPO_VALUE}"
    ]


def test_a_segment_tag_typo_is_reported_and_the_other_segments_still_listed(typos):
    replace_once(typos, 'attributes = { basin = ["Tours"] }', 'interests_any = ["Aprentissage", "jeunes"]')
    result = cli(typos, "segments", "list")
    assert result.returncode == 0, result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines() if line.startswith("basin")] == [["basin", "-"]]
    assert "tous" in result.stdout
    key = f"{typos}:{line_of(typos, 'Aprentissage')}: segments.basin.interests_any"
    assert f"warning: {key}: unknown tag 'Aprentissage' — did you mean 'apprentissage'?" in warnings(result.stderr)
    sent = cli(typos, "send", "alternance", "--segment", "basin", "--dry-run")
    assert sent.returncode == 1
    assert sent.stderr.splitlines()[-1] == f"Error: {key}: unknown tag 'Aprentissage' — did you mean 'apprentissage'?"


def test_preview_and_send_say_why_the_newsletter_is_empty(typos):
    preview = cli(typos, "newsletters", "preview", "alternance")
    assert preview.returncode == 1
    assert f"newsletters.alternance.tags: {TYPO_TAG}" in warnings(preview.stderr)[0]
    assert f"segments.orleans.attributes.bassin: {TYPO_VALUE}" in warnings(preview.stderr)[1]
    assert preview.stderr.splitlines()[-1].startswith("Error: ")

    for args in (["send", "alternance"], ["send", "alternance", "--dry-run"]):
        sent = cli(typos, *args)
        assert sent.returncode == 0, sent.stderr
        assert len(warnings(sent.stderr)) == 2, sent.stderr
        assert TYPO_TAG in sent.stderr


def test_preview_and_send_of_a_correct_newsletter_warn_about_nothing(typos):
    assert warnings(cli(typos, "newsletters", "preview", "hebdo").stderr) == []
    assert warnings(cli(typos, "send", "hebdo", "--dry-run").stderr) == []


def test_run_once_records_the_warnings_in_its_summary(typos):
    result = cli(typos, "run-once")
    assert result.returncode == 0, result.stderr
    assert f"newsletters.alternance.tags: {TYPO_TAG}" in result.stdout
    status = cli(typos, "status").stdout
    assert TYPO_TAG in status and TYPO_VALUE in status and TYPO_NAME in status


def test_a_clean_demo_config_has_no_warning(config_file):
    assert cli(config_file, "init").returncode == 0
    assert cli(config_file, "demo", "load").returncode == 0
    for args in (["newsletters", "list"], ["segments", "list"]):
        result = cli(config_file, *args)
        assert result.returncode == 0 and warnings(result.stderr) == [], result.stderr


def test_admin_shows_the_warnings(typos):
    with serving(typos) as base:
        page = httpx.get(base + "/admin/", auth=("admin", ADMIN_PASSWORD), timeout=30)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert TYPO_TAG in text and TYPO_VALUE in text and TYPO_NAME in text
    assert 'class="alert warnings"' in text


def test_segments_values_lists_what_is_stored_with_counts(typos):
    result = cli(typos, "segments", "values")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["ATTRIBUTE", "VALUE", "SUBSCRIBERS"]
    rows = [(line.split()[0], *line.split(None, 1)[1].rsplit(None, 1)) for line in result.stdout.splitlines()[1:]]
    assert {row[0] for row in rows} == {"bassin", "role"}
    assert ("bassin", "Orléans") in [row[:2] for row in rows]
    assert ("role", "demandeur d'emploi") in [row[:2] for row in rows]
    assert sum(int(row[2]) for row in rows if row[0] == "bassin") == 340

    one = cli(typos, "segments", "values", "Bassin")
    assert one.returncode == 0
    assert {line.split()[0] for line in one.stdout.splitlines()[1:]} == {"bassin"}

    typo = cli(typos, "segments", "values", "basin")
    assert typo.returncode == 1
    assert typo.stderr.splitlines() == [f"Error: {TYPO_NAME}"]


def test_segments_values_on_an_empty_store(config_file):
    assert cli(config_file, "init").returncode == 0
    result = invoke_cli(config_file, "segments", "values")
    assert result.exit_code == 0
    assert "no attributes stored" in result.output


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("61 8 * * 1", "invalid cron schedule '61 8 * * 1'"),
        ("0 8 * * 8", "invalid cron schedule '0 8 * * 8'"),
        ("0 8 32 * *", "invalid cron schedule '0 8 32 * *'"),
        ("0 8 * * lundi", "invalid cron schedule '0 8 * * lundi'"),
        ("0 8 * *", "expected a 5-field cron expression"),
    ],
)
def test_a_bad_cron_expression_is_a_config_error_at_load_time(config_file, schedule, reason):
    replace_once(config_file, 'schedule = "0 8 * * 1"', f'schedule = "{schedule}"')
    line = line_of(config_file, f'schedule = "{schedule}"')
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert str(caught.value).startswith(f"{config_file}:{line}: newsletters.hebdo.schedule: {reason}")
    listed = cli(config_file, "newsletters", "list")
    assert listed.returncode == 1
    assert listed.stderr.splitlines() == [f"Error: {caught.value}"]
