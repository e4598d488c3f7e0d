"""Security of the web app: headers, request size limits, CSRF tokens, basic auth, rate limits.

- Every response gets strict headers; pages carry links with tokens, so ``Referrer-Policy:
  no-referrer`` keeps those tokens from leaking to the sites the pages link to.
- Bodies are limited before they are read (Content-Length, then counted while streaming).
- CSRF: signed double-submit. A random value lives in an HttpOnly, SameSite=Strict cookie;
  each form carries that value signed (itsdangerous, PUBLISHER_SECRET) with its purpose and
  a timestamp. A POST is accepted only when the signature is valid, fresh, of the right
  purpose and matches the cookie. A cross-site page can neither read the cookie nor forge
  the signature.
- Basic auth for /admin/: constant-time comparison; refused when PUBLISHER_ADMIN_PASSWORD is unset.
- Basic auth failures are throttled per client IP (FailureThrottle): a short block, growing
  modestly, that a success lifts; another IP is never affected.
- Rate limits: sliding one-hour windows in memory, keyed by a hash (never an address).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from publisher.errors import PublisherError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Pages of the app: their own stylesheet, no script at all, forms only to this site.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


def security_headers(https: bool, csp: bytes | None = None) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (``csp`` replaces the pages' policy)."""
    headers = [*HEADERS, (b"content-security-policy", csp or PAGE_CSP.encode())]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class SecurityHeaders:
    """Adds the security headers to every response (a pure ASGI middleware: no per-request cost
    beyond the headers). A response that sets its own Content-Security-Policy keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in HEADERS if header[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(PublisherError):
    """A request body went past the limit of its path while it was read (answer 413)."""


class BodyLimit:
    """Refuses request bodies larger than the limit of their path (413), without reading them."""

    def __init__(self, app: ASGIApp, default: int, limits: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.limits = sorted(limits.items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = True
                if too_large:
                    await _plain_response(send, 413, "Requête trop volumineuse.")
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        tracked = TrackedSend(send)
        try:
            await self.app(scope, limited_receive, tracked)
        except BodyTooLarge:
            if not tracked.started:
                await _plain_response(send, 413, "Requête trop volumineuse.")


class TrackedSend:
    """An ASGI ``send`` that remembers whether the response has started (its status and headers
    are sent): after that, an error can no longer be answered with another response."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


async def _plain_response(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- CSRF ---------------------------------------------------------------------------------

CSRF_COOKIE = "publisher_csrf"
CSRF_FIELD = "csrf"
CSRF_MAX_AGE = 4 * 3600


class Csrf:
    """Signed double-submit CSRF tokens (see the module docstring)."""

    def __init__(self, secret: str, max_age: int = CSRF_MAX_AGE) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="publisher.csrf")
        self.max_age = max_age

    @staticmethod
    def new_cookie_value() -> str:
        return secrets.token_urlsafe(24)

    def token(self, cookie_value: str, purpose: str) -> str:
        return self._serializer.dumps([cookie_value, purpose])

    def valid(self, token: str | None, cookie_value: str | None, purpose: str) -> bool:
        if not token or not cookie_value or len(token) > 512:
            return False
        try:
            value = self._serializer.loads(token, max_age=self.max_age)
        except BadSignature:
            return False
        return (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], str)
            and hmac.compare_digest(value[0], cookie_value)
            and value[1] == purpose
        )


# --- HTTP basic auth -----------------------------------------------------------------------


def basic_auth_ok(header: str | None, user: str, password: str | None) -> bool:
    """True when ``Authorization: Basic …`` carries this user and password (constant time).

    Always False when no password is configured: the dashboard is then closed.
    """
    if not password or not header:
        return False
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 1024:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8 once decoded
        return False
    given_user, _, given_password = decoded.partition(":")
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return user_ok & password_ok


# --- rate limits ---------------------------------------------------------------------------


def client_key(host: str | None) -> str:
    """Who a client is, for the limits: its IPv4 address, or the /64 network of an IPv6 one
    (one subscriber line gets a whole /64, and could otherwise change address at each request)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network((address, 64), strict=False))
    return str(getattr(address, "ipv4_mapped", None) or address)


class SignupLimiter:
    """Sign-up requests per address or per client: at most ``limit`` events per ``period``
    seconds per key (sliding window, in memory).

    Keys are hashed with a per-process random key, so neither addresses nor IPs are kept in
    clear. The number of keys is bounded; the least recently used are forgotten first.
    """

    def __init__(
        self, limit: int, period: float = 3600.0, max_keys: int = 100_000, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self.max_keys = max_keys
        self._now = now
        self._salt = secrets.token_bytes(16)
        self._hits: OrderedDict[bytes, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, key: str) -> bytes:
        return _hashed(self._salt, key)

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False (and not counted) when over the limit."""
        hashed = self._key(key)
        now = self._now()
        with self._lock:
            hits = self._hits.get(hashed)
            if hits is None:
                hits = self._hits[hashed] = deque()
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(hashed)
            while hits and hits[0] <= now - self.period:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


def _hashed(salt: bytes, key: str) -> bytes:
    return hashlib.blake2b(key.encode(), key=salt, digest_size=16).digest()


class _Failures:
    __slots__ = ("blocked_until", "blocks", "count", "last")

    def __init__(self) -> None:
        self.count, self.last, self.blocks, self.blocked_until = 0, 0.0, 0, 0.0


class FailureThrottle:
    """Blocks a client after ``failures`` failed attempts within FAILURE_WINDOW seconds: for
    ``block`` seconds, doubled at each further block, at most ``max_block``. A success forgets
    the client, and so does a quiet ``max_block`` after a block. In memory, keys hashed (as
    SignupLimiter), the least recently seen forgotten first."""

    FAILURE_WINDOW = 900.0

    def __init__(
        self,
        failures: int,
        block: float,
        max_block: float,
        max_keys: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures, self.block, self.max_block = failures, block, max_block
        self.max_keys = max_keys
        self._now = now
        self._salt = secrets.token_bytes(16)
        self._clients: OrderedDict[bytes, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """Whole seconds before the client may try again, or None when it is not blocked."""
        with self._lock:
            state = self._clients.get(_hashed(self._salt, key))
            left = state.blocked_until - self._now() if state else 0.0
        return math.ceil(left) if left > 0 else None

    def failed(self, key: str) -> None:
        """Count one failed attempt; the ``failures``-th in a row starts a block."""
        now = self._now()
        with self._lock:
            state = self._state(_hashed(self._salt, key))
            if now - state.last > self.FAILURE_WINDOW:
                state.count = 0
            if state.blocks and now - state.blocked_until > self.max_block:
                state.blocks = 0
            state.count, state.last = state.count + 1, now
            if state.count >= self.failures:
                state.blocked_until = now + min(self.block * 2**state.blocks, self.max_block)
                state.blocks, state.count = state.blocks + 1, 0

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._clients.pop(_hashed(self._salt, key), None)

    def _state(self, hashed: bytes) -> _Failures:
        state = self._clients.get(hashed)
        if state is None:
            state = self._clients[hashed] = _Failures()
            while len(self._clients) > self.max_keys:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(hashed)
        return state
