"""MJML → HTML: the only module that uses mjml-python (MRML) and css-inline.

MRML accepts unknown elements silently and reports parse errors without a position, so the
MJML is first checked here (known elements, allowed parents, balanced tags) and a mistake is
reported with the offending tag and its line. ``<mj-style inline="inline">`` blocks are taken
out before compiling (MRML would keep them as a ``<style>``) and inlined into ``style``
attributes by css-inline afterwards, so pills and buttons keep their look in clients that
strip ``<style>``; the other ``<mj-style>`` blocks (media queries) stay in the head.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import css_inline
import mjml

from publisher.errors import TemplateError

# Each MJML element and the elements it may contain ("*": anything, for mj-attributes).
_ENDING = frozenset(
    {  # their content is HTML or text, not MJML
        "mj-text",
        "mj-button",
        "mj-table",
        "mj-raw",
        "mj-style",
        "mj-title",
        "mj-preview",
        "mj-social-element",
        "mj-navbar-link",
        "mj-accordion-title",
        "mj-accordion-text",
    }
)
_CONTENT = frozenset(
    {
        "mj-text",
        "mj-image",
        "mj-button",
        "mj-divider",
        "mj-spacer",
        "mj-table",
        "mj-social",
        "mj-navbar",
        "mj-accordion",
        "mj-carousel",
        "mj-raw",
    }
)
CHILDREN: dict[str, frozenset[str]] = {
    "#root": frozenset({"mjml"}),
    "mjml": frozenset({"mj-head", "mj-body"}),
    "mj-head": frozenset(
        {
            "mj-attributes",
            "mj-breakpoint",
            "mj-font",
            "mj-html-attributes",
            "mj-preview",
            "mj-style",
            "mj-title",
            "mj-raw",
        }
    ),
    "mj-attributes": frozenset({"*"}),
    "mj-html-attributes": frozenset({"mj-selector"}),
    "mj-selector": frozenset({"mj-html-attribute"}),
    "mj-body": frozenset({"mj-section", "mj-wrapper", "mj-hero", "mj-raw"}),
    "mj-wrapper": frozenset({"mj-section", "mj-hero", "mj-raw"}),
    "mj-section": frozenset({"mj-column", "mj-group", "mj-raw"}),
    "mj-group": frozenset({"mj-column", "mj-raw"}),
    "mj-column": _CONTENT,
    "mj-hero": _CONTENT,
    "mj-social": frozenset({"mj-social-element", "mj-raw"}),
    "mj-navbar": frozenset({"mj-navbar-link"}),
    "mj-accordion": frozenset({"mj-accordion-element", "mj-raw"}),
    "mj-accordion-element": frozenset({"mj-accordion-title", "mj-accordion-text", "mj-raw"}),
    "mj-carousel": frozenset({"mj-carousel-image"}),
}
KNOWN = (
    (frozenset(CHILDREN) - {"#root"})
    | _ENDING
    | _CONTENT
    | {
        "mj-breakpoint",
        "mj-font",
        "mj-html-attribute",
        "mj-carousel-image",
        "mj-all",
        "mj-class",
    }
)

_TAG = re.compile(r"<(/?)(mjml|mj-[A-Za-z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")
_INLINE_STYLE = re.compile(
    r"<mj-style\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?\binline\s*=\s*[\"']inline[\"'][^>]*>(.*?)</mj-style\s*>", re.S
)


@dataclass
class InvalidMjml(TemplateError):
    """The MJML is malformed: ``reason``, at ``line`` of the rendered MJML, around ``snippet``."""

    reason: str
    line: int | None = None
    snippet: str = ""

    def __str__(self) -> str:
        return self.reason


def mjml_to_html(source: str) -> str:
    """Check, compile and inline one MJML document; InvalidMjml when it is not valid MJML."""
    check_mjml(source)
    inline_css = "\n".join(match.group(1) for match in _INLINE_STYLE.finditer(source))
    source = _protect_attributes(_INLINE_STYLE.sub("", source))
    try:
        html = mjml.mjml2html(source, fonts={})  # fonts={}: no Google Fonts <link> (a third-party request)
    except ValueError as error:
        raise _mrml_error(source, str(error)) from None
    if not inline_css.strip():
        return html
    try:
        return _inliner(inline_css).inline(html)
    except (css_inline.InlineError, ValueError) as error:
        raise InvalidMjml(f'invalid CSS in <mj-style inline="inline">: {error}') from None


@lru_cache(maxsize=8)
def _inliner(css: str) -> css_inline.CSSInliner:
    return css_inline.CSSInliner(
        inline_style_tags=False,  # only the mj-style inline="inline" rules; MJML's own head styles stay
        keep_style_tags=True,
        load_remote_stylesheets=False,
        extra_css=css,
    )


# Spaces and invisible characters that MRML writes Rust-escaped in attribute values
# (alt="a\u{a0}b"): a French no-break space before « : » in a title would show so.
_INVISIBLE_CHARS = "\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
_TAG_WITH_INVISIBLE = re.compile(f"<[A-Za-z][^<>{_INVISIBLE_CHARS}]*[{_INVISIBLE_CHARS}][^<>]*>")


def _protect_attributes(source: str) -> str:
    """Write those characters as numeric references inside tags (their text elsewhere is fine)."""
    reference = lambda match: f"&#{ord(match.group(0))};"  # noqa: E731
    return _TAG_WITH_INVISIBLE.sub(lambda tag: _INVISIBLE.sub(reference, tag.group(0)), source)


def check_mjml(source: str) -> None:
    """Raise InvalidMjml for an unknown element, an element in the wrong parent, or unbalanced tags."""
    stack: list[tuple[str, int]] = [("#root", 0)]
    for match in _TAG.finditer(source):
        closing, name, _, self_closing = match.groups()
        parent = stack[-1][0]
        if parent in _ENDING and not (closing and name == parent):
            raise _invalid(source, match.start(), f"<{name}> inside <{parent}>, whose content is HTML, not MJML")
        if closing:
            if name != parent:
                expected = f"</{parent}>" if parent != "#root" else "nothing"
                raise _invalid(source, match.start(), f"</{name}> closes nothing open here (expected {expected})")
            stack.pop()
            continue
        if name not in KNOWN:
            raise _invalid(source, match.start(), f"<{name}> is not an MJML element")
        allowed = CHILDREN.get(parent, frozenset())
        if "*" not in allowed and name not in allowed:
            where = f"inside <{parent}>" if parent != "#root" else "at the top (the document must be one <mjml>)"
            raise _invalid(source, match.start(), f"<{name}> is not allowed {where}")
        if not self_closing:
            stack.append((name, match.start()))
    if len(stack) > 1:
        name, start = stack[-1]
        raise _invalid(source, start, f"<{name}> is never closed")
    if not source.strip():
        raise InvalidMjml("the template produced no MJML")


_POSITION = re.compile(r"\s*at position (\d+):(\d+)")


def _mrml_error(source: str, message: str) -> InvalidMjml:
    """MRML reports byte offsets ("unexpected token in root template at position 675:680")."""
    match = _POSITION.search(message)
    if not match:
        return InvalidMjml(f"MRML could not compile it: {message}")
    data = source.encode()
    start, end = int(match.group(1)), int(match.group(2))
    token = data[start:end].decode(errors="replace").strip()
    line = data.count(b"\n", 0, start) + 1
    return InvalidMjml(f"{_POSITION.sub('', message)} {token!r}", line, token)


def _invalid(source: str, offset: int, reason: str) -> InvalidMjml:
    line = source.count("\n", 0, offset) + 1
    end = source.find(">", offset)
    tag = source[offset : end + 1 if end >= 0 else offset + 60]
    snippet = re.match(r"</?[\w-]+", tag).group(0)
    return InvalidMjml(reason, line, snippet)
