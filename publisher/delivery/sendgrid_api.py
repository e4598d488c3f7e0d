"""The SendGrid transport and the Event Webhook signature check: the only module that imports sendgrid.

Requests go through the official client (``SendGridAPIClient``) pointed at
``[delivery.sendgrid] api_host``. The body is built as a plain dict and serialized with
orjson (the library's Mail helper costs ~44 ms per 1000 personalizations): the shared part
of an edition is serialized once, and each batch only adds its personalizations.

Every request stays within SendGrid's documented limits: ≤ 1000 personalizations (one ``to``
each), ≤ 30 MB, custom_args ≤ 10,000 bytes, substitutions ≤ 10,000 bytes per personalization,
≤ 10 ASCII categories, display names without ``;`` or ``,``.
"""

from __future__ import annotations

import http.client
import logging
import re
import urllib.error
from collections.abc import Callable
from html import escape

import orjson
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook

from publisher.app import App
from publisher.delivery.content import ONE_CLICK, Addressee, EditionContent, Sender, sender_for
from publisher.delivery.transport import BatchOutcome, Prepared
from publisher.errors import ConfigError, DeliveryError
from publisher.models import Message
from publisher.placeholders import EMAIL, NAME, PREFERENCES_URL, UNSUBSCRIBE_URL, html_key, use_html_keys

log = logging.getLogger(__name__)

MAX_PERSONALIZATIONS = 1000
MAX_BODY_BYTES = 30 * 1024 * 1024
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SUBSTITUTIONS_BYTES = 10_000
MAX_CATEGORIES = 10
MAX_ADDRESS_LENGTH = 320
JSON_UTF8 = "application/json; charset=utf-8"
_NAME_FORBIDDEN = re.compile(r"[;,\r\n]")
# Above this many characters of name and address, a personalization's size is checked exactly.
_LONG_VALUES = 1000


class SendgridBatch:
    __slots__ = ("body", "subscriber_ids")

    def __init__(self, body: str, subscriber_ids: list[int]) -> None:
        self.body = body
        self.subscriber_ids = subscriber_ids


