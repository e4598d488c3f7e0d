"""The newsletter keys of config.toml."""

from __future__ import annotations

import pytest
from support.config import replace_once

from publisher.config import load_config
from publisher.errors import ConfigError


def test_demo_newsletters(config):
    hebdo, sujets = config.newsletters["hebdo"], config.newsletters["mes-sujets"]
    assert (hebdo.selection, hebdo.group_by, hebdo.max_items, hebdo.utm) == ("all", "date", 10, True)
    assert (sujets.selection, sujets.group_by, sujets.max_items) == ("interests", "tag", 8)
    assert hebdo.text_template_name == "digest.txt.j2"
    assert config.digests.templates_dir == config.base_dir / "newsletters"


def test_templates_dir_defaults_beside_config_toml(config_file):
    replace_once(config_file, '[digests]\ntemplates_dir = "newsletters"', "")
    config = load_config(config_file)
    assert config.digests.templates_dir == config_file.parent / "newsletters"
    assert config.store.path == config_file.parent / "publisher.db"


def test_tags_are_kept_as_slugs(config_file):
    replace_once(
        config_file, 'selection = "all"', 'selection = "tags"\ntags = ["bassin d\'emploi", "bassin-d-emploi", "VAE"]'
    )
    assert load_config(config_file).newsletters["hebdo"].tags == ["bassin-d-emploi", "vae"]


def test_tag_selection_needs_tags(config_file):
    replace_once(config_file, 'selection = "all"', 'selection = "tags"')
    with pytest.raises(ConfigError, match=r'newsletters\.hebdo: selection = "tags" needs a non-empty tags list'):
        load_config(config_file)


@pytest.mark.parametrize("name", ["../secret.mjml.j2", "/etc/passwd", "a//b.j2"])
def test_template_names_stay_inside_the_templates_folder(config_file, name):
    replace_once(config_file, 'template = "digest.mjml.j2"', f'template = "{name}"')
    with pytest.raises(ConfigError, match=r"config\.toml:\d+: newsletters\.hebdo\.template: expected a template file"):
        load_config(config_file)


def test_text_template_can_be_named(config_file):
    replace_once(
        config_file, 'template = "digest.mjml.j2"', 'template = "digest.mjml.j2"\ntext_template = "court.txt.j2"'
    )
    assert load_config(config_file).newsletters["hebdo"].text_template_name == "court.txt.j2"


def test_archive_is_public_by_default_unless_made_per_reader(config_file):
    config = load_config(config_file)
    assert config.newsletters["hebdo"].public_archive and config.newsletters["hebdo"].archive is None
    assert not config.newsletters["mes-sujets"].public_archive
    replace_once(config_file, 'selection = "all"', 'selection = "tags"\ntags = ["VAE"]\narchive = false')
    replace_once(config_file, 'selection = "interests"', 'selection = "interests"\narchive = true')
    config = load_config(config_file)
    assert not config.newsletters["hebdo"].public_archive
    assert config.newsletters["mes-sujets"].public_archive


def test_archive_must_be_a_boolean(config_file):
    replace_once(config_file, 'selection = "all"', 'selection = "all"\narchive = "no"')
    with pytest.raises(
        ConfigError, match=r"config\.toml:\d+: newsletters\.hebdo\.archive: Input should be a valid boolean"
    ):
        load_config(config_file)
