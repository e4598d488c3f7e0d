"""The address policy at the config door: sender addresses and names follow it, and no config
string holds a control character (a postal address may span lines); each refusal is one line
naming the file, line and key, from the real CLI."""

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.config import replace_once
from support.paths import HOSTILE

from publisher.cli import main
from publisher.config import load_config

CASES = tomllib.loads((HOSTILE / "doors_config_values.toml").read_text(encoding="utf-8"))["case"]


def where(config_file: Path, fragment: str) -> str:
    if not fragment:
        return str(config_file)
    lines = config_file.read_text(encoding="utf-8").split("\n")
    return f"{config_file}:{next(n for n, line in enumerate(lines, start=1) if fragment in line)}"


@pytest.mark.parametrize("case", CASES, ids=[f"{case['key']}-{n}" for n, case in enumerate(CASES)])
def test_a_hostile_config_value_is_one_error_line_naming_file_line_and_key(config_file, case):
    replace_once(config_file, case["old"], case["new"])
    result = CliRunner().invoke(main, ["--config", str(config_file), "status"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: {where(config_file, case['line_with'])}: {case['key']}: ")
    reason = "control characters (line breaks, tabs, invisible codes) are not accepted"
    assert (reason if case["reason"] == "control" else case["reason"]) in line


def test_a_postal_address_may_span_lines_and_senders_are_kept_in_normal_form(config_file):
    postal_address = 'postal_address = "Horizons Emploi-Formation, '
    replace_once(config_file, postal_address, 'postal_address = """Horizons Emploi-Formation\r\n')
    replace_once(config_file, 'France"', 'France"""')
    replace_once(
        config_file, 'from_email = "lettre@horizons-emploi.example.org"', 'from_email = " Lettre@Horizons-Émploi.FR "'
    )
    replace_once(
        config_file, 'from_name = "Horizons Emploi-Formation"', 'from_name = "  Horizons Emploi–Formation, Orléans "'
    )
    config = load_config(config_file)
    assert config.site.postal_address.splitlines()[0] == "Horizons Emploi-Formation"
    assert config.delivery.from_email == "Lettre@xn--horizons-mploi-jkb.fr"
    assert config.delivery.from_name == "Horizons Emploi–Formation, Orléans"
