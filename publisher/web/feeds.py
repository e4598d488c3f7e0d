"""The generated feeds, served from ``[feeds] output_dir`` with HTTP caching done right.

- strong ETag (a hash of the bytes sent), Last-Modified, Cache-Control;
- 304 Not Modified for If-None-Match, else If-Modified-Since (RFC 9110 §13.2.2 order);
- gzip for clients that accept it (its own ETag, ``Vary: Accept-Encoding``);
- content types by file name: ``.rss.xml`` application/rss+xml, ``.atom.xml``
  application/atom+xml, ``.json`` application/feed+json, ``.opml``, ``.html``;
- only plain names below output_dir are served: no dot-files, no ``..``, no symlink leaving it.

Files are read once per change: a cache keyed by path holds the bytes and their hashes and
is checked against the file's stat (mtime, size, inode) on every request.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from publisher.web.security import security_headers

CONTENT_TYPES = (
    (".rss.xml", "application/rss+xml; charset=utf-8"),
    (".atom.xml", "application/atom+xml; charset=utf-8"),
    (".json", "application/feed+json; charset=utf-8"),
    (".opml", "text/x-opml; charset=utf-8"),
    (".html", "text/html; charset=utf-8"),
    (".xsl", "text/xsl; charset=utf-8"),
    (".xml", "application/xml; charset=utf-8"),
    (".css", "text/css; charset=utf-8"),
)
# Feed pages may style themselves (index.html, XSLT) but run no script and frame nothing.
FEED_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'"
_SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,199}){0,7}")
_GZIP_MIN = 1024


@dataclass
class CachedFile:
    signature: tuple[int, int, int]
    content_type: str
    body: bytes
    etag: str
    last_modified: str
    mtime: int
    _gzip: tuple[bytes, str] | None = field(default=None, repr=False)

    def gzipped(self) -> tuple[bytes, str]:
        if self._gzip is None:
            body = gzip.compress(self.body, compresslevel=6, mtime=0)
            self._gzip = (body, f'"{self.etag.strip(chr(34))}-gz"')
        return self._gzip


class FeedsFirst:
    """ASGI: GET and HEAD requests for the feeds are answered before routing and middleware.

    Feed readers poll; this is the hot path, so it does only what it must: the file's cached
    answer and the security headers. Anything it does not find goes on to the app (its 404
    page, its redirects).
    """

    def __init__(self, app, feeds: FeedFiles, prefix: str) -> None:
        self.app = app
        self.feeds = feeds
        self.prefix = prefix.rstrip("/") + "/"
        self._headers = {https: security_headers(https, FEED_CSP.encode()) for https in (False, True)}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and scope["path"].startswith(self.prefix):
            wanted = {}
            for name, value in scope["headers"]:
                if name in _CONDITIONAL:
                    wanted[name.decode()] = value.decode("latin-1")
            answer = self.feeds.answer(scope["path"][len(self.prefix) :], wanted, head=scope["method"] == "HEAD")
            if answer is not None:
                headers = [(name.encode(), value.encode("latin-1")) for name, value in answer.headers]
                headers.extend(self._headers[scope.get("scheme") == "https"])
                await send({"type": "http.response.start", "status": answer.status, "headers": headers})
                await send({"type": "http.response.body", "body": answer.body})
                return
        await self.app(scope, receive, send)


_CONDITIONAL = (b"if-none-match", b"if-modified-since", b"accept-encoding")


@dataclass(frozen=True)
class FeedResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def content_type_for(name: str) -> str | None:
    return next((kind for suffix, kind in CONTENT_TYPES if name.endswith(suffix)), None)


class FeedFiles:
    """The files of one output folder, answered with caching headers."""

    def __init__(self, root: Path, max_age: int) -> None:
        self.root = Path(root)
        self.cache_control = f"public, max-age={max_age}"
        self._cache: dict[str, CachedFile] = {}
        self._lock = threading.Lock()

    def answer(self, path: str, headers: dict[str, str], head: bool = False) -> FeedResponse | None:
        """The response for ``path`` (relative to the feeds URL) or None (404)."""
        cached = self._load(path or "index.html")
        if cached is None:
            return None
        use_gzip = len(cached.body) >= _GZIP_MIN and _accepts_gzip(headers.get("accept-encoding", ""))
        body, etag = cached.gzipped() if use_gzip else (cached.body, cached.etag)
        common = [
            ("etag", etag),
            ("last-modified", cached.last_modified),
            ("cache-control", self.cache_control),
            ("vary", "Accept-Encoding"),
        ]
        if _not_modified(headers, etag, cached.mtime):
            return FeedResponse(304, common, b"")
        extra = [("content-type", cached.content_type)]
        if use_gzip:
            extra.append(("content-encoding", "gzip"))
        extra.append(("content-length", str(len(body))))
        return FeedResponse(200, common + extra, b"" if head else body)

    def _load(self, path: str) -> CachedFile | None:
        if path.endswith("/"):
            path += "index.html"
        if not _SAFE_PATH.fullmatch(path) or "/." in path:
            return None
        content_type = content_type_for(path)
        if content_type is None:
            return None
        target = self.root / path
        try:
            info = os.stat(target)
        except OSError:
            return None
        signature = (info.st_mtime_ns, info.st_size, info.st_ino)
        cached = self._cache.get(path)
        if cached is not None and cached.signature == signature:
            return cached
        return self._read(path, target, content_type)

    def _read(self, path: str, target: Path, content_type: str) -> CachedFile | None:
        try:
            real = target.resolve(strict=True)
            if not real.is_relative_to(self.root.resolve()):
                return None
            with open(real, "rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    return None
                body = file.read()
        except OSError:
            return None
        mtime = int(info.st_mtime)
        cached = CachedFile(
            signature=(info.st_mtime_ns, info.st_size, info.st_ino),
            content_type=content_type,
            body=body,
            etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"',
            last_modified=format_datetime(datetime.fromtimestamp(mtime, UTC), usegmt=True),
            mtime=mtime,
        )
        with self._lock:
            self._cache[path] = cached
        return cached


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _not_modified(headers: dict[str, str], etag: str, mtime: int) -> bool:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        # Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return mtime <= since.timestamp()
    return False
