from pathlib import Path

import pytest
from pydantic import ValidationError
from support.config import replace_once

from publisher.config import Secrets, load_config
from publisher.errors import ConfigError


def line_of(config_file: Path, fragment: str) -> int:
    for number, line in enumerate(config_file.read_text(encoding="utf-8").splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


def error_of(config_file: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_demo_config_loads_into_frozen_typed_objects(config_file):
    config = load_config(config_file)
    assert config.site.language == "fr"
    assert config.site.tz.key == "Europe/Paris"
    assert config.feeds.items == 50
    assert config.store.path == config_file.parent / "publisher.db"
    assert config.delivery.outbox.path == config_file.parent / "outbox"
    assert config.newsletters["hebdo"].segment in config.segments
    assert config.feeds_url == "https://www.horizons-emploi.example.org/feeds"
    with pytest.raises(ValidationError, match="frozen"):
        config.feeds.items = 3


def test_unknown_key_names_file_line_and_key(config_file):
    replace_once(config_file, "items = 50", "itemz = 50")
    assert error_of(config_file) == f"{config_file}:{line_of(config_file, 'itemz')}: feeds.itemz: unknown key"


def test_wrong_type_is_an_error_not_a_coercion(config_file):
    replace_once(config_file, "items = 50", 'items = "50"')
    message = error_of(config_file)
    assert message.startswith(f"{config_file}:{line_of(config_file, 'items = ')}: feeds.items: ")
    assert "integer" in message


def test_missing_required_key_points_at_its_table(config_file):
    replace_once(config_file, "postal_address =", "# postal_address =")
    assert (
        error_of(config_file)
        == f"{config_file}:{line_of(config_file, '[site]')}: site.postal_address: missing required key"
    )


def test_nested_table_errors_name_the_full_key(config_file):
    replace_once(config_file, "port = 587", "port = 70000")
    message = error_of(config_file)
    assert f":{line_of(config_file, 'port = 70000')}: delivery.smtp.port:" in message


def test_newsletter_must_name_a_known_segment(config_file):
    replace_once(config_file, 'segment = "tous"', 'segment = "inconnu"')
    message = error_of(config_file)
    assert "newsletters.hebdo.segment: unknown segment 'inconnu'" in message
    line = line_of(config_file, 'segment = "inconnu"')
    assert f"{config_file}:{line}:" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('timezone = "Europe/Paris"', 'timezone = "Europe/Pariss"', "site.timezone: unknown time zone"),
        (
            'base_url = "https://www.horizons-emploi.example.org"',
            'base_url = "/relatif"',
            "site.base_url: expected an absolute",
        ),
        ('transport = "outbox"', 'transport = "pigeon"', "delivery.transport: Input should be"),
        ('schedule = "0 8 * * 1"', 'schedule = "chaque lundi"', "newsletters.hebdo.schedule: expected a 5-field cron"),
        (
            'from_email = "lettre@horizons-emploi.example.org"',
            'from_email = "lettre"',
            "delivery.from_email: expected an email",
        ),
    ],
)
def test_invalid_values_are_reported_with_their_key(config_file, old, new, expected):
    replace_once(config_file, old, new)
    assert expected in error_of(config_file)


def test_invalid_toml_and_missing_file(tmp_path, config_file):
    assert "config file not found" in error_of(tmp_path / "absent.toml")
    replace_once(config_file, "[site]", "[site")
    assert "invalid TOML" in error_of(config_file)


def test_secrets_only_from_the_environment():
    secrets = Secrets.from_env({"SENDGRID_API_KEY": "SG.x", "PUBLISHER_SECRET": ""})
    assert secrets.sendgrid_api_key == "SG.x"
    assert secrets.signing_secret is None
    with pytest.raises(ConfigError, match="PUBLISHER_SECRET is not set"):
        secrets.require("signing_secret", "PUBLISHER_SECRET", "signing links")
