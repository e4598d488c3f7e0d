"""Article text made safe for feeds: valid XML characters, sanitised HTML, absolute URLs.

Feed readers render ``content_html`` as HTML, and the W3C Feed Validation Service flags
anything a reader should not run (scripts, event attributes, ``javascript:`` URLs, iframes,
styles), relative links, and characters XML forbids. Article HTML comes from editors and
imports, so it is cleaned here with nh3 (the Rust ammonia sanitiser): a short list of
formatting tags and attributes is kept, broken markup is repaired, every ``href``/``src`` is
resolved against the article URL and percent-encoded to a plain URI.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import nh3

# XML 1.0 forbids C0 controls (but tab, newline, carriage return), surrogates, U+FFFE/U+FFFF;
# the validator also flags C1 controls (U+0080–U+009F) and U+FFFD (a decoding accident).
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")
_SPACES = re.compile(r"[^\S\u00a0\u202f]+")  # not the no-break spaces of French typography

# Formatting HTML that every reader renders and the validator accepts (its acceptable_elements).
ALLOWED_TAGS = frozenset(
    {
        *("a", "abbr", "acronym", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup"),
        *("dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre"),
        *("q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup"),
        *("table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var"),
    }
)
ALLOWED_ATTRIBUTES = {
    "*": {"lang", "title"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "ol": {"start", "reversed"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Characters the validator accepts in a URI (RFC 2396); everything else is percent-encoded.
_URI_SAFE = ";/?:@&=+$,-_.!~*'()%#"
_URI_CHARS = r"[0-9a-zA-Z;/?:@&=+$,\-_.!~*'()%]"
_PLAIN_HTTP_URI = re.compile(rf"(?:https?|mailto):{_URI_CHARS}+(?:#{_URI_CHARS}*)?")
_PLAIN_URI_REFERENCE = re.compile(rf"{_URI_CHARS}*(?:#{_URI_CHARS}*)?")
_ORIGIN = re.compile(r"[a-zA-Z]+://[^/?#]*")


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 (or the validator) refuses."""
    return _NOT_XML_TEXT.sub("", value)


def plain_text(value: str) -> str:
    """One line of plain text: XML-safe, whitespace collapsed (no-break spaces kept)."""
    return _SPACES.sub(" ", xml_text(value)).strip()


def as_uri(url: str) -> str:
    """An absolute URL as a plain-ASCII URI: IDNA host, percent-encoded path, query and fragment.

    ``https://exemple.fr/actualités/a b`` → ``https://exemple.fr/actualit%C3%A9s/a%20b``;
    existing %XX escapes are kept.
    """
    url = url.strip()
    if _PLAIN_HTTP_URI.fullmatch(url) and url[:5].lower() in ("https", "http:", "mailt"):
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = quote(host, safe="")
    netloc = host
    if parts.port is not None:
        netloc = f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{quote(parts.username, safe='')}@{netloc}"
    return urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe=_URI_SAFE),
            quote(parts.query, safe=_URI_SAFE),
            quote(parts.fragment, safe=_URI_SAFE),
        )
    )


def absolute_uri(reference: str, base: str) -> str | None:
    """``reference`` resolved against ``base`` as a plain URI; None when it is not http(s)/mailto."""
    reference = reference.strip()
    if _PLAIN_URI_REFERENCE.fullmatch(reference):  # plain ASCII: resolve the common cases directly
        if reference.startswith(("https:", "http:", "mailto:")):
            return reference
        if reference.startswith("/") and not reference.startswith("//") and _PLAIN_HTTP_URI.fullmatch(base):
            return _origin(base) + reference
    try:
        resolved = urljoin(base, reference)
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    if scheme not in URL_SCHEMES:
        return None
    if scheme == "mailto":
        return "mailto:" + quote(resolved.split(":", 1)[1], safe="@.,;=+-_~!*'()%")
    try:
        return as_uri(resolved)
    except ValueError:
        return None


def _origin(url: str) -> str:
    """``https://host:port`` of an absolute URL."""
    match = _ORIGIN.match(url)
    return match.group(0) if match else url


class HtmlCleaner:
    """Sanitises article HTML; relative URLs are resolved against the article URL.

    One cleaner serves a whole build (nh3 compiles its rules once). Not thread-safe: the
    article URL of the call in progress is held on the instance.
    """

    def __init__(self) -> None:
        self._base = ""
        self._cleaner = nh3.Cleaner(
            tags=set(ALLOWED_TAGS),
            clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template"},
            attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
            attribute_filter=self._attribute,
            url_schemes=set(URL_SCHEMES),
            strip_comments=True,
            link_rel="noopener noreferrer",
        )

    def clean(self, fragment: str, base_url: str) -> str:
        """Safe, well-formed HTML for ``fragment``; links and images made absolute."""
        self._base = base_url
        try:
            return self._cleaner.clean(xml_text(fragment)).strip()
        finally:
            self._base = ""

    def _attribute(self, tag: str, attribute: str, value: str) -> str | None:
        if attribute in URL_ATTRIBUTES:
            return absolute_uri(value, self._base)
        return value


_TAG = re.compile(r"<[^>]*>")


def html_to_text(fragment: str) -> str:
    """The text of an (already clean) HTML fragment, on one line."""
    return plain_text(html.unescape(_TAG.sub(" ", fragment)))


def excerpt(text: str, limit: int = 300) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.–—-")
    return cut + "…"
