"""The SendGrid transport and the Event Webhook signature check: the only module that imports sendgrid.

Requests go through the official client (``SendGridAPIClient``) pointed at
``[delivery.sendgrid] api_host``. The body is built as a plain dict and serialized with
orjson (the library's Mail helper costs ~44 ms per 1000 personalizations): the shared part
of an edition is serialized once, and each batch only adds its personalizations.

Every request stays within SendGrid's documented limits: ≤ 1000 personalizations (one ``to``
each), ≤ 30 MB, custom_args ≤ 10,000 bytes, substitutions ≤ 10,000 bytes per personalization,
≤ 10 ASCII categories, display names without ``;`` or ``,``.

Besides our substitutions, SendGrid fills its own ``<%…%>`` tags for each recipient (with an
``asm`` group, ``<%asm_group_unsubscribe_raw_url%>`` becomes that reader's unsubscribe link),
in the subject and the content. Text from articles, config or a subscriber's name could hold
one, so ``_inert`` breaks every ``<%`` before a request leaves: the templates place the
per-recipient values through the edition's placeholders only (publisher.placeholders).
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
import re
import urllib.error
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from html import escape
from typing import NamedTuple

import orjson
from python_http_client.client import Response
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook

from publisher.app import App
from publisher.child_process import worker_pool
from publisher.config import Config, Secrets
from publisher.delivery.content import ONE_CLICK, EditionContent, Personalizer, Sender, sender_for
from publisher.delivery.transport import BatchOutcome, Prepared, RecipientRow
from publisher.errors import ConfigError, DeliveryError, DeliveryUncertain
from publisher.models import Message
from publisher.placeholders import html_key

log = logging.getLogger(__name__)

MAX_PERSONALIZATIONS = 1000
MAX_BODY_BYTES = 30 * 1024 * 1024
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SUBSTITUTIONS_BYTES = 10_000
MAX_CATEGORIES = 10
MAX_ADDRESS_LENGTH = 320
JSON_UTF8 = "application/json; charset=utf-8"
# Sends of more batches than this build their requests in a pool of processes.
_BATCHES_IN_PROCESS = 2
_NAME_FORBIDDEN = re.compile(r"[;,\r\n]")


class SendgridBatch:
    __slots__ = ("body", "subscriber_ids")

    def __init__(self, body: bytes, subscriber_ids: list[int]) -> None:
        self.body = body
        self.subscriber_ids = subscriber_ids


class _Redacted(bytes):
    """Request bytes that print as their size (see ``SendgridTransport._post``)."""

    def __str__(self) -> str:
        return f"<{len(self)} bytes>"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return str(self)


class _JsonBody(str):
    """A request body for python_http_client whose ``encode`` gives the ready UTF-8 JSON
    (see ``SendgridTransport._post``)."""

    __slots__ = ("_data",)

    def __new__(cls, data: bytes) -> _JsonBody:
        body = super().__new__(cls, "")
        body._data = _Redacted(data)
        return body

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self._data


class SendgridTransport:
    name = "sendgrid"

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.config.delivery.sendgrid
        key = app.secrets.require("sendgrid_api_key", "SENDGRID_API_KEY", '[delivery] transport = "sendgrid"')
        self.client = SendGridAPIClient(api_key=key, host=self.settings.api_host)
        self.timeout = app.config.delivery.request_timeout
        self.rate_key = f"sendgrid:{self.settings.api_host}"
        self.one_at_a_time = False  # one request per batch
        for category in self.settings.categories:
            if not category.isascii():
                raise ConfigError(f"delivery.sendgrid.categories: {category!r} is not ASCII (SendGrid requires it)")
        self.options = _Options(self.settings.asm_group_id, self.settings.sandbox, tuple(self.settings.categories))
        self.personalizer = Personalizer(app)
        processes = app.config.delivery.build_processes
        self.processes = processes if processes else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._batches = 0

    # --- building requests ------------------------------------------------------------

    def prepare(self, content: EditionContent, recipients: list[RecipientRow]) -> Prepared:
        """One request: a personalization per recipient. From the third batch of a send on,
        requests are built in a pool of processes (signing links and encoding JSON is the
        CPU cost of a large send), while this process keeps the ledger and the network."""
        if len(recipients) > MAX_PERSONALIZATIONS:
            raise ValueError(f"at most {MAX_PERSONALIZATIONS} recipients per SendGrid request")
        self._batches += 1
        if self.processes > 1 and self._batches > _BATCHES_IN_PROCESS:
            if self._pool is None:
                self._pool = worker_pool(self.processes, _start_builder, self.app.config, self.app.secrets)
            return Prepared(future=self._pool.submit(_build_in_builder, content, recipients, self.options))
        payload, subscriber_ids, rejected = build_request(content, recipients, self.personalizer, self.options)
        return Prepared(subscriber_ids, payload, rejected)

    # --- sending ----------------------------------------------------------------------

    def _post(self, body: bytes) -> Response:
        """POST ready UTF-8 JSON to mail/send through the official client, bytes as they are.

        The library path is ``request_body=body.decode()`` with a JSON content type other than
        the default (so the client does not ``json.dumps`` it): python_http_client 3.3 (held by
        the ``sendgrid<7`` pin) then sends ``request_body.encode("utf-8")`` and, logging or not,
        formats the payload into a debug message (``"PAYLOAD: {data}".format``, the repr of the
        whole body). It takes no bytes and has no other public way to send them. Measured on a
        request of 1,000 personalizations (540 KB), the decode, encode and repr cost 2.0 ms in
        the sending process: 2 s for a send to a million subscribers; and with debug logging
        on, the log would hold every address. ``_JsonBody`` hands the client the bytes
        themselves, printing as their size: the request on the wire is the same
        (tests/test_sendgrid_request_body.py)."""
        return self.client.client.mail.send.post(
            request_body=_JsonBody(body), request_headers={"Content-Type": JSON_UTF8}, timeout=self.timeout
        )

    def send(self, batch: Prepared) -> BatchOutcome:
        request: SendgridBatch = batch.payload  # type: ignore[assignment]
        ids = request.subscriber_ids
        outcome = BatchOutcome()
        if not ids:
            outcome.requests = 0
            return outcome
        try:
            response = self._post(request.body)
        except HTTPError as error:
            return _http_error(outcome, ids, error)
        except urllib.error.URLError as error:
            # Raised while connecting or writing the request: it was not (completely) sent.
            outcome.retry, outcome.error = ids, f"SendGrid unreachable: {error.reason}"
            return outcome
        except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as error:
            # Raised while waiting for the answer: SendGrid may have accepted the batch.
            outcome.unknown, outcome.error = ids, f"no answer from SendGrid: {type(error).__name__}: {error}"
            return outcome
        message_id = response.headers.get("X-Message-Id")
        outcome.sent = dict.fromkeys(ids, message_id)
        return outcome

    def send_message(self, message: Message) -> str:
        sender = sender_for(self.app, "")
        body: dict[str, object] = {
            "personalizations": [{"to": [_address(message.to_email, message.to_name)]}],
            "from": _address(sender.email, sender.name),
            "subject": _inert(message.subject),
            "content": [{"type": "text/plain", "value": _inert(message.text)}]
            + ([{"type": "text/html", "value": _inert(message.html, html=True)}] if message.html is not None else []),
        }
        if message.headers:
            body["headers"] = dict(message.headers)
        body.update(_common(self.options, sender))
        try:
            response = self._post(orjson.dumps(body))
        except HTTPError as error:
            raise DeliveryError(f"SendGrid refused a message ({error.status_code}): {_errors(error.body)}") from None
        except urllib.error.URLError as error:  # while connecting or writing: it did not leave
            raise DeliveryError(f"SendGrid {self.settings.api_host}: {error.reason}") from None
        except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as error:
            raise DeliveryUncertain(f"no answer from SendGrid {self.settings.api_host}: {error}") from None
        return response.headers.get("X-Message-Id") or ""

    def sent_before(self, content: EditionContent, subscriber_ids: list[int]) -> None:
        """Only SendGrid knows: its Event Webhook settles unknown outcomes (publisher.delivery.events)."""
        return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class _Options(NamedTuple):
    asm_group_id: int | None
    sandbox: bool
    categories: tuple[str, ...]


def _common(options: _Options, sender: Sender) -> dict[str, object]:
    common: dict[str, object] = {}
    if sender.reply_to:
        common["reply_to"] = {"email": sender.reply_to}
    if options.asm_group_id is not None:
        common["asm"] = {"group_id": options.asm_group_id}
    if options.sandbox:
        common["mail_settings"] = {"sandbox_mode": {"enable": True}}
    return common


@functools.lru_cache(maxsize=4)
def _shared_json(content: EditionContent, options: _Options) -> bytes:
    """The serialized part of the body common to every batch of an edition."""
    custom_args = {"newsletter": content.newsletter, "edition_id": str(content.edition_id)}
    # Global custom_args plus the per-personalization {"subscriber_id": "<id>"}.
    if len(orjson.dumps(custom_args)) + 64 > MAX_CUSTOM_ARGS_BYTES:
        raise DeliveryError(f"edition {content.edition_id}: custom_args exceed SendGrid's 10,000 bytes")
    body: dict[str, object] = {
        "from": _address(content.sender.email, content.sender.name),
        "subject": _inert(content.subject),
        "content": [
            {"type": "text/plain", "value": _inert(content.text)},
            {"type": "text/html", "value": _inert(_html_part(content), html=True)},
        ],
        "headers": {"List-Id": _inert(content.list_id)},
        "categories": list(dict.fromkeys([content.newsletter, *options.categories]))[:MAX_CATEGORIES],
        "custom_args": custom_args,
    }
    body.update(_common(options, content.sender))
    # Opens are tracked only for a newsletter with track_opens, whatever the account's setting; our
    # /r/… links count the clicks, so SendGrid must not count them again.
    tracking: dict[str, object] = {"open_tracking": {"enable": content.tracks_opens}}
    if content.tracks_clicks:
        tracking["click_tracking"] = {"enable": False, "enable_text": False}
    body["tracking_settings"] = tracking
    return orjson.dumps(body)


def build_request(
    content: EditionContent, recipients: list[RecipientRow], personalizer: Personalizer, options: _Options
) -> tuple[SendgridBatch, list[int], dict[int, str]]:
    """(request, subscriber ids in it, refused subscriber id → reason) for one batch."""
    shared = _shared_json(content, options)
    encode = _personalization_encoder(content, personalizer.link_bases)
    personalizations: list[bytes] = []
    accepted: list[int] = []
    rejected: dict[int, str] = {}
    tokens = personalizer.tokens
    for recipient in recipients:  # once per recipient of a large send: plain tuples, no lookups
        subscriber_id, email = recipient[0], recipient[1]
        encoded = encode((*recipient, *tokens(subscriber_id)))
        if len(encoded) > MAX_SUBSTITUTIONS_BYTES or len(email) > MAX_ADDRESS_LENGTH:
            problem = _recipient_problem(email, encoded)
            if problem:
                rejected[subscriber_id] = problem
                continue
        personalizations.append(encoded)
        accepted.append(subscriber_id)
    body = b"".join([b'{"personalizations":[', b",".join(personalizations), b"],", shared[1:]])
    if len(body) > MAX_BODY_BYTES:
        raise DeliveryError(
            f"edition {content.edition_id}: a SendGrid request would be {len(body) // 2**20} MB "
            "(limit 30 MB): lower [delivery] batch_size"
        )
    return SendgridBatch(body, accepted), accepted, rejected


# In a builder process: the personalizer made once by the pool's initializer.
_BUILDER: dict[str, Personalizer] = {}


def _start_builder(config: Config, secrets: Secrets) -> None:
    # Ctrl-C and SIGTERM leave builders running (worker_pool): the sender stops after recording
    # its batches on the wire, then shuts them down.
    _BUILDER["personalizer"] = Personalizer(App(config, secrets))


def _build_in_builder(
    content: EditionContent, recipients: list[RecipientRow], options: _Options
) -> tuple[SendgridBatch, list[int], dict[int, str]]:
    return build_request(content, recipients, _BUILDER["personalizer"], options)


def _address(email: str, name: str) -> dict[str, str]:
    name = _display_name(name)
    return {"email": email, "name": name} if name else {"email": email}


def _display_name(name: str) -> str:
    if ";" in name or "," in name or "\n" in name or "\r" in name:
        return _NAME_FORBIDDEN.sub(" ", name).strip()
    return name


def _inert(text: str, html: bool = False) -> str:
    """``text`` with SendGrid's own tags broken: ``&lt;%`` in HTML (it reads the same), a word
    joiner between ``<`` and ``%`` elsewhere."""
    return text.replace("<%", "&lt;%" if html else "<\u2060%")


# The fields of a recipient tuple (subscriber id, email, name, unsubscribe token, preferences
# token) that fill each placeholder.
_FIELDS = {"NAME": 2, "EMAIL": 1, "UNSUBSCRIBE_URL": 3, "PREFERENCES_URL": 4}
_TOKENS = (3, 4)


def _escaped_in_html(content: EditionContent) -> frozenset[str]:
    """The placeholders whose values HTML escaping can change: renamed to their html_key in the
    HTML part. Signed links are URL-safe: they change only if the site's base URL does."""
    links = any(char in content.view_online_url for char in "&<>\"'")
    fields = ("NAME", "EMAIL", *(("UNSUBSCRIBE_URL", "PREFERENCES_URL") if links else ()))
    return frozenset(content.placeholders.key(field) for field in fields)


