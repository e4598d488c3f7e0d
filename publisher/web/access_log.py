"""The access log of ``publisher serve``: one line per request, in the combined log format.

    - - - [04/Dec/2026:17:50:18 +0000] "GET /unsubscribe/[redacted] HTTP/1.1" 200 3120 "-" "Mozilla/5.0"

What must not be kept is left out: the token of every signed link (``/unsubscribe/…``,
``/preferences/…``, ``/confirm/…``, ``/archive/ID/…``, the click links' ``/r/EDITION/ARTICLE/…``,
and anything shaped like a signed token, in the path and in the Referer), query strings (shown
as ``?[redacted]``: a careless form or link may put an address there) and the client's address
(``-``; the reverse proxy's log has it). Quotes, backslashes and control characters are
escaped, so a request cannot forge a line.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.clock import Clock

log = logging.getLogger("publisher.access")

# The path segment after a signed link's prefix (however many slashes, in any case), and any
# segment shaped like a signed token (payload.timestamp.signature).
_TOKENS = re.compile(
    r"(/(?:unsubscribe|preferences|confirm)/+|/archive/+[^/?#\s]+/+|/r/+[^/?#\s]+/+[^/?#\s]+/+)[^/?#\s]+"
    r"|(?<=/)[\w-]+\.[\w-]+\.[\w-]{8,}",
    re.IGNORECASE,
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MAX_FIELD = 512
_UNSAFE = re.compile(r'[^ -~]|["\\]')


def redact_path(path: str) -> str:
    """``path`` without the tokens of signed links (each becomes ``[redacted]``)."""
    return _TOKENS.sub(_redacted, path)


def _redacted(match: re.Match[str]) -> str:
    return (match.group(1) or "") + "[redacted]"


def combined_line(scope: Scope, status: int, size: int, when: datetime) -> str:
    """The combined-log-format line of one request, redacted and escaped."""
    referer, agent = _header(scope, b"referer"), _header(scope, b"user-agent")
    target = redact_path(scope.get("path", "")) + ("?[redacted]" if scope.get("query_string") else "")
    request = f"{scope.get('method', '-')} {target} HTTP/{scope.get('http_version', '1.1')}"
    when = when.astimezone(UTC)
    clock = f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
    stamp = f"{when.day:02d}/{_MONTHS[when.month - 1]}/{when.year}:{clock} +0000"
    return (
        f'- - - [{stamp}] "{_escape(request)}" {status} {size or "-"} '
        f'"{_escape(_referer(referer))}" "{_escape(agent or "-")}"'
    )


class AccessLog:
    """ASGI: logs every HTTP request once its response is sent (or has failed: status 500)."""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, size = 500, 0

        async def counting(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            log.info(combined_line(scope, status, size, self.clock.now()))


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case, as ASGI gives names)."""
    return next((value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name), None)


def _referer(value: str | None) -> str:
    if not value:
        return "-"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "[redacted]"
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    return origin + redact_path(parts.path) + ("?[redacted]" if parts.query else "")


def _escape(text: str) -> str:
    """Printable ASCII as it is; quotes and backslashes escaped; anything else as \\xNN or \\uNNNN."""
    return _UNSAFE.sub(_escaped, text[:_MAX_FIELD])


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in '"\\':
        return "\\" + char
    return f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"
