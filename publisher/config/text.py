"""config.toml as text: where a key is written, and no control characters in its values.

Used by publisher.config, whose errors name ``file:line`` and the dotted key.

No string of the config, key names included, may hold a control character (C0 and C1:
CR, LF, TAB, NUL, ESC…; the Unicode line and paragraph separators U+2028/U+2029). Config
strings end up in mail headers (sender, subject), file names, URLs and log lines, where a line
break is an injection, and none is needed on one line. The one value that may span lines is
MULTI_LINE_KEYS (a postal address is written on several lines): it may hold line breaks, still
no other control character.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from publisher.errors import ConfigError

MULTI_LINE_KEYS = {("site", "postal_address")}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x09\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")


def where(path: Path, text: str, key: tuple[str, ...]) -> str:
    """``path:line`` of the deepest part of ``key`` found in the TOML text, else ``path``."""
    best_line, best_depth = 0, 0
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.split("\n"), start=1):
        depth = 0
        if match := _TABLE.match(line):
            table = tuple(part.strip().strip("\"'") for part in match.group(1).split("."))
            if key[: len(table)] == table:
                depth = len(table)
        elif (
            (match := _KEY.match(line))
            and key[: len(table)] == table
            and len(key) > len(table)
            and key[len(table)] == match.group(1).strip("\"'")
        ):
            depth = len(table) + 1
        if depth and depth >= best_depth:
            best_line, best_depth = number, depth
    return f"{path}:{best_line}" if best_line else str(path)


def refuse_control_characters(path: Path, text: str, data: dict[str, Any]) -> None:
    """ConfigError naming the file, line and key of the first control character in the config."""
    if found := control_character(data):
        key, character = found
        raise ConfigError(
            f"{where(path, text, key)}: {_dotted(key)}: control characters (line breaks, tabs, invisible codes) "
            f"are not accepted: {character!r}"
        )


def _dotted(key: tuple[str, ...]) -> str:
    """A key as written in messages: its names dotted, a name with a control character quoted."""
    return ".".join(repr(name) if _CONTROL.search(name) else name for name in key)


def control_character(data: Any, key: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    """The first key whose name or string value (in lists and tables too) holds a control
    character, and that character; None when there is none."""
    if isinstance(data, str):
        control = (_CONTROL_BUT_LINE_BREAKS if key in MULTI_LINE_KEYS else _CONTROL).search(data)
        return (key, control[0]) if control else None
    if isinstance(data, dict):
        for name, value in data.items():
            control = _CONTROL.search(name)
            found = ((*key, name), control[0]) if control else control_character(value, (*key, name))
            if found:
                return found
    if isinstance(data, list):
        for value in data:
            if found := control_character(value, key):
                return found
    return None