def _html_part(content: EditionContent) -> str:
    return content.placeholders.use_html_keys(content.html, _escaped_in_html(content))


def _substitution_plan(content: EditionContent) -> list[tuple[str, int, bool]]:
    """(key, recipient field, HTML-escape?) of every substitution: plain values under the
    placeholders either part uses as they are, escaped ones under the html_key of those
    renamed in the HTML part."""
    renamed = _escaped_in_html(content)
    fields = {content.placeholders.key(field): index for field, index in _FIELDS.items()}
    plain = [key for key in fields if key in content.text_keys or (key in content.html_keys and key not in renamed)]
    escaped = [key for key in fields if key in content.html_keys and key in renamed]
    return [(key, fields[key], False) for key in plain] + [(html_key(key), fields[key], True) for key in escaped]


def _personalization_encoder(content: EditionContent, link_bases: tuple[str, str]) -> Callable[[tuple], bytes]:
    """(subscriber id, email, name, unsubscribe token, preferences token) → the JSON of its
    personalization (to, substitutions, List-Unsubscribe headers, custom_args), filled into a
    bytes template made once per edition: a third of the cost of building dicts for orjson,
    for the million personalizations of a large send.

    A link is written as the JSON string of its base URL (made once), its token and a closing
    quote: a token is URL-safe ASCII, which neither JSON nor HTML escaping changes."""
    dumps, inert = orjson.dumps, _inert
    bases = dict(zip(_TOKENS, link_bases, strict=True))
    substitutions = _substitution_plan(content)
    # Per substitution: (field, its link base as an opened JSON string or b"", HTML-escape?)
    plan = [
        (
            index,
            _opened(escape(bases[index], quote=True) if escaped else bases[index]) if index in bases else b"",
            escaped,
        )
        for _, index, escaped in substitutions
    ]
    template = (
        b'{"to":[{"email":%b%b}],"substitutions":{'
        + b",".join(_literal(dumps(key)) + b":%b" for key, _, _ in substitutions)
        + b'},"headers":{"List-Unsubscribe":'
        + _literal(_opened("<" + link_bases[0]))
        + b"%b"
        + _literal(dumps(">" + content.mailto_suffix)[1:])
        + b',"List-Unsubscribe-Post":'
        + _literal(dumps(ONE_CLICK))
        + b'},"custom_args":{"subscriber_id":"%d"}}'
    )

    def encode(recipient: tuple) -> bytes:
        name = _display_name(recipient[2]) if recipient[2] else ""
        values = [
            base + recipient[i] + b'"'
            if base
            else dumps(escape(recipient[i], quote=True) if escaped else inert(recipient[i]))
            for i, base, escaped in plan
        ]
        return template % (
            dumps(recipient[1]),
            b',"name":' + dumps(name) if name else b"",
            *values,
            recipient[3],
            recipient[0],
        )

    return encode


