"""The address policy at the CSV import door: addresses a transport cannot carry and names that
could break a header are refused by line, good rows kept; look-alike spellings of one domain are
one address, for duplicates and for the forget list."""

import json
import shutil

import pytest
from support.cli import invoke_cli
from support.paths import HOSTILE

from publisher.addresses import (
    NAME_MAX,
    InvalidAddress,
    InvalidName,
    UnsupportedAddress,
    address_key,
    checked_address,
    checked_name,
    normalize_email,
)

LOOK_ALIKES = [
    "marie@exämple.fr",
    "marie@exa\u0308mple.fr",  # the ä decomposed (NFD)
    "MARIE@EXÄMPLE.FR",
    "marie@ｅｘäｍｐｌｅ．ｆｒ",  # full-width letters and full stop
    "Marie@xn--exmple-cua.fr",
    "marie@exämple\u3002fr",  # ideographic full stop
    "marie@ＥＸＡ\u0308ＭＰＬＥ.fr",
]


@pytest.fixture
def run(config_file, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "doors-test-secret")

    def invoke(*args):
        return invoke_cli(config_file, *args)

    assert invoke("init").exit_code == 0
    return invoke


def stored(run) -> dict[str, str | None]:
    exported = run("subscribers", "export", "--format", "jsonl").stdout.splitlines()
    return {row["email"]: row["name"] for row in map(json.loads, exported)}


def test_refused_addresses_and_names_are_one_line_each_and_good_rows_are_kept(run, tmp_path):
    path = shutil.copy(HOSTILE / "doors_addresses_names.csv", tmp_path / "hostile.csv")
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    non_ascii = "email: {}: non-ASCII characters before the @ are not accepted: {}"
    control = "name: {}: control characters (line breaks, tabs, invisible codes) are not accepted: {}"
    expected = {
        3: non_ascii.format("'jörg@example.org'", "'ö'"),
        4: non_ascii.format("'ｍａｒｉｅ@example.org'", "'ｍ', 'ａ', 'ｒ', 'ｉ', 'ｅ'"),
        5: non_ascii.format("'аdmin@example.org'", "'а'"),
        6: "email: '\"cite x\"@example.org': Quoting the part before the @-sign is not allowed here",
        9: control.format(repr("Marie\r\nBcc: victime@example.org"), "'\\r'"),
        11: control.format("'Ma\\trie'", "'\\t'"),
        12: control.format("'Ma\\x00rie'", "'\\x00'"),
        13: control.format("'Ma\\u2028rie'", "'\\u2028'"),
        14: control.format("'Ma\\x85rie'", "'\\x85'"),
        15: control.format("'Ma\\x7frie'", "'\\x7f'"),
        16: control.format("'Ma\\x1b[31mrie'", "'\\x1b'"),
        17: f"name: '{'x' * 60}…': longer than {NAME_MAX} characters (101)",
        18: "email: 'affichage@example.org <x@example.org>': ",
        19: "email: 'nouvelle\\nligne@example.org': ",
        21: non_ascii.format("'x\\u2029y@example.org'", "'\\u2029'"),
    }
    lines = result.output.splitlines()
    for line, message in expected.items():
        assert any(out.startswith(f"{path}:{line}: {message}") for out in lines), (line, message)
    assert sum(out.startswith(f"{path}:") for out in lines) == len(expected)  # one line each, no broken lines
    assert "5 inserted, 0 updated, 0 unchanged, 0 duplicates merged, 0 skipped, 15 rejected" in result.output
    assert stored(run) == {
        "bonne.adresse@example.org": "Bonne Adresse",
        "idn@xn--exmple-cua.fr": "Domaine accentué",
        "large@example.org": "Domaine pleine chasse",
        "juste@example.org": "Élodie Ünïcode 名前",
        "derniere@example.org": "Dernière ligne",
    }


def test_look_alike_spellings_of_one_domain_are_one_address(run, tmp_path):
    path = shutil.copy(HOSTILE / "doors_lookalikes.csv", tmp_path / "lookalikes.csv")
    first = run("subscribers", "import", str(path))
    assert first.exit_code == 0
    assert "1 inserted, 0 updated, 0 unchanged, 6 duplicates merged" in first.output
    assert list(stored(run)) == ["marie@xn--exmple-cua.fr"]


def test_the_forget_list_cannot_be_bypassed_by_a_look_alike_spelling(run, tmp_path):
    assert "added to the forget list" in run("subscribers", "forget", "marie@exämple.fr").output
    path = shutil.copy(HOSTILE / "doors_lookalikes.csv", tmp_path / "lookalikes.csv")
    again = run("subscribers", "import", str(path))
    assert "0 inserted" in again.output and "7 skipped" in again.output
    assert stored(run) == {}


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("jörg@example.org", "non-ASCII characters before the @ are not accepted: 'ö'"),
        ("redaction@example.org\r\nBcc: victime@example.org", "The part after the @-sign contains invalid"),
    ],
)
def test_a_test_copy_address_follows_the_policy(run, address, reason):
    result = run("send", "hebdo", "--test-to", address)
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1
    assert result.output.startswith(f"Error: test copy address {address!r}: {reason}")


@pytest.mark.parametrize("spelling", LOOK_ALIKES)
def test_address_key_gives_one_form_to_look_alike_spellings(spelling):
    assert address_key(checked_address(spelling)) == "marie@xn--exmple-cua.fr"
    assert address_key(normalize_email(spelling)) == "marie@xn--exmple-cua.fr"


@pytest.mark.parametrize(
    "address",
    ["jörg@example.org", "ｊ@example.org", "\u0430@example.org", "a\u200b@example.org", "é@exämple.fr"],
)
def test_a_local_part_that_is_not_ascii_is_refused_saying_which_characters(address):
    with pytest.raises(UnsupportedAddress, match="non-ASCII characters before the @ are not accepted"):
        checked_address(address)


@pytest.mark.parametrize(
    "address",
    ['"a b"@example.org', "a\r\n@example.org", "a@example.org\r\nBcc: b@example.org", "a@[192.0.2.1]", "a\x00@b.fr"],
)
def test_quoted_local_parts_line_breaks_and_literals_are_refused(address):
    with pytest.raises(InvalidAddress):
        checked_address(address)


def test_stored_addresses_from_before_the_policy_can_still_be_found():
    assert normalize_email("jörg@exämple.fr") == "jörg@xn--exmple-cua.fr"


@pytest.mark.parametrize(
    "name", ["a\rb", "a\nb", "a\tb", "a\x00b", "a\x1fb", "a\x7fb", "a\x9bb", "a\u2028b", "a\u2029b", "x" * 101]
)
def test_names_with_control_characters_or_too_long_are_refused(name):
    with pytest.raises(InvalidName):
        checked_name(name)


def test_names_lose_surrounding_spaces_and_keep_their_letters():
    assert checked_name("  Élodie  N'Guessan-Müller 名前 \n") == "Élodie  N'Guessan-Müller 名前"
    assert checked_name("x" * NAME_MAX) == "x" * NAME_MAX
    assert checked_name("") == ""
