"""Secrets read from the environment that are not UTF-8 text (a value pasted from a Latin-1
file, a binary key): one `Error:` line naming the variable, never a traceback, and the value is
not echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import HOSTILE
from support.serve import SECRET
from support.webserver import free_port

NOT_UTF8 = [line for line in (HOSTILE / "probe_env_not_utf8.txt").read_bytes().splitlines()[1:] if line]
VARIABLES = ["PUBLISHER_SECRET", "PUBLISHER_ADMIN_PASSWORD", "SENDGRID_API_KEY", "SMTP_PASSWORD"]


def publisher(config_file: Path, *args: str, variable: str, value: bytes) -> subprocess.CompletedProcess:
    env = {**os.environb, b"PUBLISHER_SECRET": SECRET.encode(), variable.encode(): value}
    return subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(config_file), *args],
        env=env,
        capture_output=True,
        timeout=30,
    )


@pytest.fixture
def loaded(config_file):
    for command in (["init"], ["demo", "load"]):
        result = publisher(config_file, *command, variable="UNUSED", value=b"")
        assert result.returncode == 0, result.stderr
    return config_file


@pytest.mark.parametrize("value", NOT_UTF8)
@pytest.mark.parametrize("variable", VARIABLES)
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["run-once"], ["status"]])
def test_a_secret_that_is_not_utf8_is_one_error_line_naming_it(loaded, command, variable, value):
    if command[0] == "serve":
        command = ["serve", "--port", str(free_port())]
    result = publisher(loaded, *command, variable=variable, value=value)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.decode("utf-8", "replace").strip().splitlines()
    assert line == f"Error: environment variable {variable} is not valid UTF-8 text", line
    assert value not in result.stderr
