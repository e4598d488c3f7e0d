"""The body of an Event Webhook request, read strictly: what SendGrid sends, or a 400.

SendGrid posts a JSON list of flat event objects (a few values are short lists or objects,
e.g. ``category``, ``pool``), in UTF-8, in batches well under our body limit. Anything else
(NaN or Infinity, numbers beyond 64 bits, an id of the wrong type, nesting deeper than an
event needs, strings longer than any SendGrid field, more events than a batch holds) is
refused as a whole with WebhookPayloadError naming the event and field, before anything
is applied. Fields we do not use are only checked for shape.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from publisher.errors import WebhookPayloadError

# More than SendGrid puts in one POST (batches of at most about 768 KB, a few hundred bytes an event).
MAX_EVENTS = 10_000
# Any string value; SendGrid's longest (a URL, a bounce reason, a user agent) stay far below.
MAX_TEXT = 10_000
# list → event → value → item: a value of an event may be a list or an object of scalars.
MAX_DEPTH = 4
# Event times (and signature times) SendGrid can send: 2000-01-01 to 2100-01-01, Unix seconds.
FIRST_TIME, LAST_TIME = 946_684_800, 4_102_444_800
_EVENT_ID = re.compile(r"[!-~]{1,100}")  # sg_event_id: printable ASCII, at most 100 characters
_OUR_ID = re.compile(r"[1-9][0-9]{0,17}")  # edition_id and subscriber_id, as we send them
_MAX_NUMBER_DIGITS = 20


@dataclass(frozen=True)
class Event:
    """One event, with the fields the webhook uses, checked and typed."""

    kind: str
    event_id: str | None
    email: str | None
    at: datetime | None
    message_id: str | None
    newsletter: str | None
    edition_id: int | None
    subscriber_id: int | None
    type: str | None
    reason: str | None
    url: str | None = None
    machine_open: bool = False  # sg_machine_open: an open by a mail server or proxy, not a reader

    @property
    def has_custom_args(self) -> bool:
        return any(value is not None for value in (self.newsletter, self.edition_id, self.subscriber_id))


def body_text(body: bytes) -> str:
    """The body as text: SendGrid sends (and signs) UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WebhookPayloadError(f"SendGrid webhook: body is not UTF-8 (byte {error.start})") from None


def parse_events(text: str) -> list[Event]:
    """The events of a request body, or WebhookPayloadError for the first thing SendGrid would not send."""
    items = _json(text)
    if not isinstance(items, list):
        raise WebhookPayloadError("SendGrid webhook: expected a JSON list of event objects")
    if len(items) > MAX_EVENTS:
        raise WebhookPayloadError(f"SendGrid webhook: {len(items)} events in one request (at most {MAX_EVENTS})")
    return [_event(number, item) for number, item in enumerate(items, start=1)]


def _json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except RecursionError:
        raise WebhookPayloadError("SendGrid webhook: body nested too deeply") from None
    except ValueError as error:
        raise WebhookPayloadError(f"SendGrid webhook: body is not JSON ({error})") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number SendGrid sends")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_NUMBER_DIGITS:
        raise ValueError(f"a number of {len(digits)} digits")
    return int(digits)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _event(number: int, item: Any) -> Event:
    if not isinstance(item, dict):
        raise WebhookPayloadError(f"SendGrid webhook: event {number}: expected an object")
    for key, value in item.items():
        _check_value(number, key, value, depth=2)
    field = _FieldReader(number, item)
    return Event(
        kind=field.text("event", 64) or "",
        event_id=field.matching("sg_event_id", _EVENT_ID, "at most 100 printable ASCII characters"),
        email=field.text("email", 320),
        at=field.time("timestamp"),
        message_id=field.text("sg_message_id", 256),
        # Events of SendGrid's legacy newsletters carry an object of that name: not our custom_args.
        newsletter=None if isinstance(item.get("newsletter"), dict) else field.text("newsletter", 200),
        edition_id=field.our_id("edition_id"),
        subscriber_id=field.our_id("subscriber_id"),
        type=field.text("type", 64),
        reason=field.text("reason", MAX_TEXT),
        url=field.text("url", MAX_TEXT),
        machine_open=field.flag("sg_machine_open"),
    )


def _check_value(number: int, key: str, value: Any, depth: int) -> None:
    """Shape of any value: bounded strings, finite numbers, shallow lists and objects."""
    where = f"SendGrid webhook: event {number}: {key[:50]!a}"  # escaped: the key is not ours
    if depth > MAX_DEPTH:
        raise WebhookPayloadError(f"{where}: nested too deeply")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise WebhookPayloadError(f"{where}: text longer than {MAX_TEXT} characters")
        if not value.isascii() and not _encodable(value):
            raise WebhookPayloadError(f"{where}: text with an invalid character (lone surrogate)")
    elif isinstance(value, list):
        for item in value:
            _check_value(number, key, item, depth + 1)
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_value(number, f"{key}.{name}", item, depth + 1)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _FieldReader:
    """Typed access to the fields of one event; a field of the wrong type or size is a 400."""

    def __init__(self, number: int, item: dict) -> None:
        self.number = number
        self.item = item

    def _refuse(self, key: str, reason: str) -> WebhookPayloadError:
        return WebhookPayloadError(f"SendGrid webhook: event {self.number}: {key}: {reason}")

    def text(self, key: str, limit: int) -> str | None:
        value = self.item.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._refuse(key, f"expected text, got {type(value).__name__}")
        if len(value) > limit:
            raise self._refuse(key, f"longer than {limit} characters")
        return value

    def matching(self, key: str, pattern: re.Pattern[str], expected: str) -> str | None:
        value = self.text(key, MAX_TEXT)
        if value is not None and not pattern.fullmatch(value):
            raise self._refuse(key, f"expected {expected}")
        return value

    def our_id(self, key: str) -> int | None:
        value = self.matching(key, _OUR_ID, "a positive id in a string, as publisher sends it")
        return None if value is None else int(value)

    def flag(self, key: str) -> bool:
        value = self.item.get(key, False)
        if type(value) is not bool:
            raise self._refuse(key, f"expected true or false, got {type(value).__name__}")
        return value

    def time(self, key: str) -> datetime | None:
        value = self.item.get(key)
        if value is None:
            return None
        if type(value) is not int or not FIRST_TIME <= value < LAST_TIME:
            raise self._refuse(key, "expected Unix seconds (an integer) between 2000 and 2100")
        return datetime.fromtimestamp(value, UTC)
