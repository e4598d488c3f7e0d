"""Helpers for the feeds tests: store copies and file snapshots."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from support.articles import SITE

FEEDS_URL = f"{SITE}/feeds"


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a live store (a file copy would miss what is still in the WAL)."""
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()


@dataclass(frozen=True)
class FileState:
    data: bytes
    inode: int
    mtime_ns: int


def snapshot(folder: Path) -> dict[str, FileState]:
    """Every file of the folder (but the lock) with its bytes, inode and modification time."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != ".build.lock":
            stat = path.stat()
            state[str(path.relative_to(folder))] = FileState(path.read_bytes(), stat.st_ino, stat.st_mtime_ns)
    return state


def touched(before: dict[str, FileState], after: dict[str, FileState]) -> set[str]:
    """Files created, deleted or replaced (new inode or modification time) between two snapshots."""
    names = set(before) | set(after)
    return {
        name
        for name in names
        if name not in before
        or name not in after
        or (before[name].inode, before[name].mtime_ns) != (after[name].inode, after[name].mtime_ns)
    }


def feed_files(name: str) -> set[str]:
    return {f"{name}.rss.xml", f"{name}.atom.xml", f"{name}.json"}
