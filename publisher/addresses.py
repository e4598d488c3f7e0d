"""Email addresses: syntax check and normal form. The only module that uses email-validator.

The normal form keeps the local part as written, lower-cases the domain and writes an
internationalised (IDN) domain in punycode: ``Marie.Dupont@Exämple.FR`` →
``Marie.Dupont@xn--exmple-cua.fr``. ``address_key`` is the normal form with its ASCII letters
lower-cased, under which addresses are compared (deduplication, the forget list), as the
store's ``COLLATE NOCASE`` column compares them.

email-validator takes about 80 µs an address (more for an IDN domain): too slow for a
million-row import. Plain addresses (the overwhelming majority) take a fast path: a local
part matched by a conservative regular expression (a subset of what email-validator accepts)
and a domain checked by email-validator once per distinct domain. The result is the same;
anything else goes through email-validator, which also explains what is wrong.
"""

from __future__ import annotations

import re
import string

from email_validator import EmailNotValidError, validate_email

from publisher.errors import PublisherError

# The fast path: a local part made of dot-atoms of the most common characters (a strict subset
# of what email-validator accepts), and a domain that email-validator has already checked.
_PLAIN = re.compile(r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@([^@\s]+)")
_LOCAL_MAX = 64
_ADDRESS_MAX = 254
_REFUSED = ""  # in the domain caches: email-validator refused the domain
_DOMAINS_MAX = 65536  # distinct domains remembered (a cache cleared when full)
# Domain as written → as email-validator normalises it (lower case, punycode), or _REFUSED;
# one cache with test domains allowed, one without.
_DOMAINS: dict[bool, dict[str, str]] = {False: {}, True: {}}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class InvalidAddress(PublisherError):
    """Not a valid email address; the message says why."""


def normalize_email(text: str, allow_test_domains: bool = False) -> str:
    """The normal form of an address (surrounding spaces removed); InvalidAddress if invalid."""
    text = text.strip()
    plain = _plain(text, allow_test_domains)
    if plain is not None:
        return plain
    if not text:
        raise InvalidAddress("empty address")
    return _validated(text, allow_test_domains)


def address_key(normalized: str) -> str:
    """The form under which two addresses are the same subscriber: ASCII letters lower-cased,
    exactly as the store compares addresses (SQLite's NOCASE folds A-Z and nothing else), so
    ``Marie.Dupont@`` and ``marie.dupont@`` are one subscriber while ``Élodie@`` and ``élodie@``
    are two (a mail server may tell them apart, and the store's unique index does)."""
    if normalized.isascii():  # the common case: str.lower is then the same, and much faster
        return normalized.lower()
    return normalized.translate(_ASCII_LOWER)


def _plain(text: str, allow_test_domains: bool) -> str | None:
    """The normal form of a plain address, or None to let email-validator decide (and explain).

    Runs once per row of an import: one regular expression and one dictionary look-up.
    """
    match = _PLAIN.fullmatch(text)
    if match is None:
        return None
    domain = match[2]
    ascii_domain = _DOMAINS[allow_test_domains].get(domain)
    if ascii_domain is None:
        ascii_domain = _checked_domain(domain, allow_test_domains)
    if not ascii_domain or match.end(1) > _LOCAL_MAX:  # refused, or a local part too long
        return None
    if ascii_domain == domain:  # already in normal form (the common case)
        return text if len(text) <= _ADDRESS_MAX else None
    normalized = f"{match[1]}@{ascii_domain}"
    return normalized if len(normalized) <= _ADDRESS_MAX else None


def _checked_domain(domain: str, allow_test_domains: bool) -> str:
    """A domain as email-validator normalises it, or _REFUSED; remembered (domains repeat a lot)."""
    try:
        ascii_domain = _validated(f"a@{domain}", allow_test_domains).partition("@")[2]
    except InvalidAddress:
        ascii_domain = _REFUSED
    cache = _DOMAINS[allow_test_domains]
    if len(cache) >= _DOMAINS_MAX:
        cache.clear()
    cache[domain] = ascii_domain
    return ascii_domain


def _validated(text: str, allow_test_domains: bool) -> str:
    try:
        result = validate_email(text, check_deliverability=False, test_environment=allow_test_domains)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error).rstrip(".")) from None
    if allow_test_domains and "." not in result.ascii_domain:
        raise InvalidAddress("The part after the @-sign is not valid. It should have a period")
    return result.ascii_email or f"{result.local_part}@{result.ascii_domain}"
