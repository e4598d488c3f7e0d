"""Bytes an attacker can put on the wire that httpx would not send: `publisher serve` answers
each with a 4xx page (or the page itself), never a 500, and logs no traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from support.config import new_test_folder
from support.paths import HOSTILE
from support.serve import cli, serving

HEADERS = [line for line in (HOSTILE / "probe_raw_headers.txt").read_bytes().splitlines()[1:] if line]
PATHS = [b"/", b"/admin/", b"/subscribe", b"/archive/", b"/archive/1", b"/unsubscribe/x"]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("probe_web")
    new_test_folder(folder)
    for command in (["init"], ["demo", "load"]):
        assert cli(folder / "config.toml", *command).returncode == 0
    with serving(folder / "config.toml") as url:
        yield url


def status_line(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("path", PATHS)
def test_a_header_of_raw_bytes_is_never_a_500(base, path, header):
    line = status_line(base, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + header + b"\r\nConnection: close\r\n\r\n")
    assert line[:9] == b"HTTP/1.1 " and line[9:10] in b"234", line
