"""Small text helpers for digests: French dates (Babel), UTM links, plain-text wrapping.

They are the Jinja filters of the templates too (see templates.FILTERS).
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date

DEFAULT_DATE = "d MMMM y"  # 5 février 2020
UTM_SOURCE = "newsletter"
UTM_MEDIUM = "email"
_SPACES = re.compile(r"[ \t\n\r\f\v]+")  # not the no-break spaces of French typography
_DAY = re.compile(r"(?<![A-Za-z'])d(?![A-Za-z])")  # the CLDR day-of-month field, not "dd" or quoted text


@lru_cache(maxsize=16)
def babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("fr")


def format_date(
    moment: date | datetime, pattern: str = DEFAULT_DATE, language: str = "fr", tz: tzinfo | None = None
) -> str:
    """A date in words, in the site's language and time zone: "5 février 2020".

    ``pattern`` is a CLDR pattern ("EEEE d MMMM" → "mercredi 5 février"). In French the first
    day of a month is written "1er".
    """
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment!r}: times must carry an offset")
        moment = (moment.astimezone(tz) if tz else moment).date()
    return _format_day(moment, pattern, language)


@lru_cache(maxsize=4096)
def _format_day(day: date, pattern: str, language: str) -> str:
    locale = babel_locale(language)
    if day.day == 1 and locale.language == "fr":
        pattern = _DAY.sub("'1er'", pattern)
    return babel_format_date(day, pattern, locale=locale)


_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([:;!?»])")
_AFTER_GUILLEMET = re.compile(r"«[ \t]+")


def french_spacing(text: str) -> str:
    """No-break spaces before : ; ! ? » and after «, so a line never starts with them."""
    return _AFTER_GUILLEMET.sub("«\u00a0", _BEFORE_PUNCTUATION.sub("\u00a0\\1", text))


_BREAKING_SPACES = re.compile(r"[^\S\u00a0\u202f]+")  # any whitespace but the no-break spaces


def one_line(text: str) -> str:
    """``text`` on one line: runs of whitespace (line breaks too) become one space; the no-break
    spaces of French typography (« suivis\u202f: ») stay."""
    return _BREAKING_SPACES.sub(" ", text).strip()


def capitalize_first(text: str) -> str:
    """Upper-case the first letter only ("bassin d'emploi" → "Bassin d'emploi")."""
    return text[:1].upper() + text[1:]


def absolute_url(url: str, base_url: str) -> str:
    """``url`` resolved against the site's base URL (absolute URLs are returned as they are)."""
    return urljoin(base_url.rstrip("/") + "/", url)


def with_utm(url: str, campaign: str) -> str:
    """``url`` with utm_source=newsletter, utm_medium=email and utm_campaign, keeping its other
    parameters and fragment; UTM parameters already in the URL win."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in query}
    added = [
        (name, value)
        for name, value in (("utm_source", UTM_SOURCE), ("utm_medium", UTM_MEDIUM), ("utm_campaign", campaign))
        if name not in present
    ]
    return urlunsplit(parts._replace(query=urlencode(query + added)))


def wrap(text: str, width: int = 72, indent: str = "", first_indent: str | None = None) -> str:
    """Plain text wrapped at ``width`` for the text/plain part; long words (URLs) are never
    broken, and no-break spaces (French typography) are kept."""
    lines: list[str] = []
    line = indent if first_indent is None else first_indent
    empty = len(line)
    for word in _SPACES.split(str(text).strip()):
        if len(line) > empty and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = indent
            empty = len(line)
        line = f"{line} {word}" if len(line) > empty else line + word
    lines.append(line)
    return "\n".join(lines)


def underline(text: str, char: str = "=") -> str:
    """``text`` followed by a line of ``char`` as long as it (a plain-text heading)."""
    return f"{text}\n{char * len(text)}"


def tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip("\n") + "\n"
