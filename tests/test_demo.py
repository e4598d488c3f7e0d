"""The demo config.toml, which staff edit, is read by this test only: it loads, and the steps of
`make demo` run on it. Every other test starts from the tests' own config (tests/data/config.toml,
support.config.new_test_folder), so a newsletter or segment a staff member adds changes no test."""

from __future__ import annotations

import re
import shlex
import shutil

from support.paths import ROOT
from support.serve import cli

from publisher.config import load_config


def make_demo_steps() -> list[list[str]]:
    """The `publisher …` commands of the Makefile's demo recipe, in order, without the program."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "no demo target in the Makefile"
    lines = [line.strip() for line in recipe.group(1).splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("$(BIN)/publisher")]


def test_the_demo_config_loads_and_make_demo_runs(tmp_path):
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "newsletters", tmp_path / "newsletters")
    load_config(tmp_path / "config.toml")
    steps = make_demo_steps()
    assert [step[:2] for step in steps[:2]] == [["init"], ["demo", "load"]], steps
    for step in steps:
        done = cli(tmp_path / "config.toml", *step)
        assert done.returncode == 0, f"publisher {shlex.join(step)}: {done.stderr}"
        assert "Traceback" not in done.stderr and "warning:" not in done.stderr, done.stderr
