"""Email addresses and display names: the policy applied at every door, syntax check and normal
form. The only module that uses email-validator.

The policy (``checked_address``, ``checked_name``), applied to every address and name that
enters: the CSV import, the sign-up form, the config's sender addresses and names:

- The part before the @ must be ASCII, without quotes: every transport must be able to carry
  the address, and SendGrid and most SMTP relays cannot carry internationalised local parts
  (SMTPUTF8, RFC 6531), so ``jörg@exemple.fr`` would fail at send time. It is refused at the door.
- The domain may be internationalised (IDN): it is stored in punycode, which every transport
  carries. IDNA/UTS 46 mapping gives look-alike spellings of one domain (full-width letters,
  decomposed accents, upper case) one punycode form, so they are one address.
- A display name (a subscriber's name, a sender's ``from_name``) loses its surrounding spaces,
  may not contain control characters (C0 and C1, including CR, LF, TAB and NUL, the Unicode
  line and paragraph separators U+2028/U+2029, lone surrogates: a line break in a header is a
  header injection, and none of them can be typed in a form) and is at most NAME_MAX
  characters long (a name, not a text; it must fit a header line).

At send time, ``unsendable`` checks each recipient against the same policy again, cheaply
(a regular expression, no email-validator): rows stored before the policy may break it, and
such a recipient fails alone with the reason.

Addresses already stored are still found by ``normalize_email``, which accepts what the store
may hold from before the policy (internationalised local parts): staff can still show,
unsubscribe or forget them.

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

from publisher.errors import InvalidAddress, InvalidName, UnsupportedAddress

# The fast path: a local part made of dot-atoms of the most common characters (a strict subset
# of what email-validator accepts), and a domain that email-validator has already checked.
_PLAIN = re.compile(r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@([^@\s]+)")
_LOCAL_MAX = 64
_ADDRESS_MAX = 254
# At send time: an RFC 5322 dot-atom local part, and a domain of ASCII labels (an IDN in punycode).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SENDABLE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_REFUSED = ""  # in the domain caches: email-validator refused the domain
_DOMAINS_MAX = 65536  # distinct domains remembered (a cache cleared when full)
# Domain as written → as email-validator normalises it (lower case, punycode), or _REFUSED;
# one cache with test domains allowed, one without.
_DOMAINS: dict[bool, dict[str, str]] = {False: {}, True: {}}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
NAME_MAX = 100  # characters of a display name
# C0 and C1 controls (CR, LF, TAB, NUL…), DEL, the line and paragraph separators, surrogates.
_NOT_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def checked_address(text: str, allow_test_domains: bool = False) -> str:
    """The normal form of an address that passes the policy (see the module docstring);
    UnsupportedAddress for a local part that is not ASCII, InvalidAddress for anything else
    refused. Surrounding spaces are removed."""
    text = text.strip()
    plain = _plain(text, allow_test_domains)  # plain addresses pass the policy
    if plain is not None:
        return plain
    local_part = text.rpartition("@")[0]
    if not local_part.isascii():
        shown = ", ".join(repr(char) for char in dict.fromkeys(local_part) if not char.isascii())
        raise UnsupportedAddress(f"non-ASCII characters before the @ are not accepted: {shown}")
    return normalize_email(text, allow_test_domains)


def checked_name(text: str) -> str:
    """A display name without its surrounding spaces, if it passes the policy (see the module
    docstring); InvalidName otherwise. Runs once per row of an import: keep it cheap."""
    name = text.strip()
    if len(name) > NAME_MAX:
        raise InvalidName(f"longer than {NAME_MAX} characters ({len(name)})")
    control = _NOT_IN_NAMES.search(name)
    if control is not None:
        raise InvalidName(f"control characters (line breaks, tabs, invisible codes) are not accepted: {control[0]!r}")
    return name


def unsendable(email: str, name: str) -> str | None:
    """Why a message to this stored address and display name cannot be sent (``email: …`` or
    ``name: …``), or None: the policy checked again at send time, without the name's length cap
    (a long name still fits a header)."""
    if not _SENDABLE.fullmatch(email) or len(email) > _ADDRESS_MAX or email.index("@") > _LOCAL_MAX:
        return _address_problem(email)
    control = _NOT_IN_NAMES.search(name)
    if control is not None:
        return f"name: contains a control character (U+{ord(control[0]):04X})"
    return None


def _address_problem(email: str) -> str:
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or "@" in local or not email.isprintable():
        return "email: not a valid address"
    if local.startswith('"'):
        return "email: quoted local parts are not sent"
    if not local.isascii():
        return "email: the part before @ is not plain ASCII"
    if not domain.isascii():
        return "email: the domain is not in ASCII (punycode)"
    return "email: not a valid address"


def normalize_email(text: str, allow_test_domains: bool = False) -> str:
    """The normal form of an address (surrounding spaces removed); InvalidAddress if invalid.
    Also accepts internationalised local parts, to find what the store held before the policy:
    a door checks new addresses with ``checked_address``."""
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
