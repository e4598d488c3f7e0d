"""`subscribers export --out` and `newsletters preview --out` never overwrite the store (or its
journal files) or config.toml, however the path is spelt (relative, with `..`, a symbolic
link): one `Error:` line, exit 1, and the files are untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.config import new_test_folder
from support.paths import HOSTILE
from support.serve import environment

OWN_FILES = [
    line for line in (HOSTILE / "probe_out_own_files.txt").read_text("utf-8").splitlines() if line and line[0] != "#"
]


def publisher(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "publisher", "--config", "config.toml", *args],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("probe_outputs")
    new_test_folder(folder)
    for command in (["init"], ["demo", "load"]):
        assert publisher(folder, *command).returncode == 0
    (folder / "feeds").mkdir(exist_ok=True)
    os.symlink(folder / "publisher.db", folder / "link-to-store.db")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    kept = (path for path in folder.iterdir() if path.is_file() and path.suffix != ".txt" and path.name[-4:] != "-shm")
    return {path.name: path.read_bytes() for path in kept}


@pytest.mark.parametrize("out", OWN_FILES)
@pytest.mark.parametrize("command", [["subscribers", "export"], ["newsletters", "preview", "hebdo"]])
def test_an_output_never_overwrites_the_store_or_the_config(folder, command, out):
    before = snapshot(folder)
    result = publisher(folder, *command, "--out", out)
    assert result.returncode == 1, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {Path(out)}: ") and "choose another file" in line, line
    assert snapshot(folder) == before
    status = publisher(folder, "status")
    assert status.returncode == 0, status.stderr
