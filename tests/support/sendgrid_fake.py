"""A local HTTP server speaking SendGrid's v3 mail-send API, for tests.

Every request body is validated against the mail-send schema of SendGrid's own OpenAPI
spec (tests/data/sendgrid, MIT) plus the limits the README lists; an invalid body is
answered 400 with SendGrid's error shape, and the test fails on ``server.invalid``.
Accepted requests answer 202 with an X-Message-Id and are recorded. ``faults`` decides,
per request number, to answer 429 (with X-RateLimit-Reset), 500, slowly, or to hold the
request (recorded first) until released.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from support.paths import DATA

SPEC = DATA / "sendgrid" / "tsg_mail_v3.json"
BODY_POINTER = "#/components/requestBodies/PostMailSend/content/application~1json/schema"
RESERVED_HEADERS = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}


def mail_send_validator() -> jsonschema.Validator:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    body = spec["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    # The one known error of the spec (README): custom_args is an object of strings, not a string.
    body["properties"]["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}
    resource = DRAFT202012.create_resource(spec)
    registry = Registry().with_resource("urn:sendgrid:mail", resource)
    return jsonschema.Draft202012Validator({"$ref": "urn:sendgrid:mail" + BODY_POINTER}, registry=registry)


def limit_problems(body: dict) -> list[str]:
    """The limits SendGrid enforces beyond the schema (tests/data/sendgrid/README.md)."""
    problems = []
    personalizations = body.get("personalizations", [])
    if not 1 <= len(personalizations) <= 1000:
        problems.append("personalizations: 1 to 1000")
    recipients = sum(len(p.get(kind, [])) for p in personalizations for kind in ("to", "cc", "bcc"))
    if recipients > 1000:
        problems.append("more than 1000 recipients")
    global_args = len(json.dumps(body.get("custom_args", {})).encode())
    categories = body.get("categories", [])
    if (
        len(categories) > 10
        or len(set(categories)) != len(categories)
        or not all(c.isascii() and len(c) <= 255 for c in categories)
    ):
        problems.append("categories: at most 10, unique, ASCII, ≤ 255 characters")
    if not body["from"]["email"].isascii():
        problems.append("from: not ASCII")
    types = [part["type"] for part in body.get("content", [])]
    if "text/plain" in types and "text/html" in types and types.index("text/plain") > types.index("text/html"):
        problems.append("content: text/plain must come before text/html")
    for number, personalization in enumerate(personalizations):
        where = f"personalizations.{number}"
        if global_args + len(json.dumps(personalization.get("custom_args", {})).encode()) > 10_000:
            problems.append(f"{where}.custom_args: over 10,000 bytes")
        if len(json.dumps(personalization.get("substitutions", {})).encode()) > 10_000:
            problems.append(f"{where}.substitutions: over 10,000 bytes")
        for name, value in {**body.get("headers", {}), **personalization.get("headers", {})}.items():
            if name.lower() in RESERVED_HEADERS or " " in name or not name.isascii() or not isinstance(value, str):
                problems.append(f"{where}.headers: {name!r} not allowed")
        addresses = [a["email"].lower() for kind in ("to", "cc", "bcc") for a in personalization.get(kind, [])]
        if len(addresses) != len(set(addresses)):
            problems.append(f"{where}: an address twice")
        for address in personalization.get("to", []):
            if len(address["email"]) > 320 or any(c in address.get("name", "") for c in ";,"):
                problems.append(f"{where}.to: bad address or name")
    if not body.get("subject") and not all(p.get("subject") for p in personalizations):
        problems.append("subject missing")
    return problems


@dataclass
class Accepted:
    message_id: str
    body: dict

    @property
    def emails(self) -> list[str]:
        return [to["email"] for p in self.body["personalizations"] for to in p["to"]]


@dataclass
class FakeSendgrid:
    """State of the server; start with ``start()``, stop with ``stop()``."""

    faults: Callable[[int], tuple | None] = lambda number: None
    accepted: list[Accepted] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)
    requests: int = 0
    auth_headers: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    held: int = 0

    def start(self) -> FakeSendgrid:
        self.validator = mail_send_validator()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def recipients(self) -> Counter:
        """email → how many accepted requests carried it."""
        with self.lock:
            return Counter(email for request in self.accepted for email in request.emails)


def _handler(state: FakeSendgrid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests += 1
                number = state.requests
                state.auth_headers.add(self.headers.get("Authorization", ""))
            if self.path != "/v3/mail/send":
                return self._answer(404, {"errors": [{"message": "not found"}]})
            try:
                body = json.loads(raw)
            except ValueError:
                return self._answer(400, {"errors": [{"message": "Bad Request", "field": None}]})
            errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in state.validator.iter_errors(body)]
            errors += limit_problems(body) if not errors else []
            if errors:
                with state.lock:
                    state.invalid.extend(errors)
                return self._answer(400, {"errors": [{"message": error, "field": None} for error in errors[:5]]})
            fault = state.faults(number)
            kind = fault[0] if fault else None
            if kind == "429":
                return self._answer(
                    429,
                    {"errors": [{"message": "too many requests"}]},
                    {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(fault[1])},
                )
            if kind == "500":
                return self._answer(500, {"errors": [{"message": "internal error"}]})
            if kind == "400":
                return self._answer(400, {"errors": [{"message": fault[1], "field": "from.email"}]})
            if kind == "401":
                return self._answer(401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
            message_id = f"msg{number:05d}"
            if body.get("mail_settings", {}).get("sandbox_mode", {}).get("enable"):
                return self._answer(200, None)
            with state.lock:
                state.accepted.append(Accepted(message_id, body))
            if kind == "slow":
                time.sleep(fault[1])
            if kind == "hold":
                with state.lock:
                    state.held += 1
                state.release.wait(30)
            self._answer(202, None, {"X-Message-Id": message_id})

        def _answer(self, status: int, payload: dict | None, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode() if payload is not None else b""
            with state.lock:
                state.answers[status] += 1
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                if data:
                    self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass

    return Handler
