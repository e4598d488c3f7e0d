"""The tests' config.toml: a folder of their own (``new_test_folder``), and the one editor: set
keys of a section, or replace a piece of text.

The tests never read the repository's config.toml, which staff edit: they start from
tests/data/config.toml.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from support.paths import DATA, ROOT

TEST_CONFIG = DATA / "config.toml"


def new_test_folder(folder: Path, extra: str = "") -> Path:
    """The tests' config.toml (with ``extra`` TOML appended) and the newsletter templates copied
    into ``folder`` (so store, feeds and outbox land there); the config file."""
    config_file = folder / "config.toml"
    config_file.write_text(TEST_CONFIG.read_text(encoding="utf-8") + extra, encoding="utf-8")
    shutil.copytree(ROOT / "newsletters", folder / "newsletters")
    return config_file


def set_keys(config_file: Path, section: str, **values: object) -> None:
    """Set keys of one [section] of a TOML file in place (values as TOML literals via JSON): a key
    already there, even commented out, is replaced where it is; a new one goes under the header."""
    text = config_file.read_text(encoding="utf-8")
    header = re.search(rf"^\[{re.escape(section)}\][ \t]*$", text, re.MULTILINE)
    assert header, f"no [{section}] in {config_file}"
    end = re.search(r"^\[", text[header.end() :], re.MULTILINE)
    body_end = header.end() + (end.start() if end else len(text) - header.end())
    body = text[header.end() : body_end]
    for key, value in values.items():
        literal = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
        line = f"{key} = {literal}"
        pattern = re.compile(rf"^#?[ \t]*{key}[ \t]*=.*$", re.MULTILINE)
        body = pattern.sub(line, body, count=1) if pattern.search(body) else f"\n{line}{body}"
    config_file.write_text(text[: header.end()] + body + text[body_end:], encoding="utf-8")


def replace_once(config_file: Path, old: str, new: str) -> Path:
    """Replace the first ``old`` of the file with ``new`` (``old`` must be there); the file."""
    text = config_file.read_text(encoding="utf-8")
    assert old in text, old
    config_file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return config_file