class SendgridTransport:
    name = "sendgrid"

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.config.delivery.sendgrid
        key = app.secrets.require("sendgrid_api_key", "SENDGRID_API_KEY", "[delivery] transport = \"sendgrid\"")
        self.client = SendGridAPIClient(api_key=key, host=self.settings.api_host)
        self.timeout = app.config.delivery.request_timeout
        self.rate_key = f"sendgrid:{self.settings.api_host}"
        for category in self.settings.categories:
            if not category.isascii():
                raise ConfigError(f"delivery.sendgrid.categories: {category!r} is not ASCII (SendGrid requires it)")
        self._shared: dict[int, tuple[bytes, EditionContent]] = {}

    # --- building requests ------------------------------------------------------------

    def _shared_part(self, content: EditionContent) -> bytes:
        """The serialized part of the body common to every batch of an edition (cached)."""
        cached = self._shared.get(content.edition_id)
        if cached is not None and cached[1] is content:
            return cached[0]
        custom_args = {"newsletter": content.newsletter, "edition_id": str(content.edition_id)}
        categories = list(dict.fromkeys([content.newsletter, *self.settings.categories]))[:MAX_CATEGORIES]
        body: dict[str, object] = {
            "from": _address(content.sender.email, content.sender.name),
            "subject": content.subject,
            "content": [
                {"type": "text/plain", "value": content.text},
                {"type": "text/html", "value": use_html_keys(content.html)},
            ],
            "headers": {"List-Id": content.list_id},
            "categories": categories,
            "custom_args": custom_args,
        }
        body.update(self._common(content.sender))
        # Global custom_args plus the per-personalization subscriber_id ({"subscriber_id": "<id>"}).
        if len(orjson.dumps(custom_args)) + 64 > MAX_CUSTOM_ARGS_BYTES:
            raise DeliveryError(f"edition {content.edition_id}: custom_args exceed SendGrid's 10,000 bytes")
        shared = orjson.dumps(body)
        self._shared[content.edition_id] = (shared, content)
        return shared

    def _common(self, sender: Sender) -> dict[str, object]:
        common: dict[str, object] = {}
        if sender.reply_to:
            common["reply_to"] = {"email": sender.reply_to}
        if self.settings.asm_group_id is not None:
            common["asm"] = {"group_id": self.settings.asm_group_id}
        if self.settings.sandbox:
            common["mail_settings"] = {"sandbox_mode": {"enable": True}}
        return common

    def prepare(self, content: EditionContent, addressees: list[Addressee]) -> Prepared:
        """One request: a personalization per addressee (the hot path of a large send)."""
        if len(addressees) > MAX_PERSONALIZATIONS:
            raise ValueError(f"at most {MAX_PERSONALIZATIONS} recipients per SendGrid request")
        shared = self._shared_part(content)
        substitutions = _substitutions_builder(content)
        mailto = content.mailto_suffix
        personalizations = []
        accepted: list[Addressee] = []
        rejected: dict[int, str] = {}
        for addressee in addressees:
            subscriber_id, email, name, unsubscribe_url, _ = addressee
            values = substitutions(addressee)
            if len(email) > MAX_ADDRESS_LENGTH or len(name) + len(email) > _LONG_VALUES:
                problem = _recipient_problem(email, values)
                if problem:
                    rejected[subscriber_id] = problem
                    continue
            personalizations.append({
                "to": [_address(email, name)],
                "substitutions": values,
                "headers": {"List-Unsubscribe": f"<{unsubscribe_url}>{mailto}", "List-Unsubscribe-Post": ONE_CLICK},
                "custom_args": {"subscriber_id": str(subscriber_id)},
            })
            accepted.append(addressee)
        body = b'{"personalizations":' + orjson.dumps(personalizations) + b"," + shared[1:]
        if len(body) > MAX_BODY_BYTES:
            raise DeliveryError(
                f"edition {content.edition_id}: a SendGrid request would be {len(body) // 2**20} MB "
                "(limit 30 MB): lower [delivery] batch_size"
            )
        batch = SendgridBatch(body.decode(), [addressee.subscriber_id for addressee in accepted])
        return Prepared(accepted, batch, rejected)

    # --- sending ----------------------------------------------------------------------

    def _post(self, body: str):
        return self.client.client.mail.send.post(
            request_body=body, request_headers={"Content-Type": JSON_UTF8}, timeout=self.timeout
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
            "subject": message.subject,
            "content": [{"type": "text/plain", "value": message.text}]
            + ([{"type": "text/html", "value": message.html}] if message.html is not None else []),
        }
        if message.headers:
            body["headers"] = dict(message.headers)
        body.update(self._common(sender))
        try:
            response = self._post(orjson.dumps(body).decode())
        except HTTPError as error:
            raise DeliveryError(f"SendGrid refused a message ({error.status_code}): {_errors(error.body)}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as error:
            raise DeliveryError(f"SendGrid {self.settings.api_host}: {error}") from None
        return response.headers.get("X-Message-Id") or ""

    def close(self) -> None:
        self._shared.clear()


def _address(email: str, name: str) -> dict[str, str]:
    if not name:
        return {"email": email}
    if ";" in name or "," in name or "\n" in name or "\r" in name:
        name = _NAME_FORBIDDEN.sub(" ", name).strip()
    return {"email": email, "name": name} if name else {"email": email}


def _substitutions_builder(content: EditionContent) -> Callable[[Addressee], dict[str, str]]:
    """addressee → its substitutions: plain values under the placeholders of the text part,
    HTML-escaped ones under the html_key of those of the HTML part (see publisher.placeholders)."""
    fields = {NAME: 2, EMAIL: 1, UNSUBSCRIBE_URL: 3, PREFERENCES_URL: 4}
    plain = [(key, fields[key]) for key in content.text_keys if key in fields]
    escaped = [(html_key(key), fields[key]) for key in content.html_keys if key in fields]
    # Signed links are URL-safe: escaping changes them only if the site's base URL needs it.
    urls_safe = not any(char in content.view_online_url for char in "&<>\"'")
    verbatim = [(name, index) for name, index in escaped if urls_safe and index >= 3]
    escaped = [(name, index) for name, index in escaped if not (urls_safe and index >= 3)]

    def build(addressee: Addressee) -> dict[str, str]:
        values = {key: addressee[index] for key, index in plain}
        for key, index in verbatim:
            values[key] = addressee[index]
        for key, index in escaped:
            values[key] = escape(addressee[index], quote=True)
        return values

    return build


def _recipient_problem(email: str, substitutions: dict[str, str]) -> str | None:
    if len(email) > MAX_ADDRESS_LENGTH:
        return f"address longer than {MAX_ADDRESS_LENGTH} characters"
    if len(orjson.dumps(substitutions)) > MAX_SUBSTITUTIONS_BYTES:
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
