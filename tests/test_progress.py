"""Long work shows a real progress bar on a terminal (count, rate, time left) and nothing
elsewhere: a subscriber import, a feeds build and a send, run in a pseudo-terminal, in a pipe
and in CI."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import ROOT
from support.serve import cli, environment

ROWS = 30_000
FRAME = re.compile(
    r"(?P<label>[A-Z][a-z]+ [a-z-]+)\s+\[[#-]*\]\s+(?P<done>\d+)/(?P<total>\d+)\s+[\d,]+ (?P<unit>\w+)/s"
)


@pytest.fixture
def folder(tmp_path) -> Path:
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "newsletters", tmp_path / "newsletters")
    assert cli(tmp_path / "config.toml", "init").returncode == 0
    lines = ["email,name"] + [f"lecteur{number}@example.org,Lecteur {number}" for number in range(ROWS)]
    (tmp_path / "office.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def on_terminal(folder: Path, *args: str, **env: str) -> tuple[int, str]:
    """`publisher ARGS…` with stderr on a pseudo-terminal, as staff run it; (exit status, what the terminal showed)."""
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "publisher", "--config", str(folder / "config.toml"), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env=environment(**env),
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return process.wait(timeout=120), shown.decode("utf-8", "replace")


def frames(shown: str) -> list[dict[str, str]]:
    return [match.groupdict() for match in FRAME.finditer(shown)]


def without_ci() -> dict[str, str]:
    return {"CI": ""}


def test_a_large_import_shows_count_rate_and_time_left_then_finishes_at_the_total(folder):
    status, shown = on_terminal(folder, "subscribers", "import", str(folder / "office.csv"), **without_ci())
    assert status == 0, shown
    seen = frames(shown)
    assert seen, shown
    assert {frame["label"] for frame in seen} == {"Importing subscribers"}
    assert {frame["unit"] for frame in seen} == {"rows"}
    assert {int(frame["total"]) for frame in seen} == {ROWS}
    done = [int(frame["done"]) for frame in seen]
    assert done == sorted(done) and done[-1] == ROWS and len(set(done)) >= 2  # it moved, then finished
    assert re.search(r"rows/s, \d+:\d\d left", shown), shown  # time left while it runs


def test_a_feeds_build_and_a_send_show_their_bars(folder):
    assert cli(folder / "config.toml", "demo", "load").returncode == 0
    status, shown = on_terminal(folder, "feeds", "build", **without_ci())
    assert status == 0, shown
    last = frames(shown)[-1]
    assert last["label"] == "Rendering feeds" and last["unit"] == "feeds" and last["done"] == last["total"]
    status, shown = on_terminal(folder, "send", "hebdo", **without_ci())
    assert status == 0, shown
    last = frames(shown)[-1]
    assert last["label"] == "Sending hebdo" and last["unit"] == "messages"
    assert int(last["done"]) == int(last["total"]) == len(list((folder / "outbox").glob("hebdo-*.eml")))


def test_pipes_and_ci_logs_stay_quiet(folder):
    piped = cli(folder / "config.toml", "subscribers", "import", str(folder / "office.csv"), CI="")
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    assert piped.stdout.splitlines()[0] == "encoding: UTF-8"  # the report only, no bar
    assert piped.stdout.splitlines()[1].startswith("30000 inserted") and "\r" not in piped.stdout
    status, shown = on_terminal(folder, "feeds", "build", "--full", CI="true")
    assert status == 0, shown
    assert frames(shown) == [] and "feeds/s" not in shown
