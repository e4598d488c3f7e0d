"""Email addresses: syntax check and normal form. The only module that uses email-validator.

The normal form keeps the local part as written, lower-cases the domain and writes an
internationalised (IDN) domain in punycode: ``Marie.Dupont@Exämple.FR`` →
``Marie.Dupont@xn--exmple-cua.fr``. ``address_key`` is the lower-cased normal form, under
which addresses are compared (deduplication, the forget list).

Plain addresses (the overwhelming majority) are recognised by a conservative regular
expression that accepts only what email-validator accepts, with the same result; anything
else goes through email-validator (about 80 µs an address, too slow for a million-row import).
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from publisher.errors import PublisherError

# The fast path: dot-atoms of the most common characters, labels of letters, digits and
# inner hyphens (no "--", which IDNA reserves), a top-level domain of letters only.
_LOCAL = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?!-)){0,62}(?<!-)"
_TLD = r"[A-Za-z]{2,63}"
_PLAIN = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+{_TLD})")
_LOCAL_MAX = 64
_DOMAIN_MAX = 253
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
    match = _PLAIN.fullmatch(text)
    if match is None or len(text) > _ADDRESS_MAX:
        return None
    local, domain = match.group(1), match.group(2).lower()
    if len(local) > _LOCAL_MAX or len(domain) > _DOMAIN_MAX or _special_use(domain, allow_test_domains):
        return None  # let email-validator decide, and explain
    return f"{local}@{domain}"


def _special_use(domain: str, allow_test_domains: bool) -> bool:
    dotless, dotted = _special_use_names(allow_test_domains)
    return domain.rpartition(".")[2] in dotless or any(domain == name or domain.endswith("." + name) for name in dotted)


@lru_cache(maxsize=2)
def _special_use_names(allow_test_domains: bool) -> tuple[frozenset[str], tuple[str, ...]]:
    """email-validator's special-use domains: top-level ones (a set) and longer ones."""
    names = [name for name in SPECIAL_USE_DOMAIN_NAMES if not (allow_test_domains and name == "test")]
    return frozenset(name for name in names if "." not in name), tuple(name for name in names if "." in name)


def _validated(text: str, allow_test_domains: bool) -> str:
    try:
        result = validate_email(text, check_deliverability=False, test_environment=allow_test_domains)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error).rstrip(".")) from None
    if allow_test_domains and "." not in result.ascii_domain:
        raise InvalidAddress("The part after the @-sign is not valid. It should have a period")
    return result.ascii_email or f"{result.local_part}@{result.ascii_domain}"