def _opened(text: str) -> bytes:
    """A JSON string without its closing quote."""
    return orjson.dumps(text)[:-1]


def _literal(text: bytes) -> bytes:
    """Text for a %-template, taken literally."""
    return text.replace(b"%", b"%%")


def _recipient_problem(email: str, encoded: bytes) -> str | None:
    if len(email) > MAX_ADDRESS_LENGTH:
        return f"address longer than {MAX_ADDRESS_LENGTH} characters"
    if len(orjson.dumps(orjson.loads(encoded)["substitutions"])) > MAX_SUBSTITUTIONS_BYTES:
        return "personal values exceed SendGrid's 10,000 bytes of substitutions"
    return None


def _http_error(outcome: BatchOutcome, ids: list[int], error: HTTPError) -> BatchOutcome:
    status = error.status_code
    message = f"SendGrid {status}: {_errors(error.body)}"
    outcome.error = message
    if status == 429:
        outcome.retry = ids
        reset = error.headers.get("X-RateLimit-Reset") if error.headers else None
        try:
            outcome.retry_at = float(reset) if reset else None
        except ValueError:
            outcome.retry_at = None
    elif status >= 500:
        outcome.retry = ids
    else:
        outcome.failed = dict.fromkeys(ids, message)
        outcome.fatal = status in (401, 403)
    return outcome


def _errors(body: bytes | str | None) -> str:
    """SendGrid's error messages, e.g. "The from address does not match a verified Sender Identity"."""
    if not body:
        return "(no message)"
    try:
        errors = orjson.loads(body).get("errors") or []
        messages = [
            f"{item.get('field')}: {item.get('message')}" if item.get("field") else str(item.get("message"))
            for item in errors
        ]
    except (orjson.JSONDecodeError, AttributeError):
        messages = []
    text = "; ".join(messages) if messages else (body.decode(errors="replace") if isinstance(body, bytes) else body)
    return " ".join(text.split())[:500]


def verify_webhook_signature(verification_key: str, payload: bytes, signature: str, timestamp: str) -> bool:
    """Check an Event Webhook request as SendGrid signs it (ECDSA P-256 over timestamp + body)."""
    try:
        verifier = EventWebhook(verification_key)
        return verifier.verify_signature(payload.decode("utf-8"), signature, timestamp)
    except (ValueError, TypeError, UnicodeDecodeError):
        return False
