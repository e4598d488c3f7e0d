"""Email addresses: normal form, IDN, and a fast path that agrees with email-validator."""

import csv
import random
import string

import pytest
from support.paths import HOSTILE

from publisher.addresses import (
    InvalidAddress,
    InvalidName,
    _plain,
    _validated,
    address_key,
    checked_address,
    checked_name,
    normalize_email,
    unsendable,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  Marie.Dupont@Example.ORG \t", "Marie.Dupont@example.org"),
        ("jean-luc+lettre@mission-locale.fr", "jean-luc+lettre@mission-locale.fr"),
        ("a@exämple.fr", "a@xn--exmple-cua.fr"),  # IDN domain → punycode
        ("A@EXÄMPLE.FR", "A@xn--exmple-cua.fr"),
        ("a@xn--exmple-cua.fr", "a@xn--exmple-cua.fr"),
        ("jörg@exämple.fr", "jörg@xn--exmple-cua.fr"),  # internationalised local part kept
        ("o'brien@example.ie", "o'brien@example.ie"),  # unusual but valid: through email-validator
    ],
)
def test_normal_form(given, expected):
    assert normalize_email(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "   ",
        "marie",
        "marie@",
        "@example.org",
        "a..b@example.org",
        "a@b",
        "a@localhost",
        "a@b.c0",
        "a b@c.fr",
        "a@-b.fr",
        "a@b-.fr",
        "a@ab--cd.fr",
        "a@example.local",
        "x@y.test",
        ".a@b.fr",
        "a.@b.fr",
        "a@b..fr",
        "Marie <marie@example.org>",
        "a@" + "b" * 64 + ".fr",
        "a" * 250 + "@b.fr",
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(given):
    with pytest.raises(InvalidAddress) as error:
        normalize_email(given)
    assert str(error.value)


def test_test_domains_only_when_allowed():
    assert normalize_email("x@mission-locale.test", allow_test_domains=True) == "x@mission-locale.test"
    with pytest.raises(InvalidAddress, match="special-use"):
        normalize_email("x@mission-locale.test")
    with pytest.raises(InvalidAddress):
        normalize_email("x@test", allow_test_domains=True)


def test_address_key_ignores_the_case_of_ascii_letters_only_as_the_store_does():
    assert address_key(normalize_email("Marie.Dupont@EXAMPLE.org")) == address_key(
        normalize_email("marie.dupont@example.org")
    )
    assert address_key("ÉLODIE@example.org") == "Élodie@example.org" != address_key("élodie@example.org")


def _candidates(count: int):
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + "._+-'!#éä@ "
    fixed = ["a@b.fr", "A.B@C.DE", "x@y.co1", "x@1.fr", "x@a-b.fr", "x@a--b.fr", "x@xn--a.fr", "x@y.z", "x_y@a.b.c.fr"]
    yield from fixed
    for _ in range(count):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        domain = ".".join(
            "".join(rng.choice(string.ascii_letters + string.digits + "-") for _ in range(rng.randint(1, 8)))
            for _ in range(rng.randint(1, 3))
        )
        yield f"{local}@{domain}"


def test_fast_path_accepts_only_what_email_validator_accepts_with_the_same_result():
    agreed = 0
    for candidate in _candidates(20000):
        fast = _plain(candidate, allow_test_domains=False)
        if fast is None:
            continue
        assert fast == _validated(candidate, allow_test_domains=False), candidate
        agreed += 1
    assert agreed > 1000  # the fast path is really exercised


def test_the_send_time_check_passes_every_address_and_name_the_doors_accept():
    """``unsendable`` (send time, a regular expression) and ``checked_address``/``checked_name``
    (the doors, email-validator) are one policy: what a door accepts is always sendable, and
    the hostile rows the doors refuse for a transport's sake are refused at send time too."""
    rows = list(csv.reader((HOSTILE / "doors_addresses_names.csv").open(encoding="utf-8")))[1:]
    samples = [
        *rows,
        *((address, "Marie") for address in ("o'brien@example.ie", "a@exämple.fr", "x_y+z@sub.example.org")),
    ]
    accepted = 0
    for email, name in samples:
        try:
            stored = checked_address(email, allow_test_domains=True)
            checked_name(name)
        except (InvalidAddress, InvalidName):
            stored = normalize_email(email, allow_test_domains=True) if _normalizes(email) else None
            if stored is not None and not stored.rpartition("@")[0].isascii():
                assert unsendable(stored, "") is not None, email
            continue
        accepted += 1
        assert unsendable(stored, name.strip()) is None, (email, name)
    assert accepted >= 5
    assert (
        unsendable("marie@example.org", "Marie\r\nBcc: x@example.org") == "name: contains a control character (U+000D)"
    )


def _normalizes(email: str) -> bool:
    try:
        normalize_email(email, allow_test_domains=True)
    except InvalidAddress:
        return False
    return True
