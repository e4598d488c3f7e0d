"""Email addresses: syntax check and normal form. The only module that uses email-validator.

The normal form keeps the local part as written, lower-cases the domain and writes an
internationalised (IDN) domain in punycode: ``Marie.Dupont@Exämple.FR`` →
``Marie.Dupont@xn--exmple-cua.fr``. ``address_key`` is the lower-cased normal form, under
which addresses are compared (deduplication, the forget list).

email-validator takes about 80 µs an address (more for an IDN domain): too slow for a
million-row import. Plain addresses (the overwhelming majority) take a fast path: a local
part matched by a conservative regular expression (a subset of what email-validator accepts)
and a domain checked by email-validator once per distinct domain. The result is the same;
anything else goes through email-validator, which also explains what is wrong.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from publisher.errors import PublisherError

# The fast path: a local part made of dot-atoms of the most common characters (a strict subset
# of what email-validator accepts), and a domain that email-validator has already checked.
_PLAIN = re.compile(r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@([^@\s]+)")
_LOCAL_MAX = 64
_ADDRESS_MAX = 254


class InvalidAddress(PublisherError):
    """Not a valid email address; the message says why."""


def normalize_email(text: str, allow_test_domains: bool = False) -> str:
    """The normal form of an address (surrounding spaces removed); InvalidAddress if invalid."""
    text = text.strip()
    if not text:
        raise InvalidAddress("empty address")
    plain = _plain(text, allow_test_domains)
    return plain if plain is not None else _validated(text, allow_test_domains)


def address_key(normalized: str) -> str:
    """The form under which two addresses are the same subscriber."""
    return normalized.lower()


def _plain(text: str, allow_test_domains: bool) -> str | None:
    """The normal form of a plain address, or None to let email-validator decide (and explain)."""
    match = _PLAIN.fullmatch(text)
    if match is None:
        return None
    local, domain = match.groups()
    ascii_domain = _checked_domain(domain, allow_test_domains)
    if ascii_domain is None or len(local) > _LOCAL_MAX or len(local) + 1 + len(ascii_domain) > _ADDRESS_MAX:
        return None
    return f"{local}@{ascii_domain}"


@lru_cache(maxsize=65536)
def _checked_domain(domain: str, allow_test_domains: bool) -> str | None:
    """A domain as email-validator normalises it (lower case, punycode), or None if it refuses it.

    Domains repeat a lot in a subscriber list: each one is checked once.
    """
    try:
        return _validated(f"a@{domain}", allow_test_domains).partition("@")[2]
    except InvalidAddress:
        return None


def _validated(text: str, allow_test_domains: bool) -> str:
    try:
        result = validate_email(text, check_deliverability=False, test_environment=allow_test_domains)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error).rstrip(".")) from None
    if allow_test_domains and "." not in result.ascii_domain:
        raise InvalidAddress("The part after the @-sign is not valid. It should have a period")
    return result.ascii_email or f"{result.local_part}@{result.ascii_domain}"
