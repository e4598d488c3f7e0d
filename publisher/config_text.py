"""config.toml as text: where a key is written.

Used by publisher.config, whose errors name ``file:line`` and the dotted key.
"""

from __future__ import annotations

import re
from pathlib import Path

_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")


def where(path: Path, text: str, key: tuple[str, ...]) -> str:
    """``path:line`` of the deepest part of ``key`` found in the TOML text, else ``path``."""
    best_line, best_depth = 0, 0
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
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
