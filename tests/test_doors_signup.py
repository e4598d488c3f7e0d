"""The address policy at the sign-up door, through `publisher serve` in a real process: an address
or name that the policy refuses gets a French error next to its field; nothing is stored, nothing
is sent. A look-alike spelling of a forgotten address is not a way back in."""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.config import new_test_folder
from support.paths import HOSTILE
from support.serve import cli, start_serve
from support.waiting import wait_for

from publisher.web.subscriptions import ADDRESS_REFUSED, NAME_REFUSED, VALID_ADDRESS

with (HOSTILE / "doors_signup.csv").open(encoding="utf-8", newline="") as _file:
    SIGNUP_CASES = [(row["field"], row["value"]) for row in csv.DictReader(_file)]
NON_ASCII_LOCAL_PARTS = {"jörg@example.org", "ｍａｒｉｅ@example.org", "\u0430dmin@example.org", "x\u2029y@example.org"}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`publisher serve` on the tests' config with an empty store: (base URL, its folder)."""
    folder = tmp_path_factory.mktemp("serve")
    new_test_folder(folder)
    assert cli(folder / "config.toml", "init").returncode == 0
    server = start_serve(folder / "config.toml")
    try:
        yield server.base, folder
    finally:
        server.stop()


def sign_up(base: str, **fields: str) -> httpx.Response:
    with httpx.Client(base_url=base) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/subscribe").text).group(1)
        data = {"email": "camille.martin@example.org", "name": "Camille", "consent": "oui", "csrf": csrf} | fields
        return client.post("/subscribe", data=data)


def stored_addresses(folder: Path) -> list[str]:
    exported = cli(folder / "config.toml", "subscribers", "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    return re.findall(r'"email": "([^"]+)"', exported.stdout)


def outbox(folder: Path) -> list[Path]:
    return sorted((folder / "outbox").glob("*.eml"))


@pytest.mark.parametrize(("field", "value"), SIGNUP_CASES)
def test_a_refused_address_or_name_is_a_french_error_next_to_the_field(server, field, value):
    base, folder = server
    stored_before, sent_before = stored_addresses(folder), outbox(folder)
    response = sign_up(base, **{field: value})
    assert response.status_code == 400
    if field == "email":
        expected = ADDRESS_REFUSED if value in NON_ASCII_LOCAL_PARTS else VALID_ADDRESS
    else:
        expected = NAME_REFUSED
    next_to_field = re.search(rf'<p class="error-text" id="{field}-erreur">([^<]*)</p>', response.text)
    assert next_to_field and html.unescape(next_to_field.group(1)) == expected
    assert stored_addresses(folder) == stored_before
    assert outbox(folder) == sent_before


def test_a_look_alike_of_a_forgotten_address_stores_and_sends_nothing(server):
    base, folder = server
    stored_before, sent_before = stored_addresses(folder), outbox(folder)
    assert cli(folder / "config.toml", "subscribers", "forget", "marie@exämple.fr").returncode == 0
    for spelling in ("marie@ｅｘäｍｐｌｅ．ｆｒ", "MARIE@EXA\u0308MPLE.FR", "marie@xn--exmple-cua.fr"):
        response = sign_up(base, email=spelling)
        assert response.status_code == 200
        assert "Vérifiez votre boîte de réception" in response.text
    assert stored_addresses(folder) == stored_before
    assert outbox(folder) == sent_before


def test_a_good_name_and_an_idn_domain_are_accepted(server):
    base, folder = server
    sent_before = outbox(folder)
    response = sign_up(base, email="zoe@exämple.fr", name="  Zoé N'Guessan-Müller  ")
    assert response.status_code == 200
    assert "zoe@xn--exmple-cua.fr" in stored_addresses(folder)
    wait_for(lambda: len(outbox(folder)) == len(sent_before) + 1, 10, "the confirmation email")
