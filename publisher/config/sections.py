"""The sections of config.toml about the site and its machinery: [site], [store], [feeds],
[delivery] (with [delivery.outbox], [delivery.sendgrid], [delivery.smtp]), [subscribers] and
[service]."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator

from publisher.config.fields import (
    AbsoluteUrl,
    ConfigPath,
    DisplayName,
    Email,
    PositiveInt,
    ProxyAddresses,
    Section,
    checked_absolute_url,
)
from publisher.french import of


class SiteConfig(Section):
    title: str
    base_url: AbsoluteUrl
    description: str = ""
    language: str = "fr"
    timezone: str = "Europe/Paris"
    postal_address: str
    # « de »/« d’ » before the title: guessed from its first letter (vowel or h: « d’ ») unless set.
    name_elides: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as Europe/Paris)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def of_title(self) -> str:
        """« d’Horizons Emploi-Formation », « de Tours Métropole »: the title after « de »."""
        return of(self.title, self.name_elides)


class StoreConfig(Section):
    path: ConfigPath = Path("publisher.db")


class FeedsConfig(Section):
    output_dir: ConfigPath = Path("feeds")
    items: Annotated[int, Field(gt=0, le=1000)] = 50
    formats: list[Literal["rss", "atom", "json"]] = ["rss", "atom", "json"]
    websub_hub: AbsoluteUrl | None = None
    # Public URL under which output_dir is served; default: <site.base_url>/feeds.
    public_url: AbsoluteUrl | None = None
    rebuild_minutes: PositiveInt = 10
    # The site's page for one tag (the channel link of its feeds); default: <site.base_url>/tags/{slug}.
    tag_page_url: str | None = None

    @field_validator("tag_page_url")
    @classmethod
    def _tag_page_template(cls, value: str | None) -> str | None:
        if value is not None:
            if "{slug}" not in value:
                raise ValueError(f"expected a URL containing {{slug}}, got {value!r}")
            checked_absolute_url(value.replace("{slug}", "slug"))
        return value


class OutboxConfig(Section):
    path: ConfigPath = Path("outbox")


# The DER prefix of an ECDSA P-256 public key (SubjectPublicKeyInfo), the kind SendGrid signs with.
_P256_KEY_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def _is_p256_public_key(value: str) -> bool:
    try:
        der = base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return len(der) == len(_P256_KEY_PREFIX) + 65 and der.startswith(_P256_KEY_PREFIX)


class SendgridConfig(Section):
    api_host: AbsoluteUrl = "https://api.sendgrid.com"
    sandbox: bool = False
    asm_group_id: PositiveInt | None = None
    # Categories added to every message (the newsletter slug is always one): at most 9.
    categories: Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], Field(max_length=9)] = []
    # The Event Webhook's verification key (SendGrid: Settings → Mail Settings → Event Webhooks →
    # Signed Event Webhook). Without it /webhooks/sendgrid is off (404). See docs/delivery.md, "Event Webhook".
    webhook_verification_key: str | None = None
    # A signed request is accepted this long after its signature time (header
    # X-Twilio-Email-Event-Webhook-Timestamp): SendGrid retries an event for up to 24 hours.
    webhook_max_age_hours: Annotated[int, Field(ge=1, le=168)] = 25
    # Event ids (sg_event_id) already applied are kept this long, then pruned every night.
    webhook_events_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30

    @field_validator("webhook_verification_key")
    @classmethod
    def _verification_key(cls, value: str | None) -> str | None:
        if value is not None and not _is_p256_public_key(value):
            raise ValueError(
                "expected the verification key SendGrid shows under Mail Settings → Event Webhooks → "
                "Signed Event Webhook (base64, starting MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE)"
            )
        return value

    @field_validator("webhook_events_retention_days")
    @classmethod
    def _retention_covers_the_window(cls, value: int, info: ValidationInfo) -> int:
        """A replayed request is recognised by its sg_event_id only while that id is kept."""
        max_age = info.data.get("webhook_max_age_hours")
        if max_age is not None and value * 24 <= max_age:
            raise ValueError(
                f"must be longer than webhook_max_age_hours ({max_age} h), or a replayed request "
                "could be applied again after its event ids were pruned"
            )
        return value


class SmtpConfig(Section):
    host: str = "localhost"
    port: Annotated[int, Field(gt=0, lt=65536)] = 587
    starttls: bool = True
    username: str | None = None


class DeliveryConfig(Section):
    transport: Literal["outbox", "sendgrid", "smtp"] = "outbox"
    from_email: Email
    from_name: DisplayName = ""
    reply_to: Email | None = None
    batch_size: Annotated[int, Field(gt=0, le=1000)] = 500
    rate_per_second: Annotated[float, Field(gt=0)] = 10.0
    # Requests (SendGrid) or connections (SMTP) in flight at once.
    concurrency: Annotated[int, Field(gt=0, le=32)] = 4
    # Processes building SendGrid requests for large sends; 0: one per CPU, 1: none.
    build_processes: Annotated[int, Field(ge=0, le=32)] = 0
    # Attempts per batch on 429, 5xx, resets and timeouts before giving up on it for this run.
    max_attempts: Annotated[int, Field(gt=0, le=20)] = 5
    # Seconds before the first retry; doubles at each attempt (with jitter), at most 60 s.
    retry_delay: Annotated[float, Field(gt=0)] = 1.0
    # Seconds before an answer is given up on (the outcome of that batch is then unknown).
    request_timeout: Annotated[float, Field(gt=0)] = 30.0
    # Consecutive failed batches after which an edition pauses (resume with `publisher send`).
    pause_after_failures: PositiveInt = 5
    # Offered in List-Unsubscribe next to the one-click https link, e.g. "unsubscribe@example.org".
    unsubscribe_mailto: Email | None = None
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    sendgrid: SendgridConfig = Field(default_factory=SendgridConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)


class SubscribersConfig(Section):
    """[subscribers]: double opt-in and address checks."""

    # A confirmation link is valid this many days; pending subscribers who have not
    # confirmed within it are purged (`publisher subscribers purge-pending`).
    pending_days: Annotated[int, Field(gt=0, le=365)] = 7
    # Accept addresses at the reserved .test domain (RFC 2606), as the demo data uses.
    allow_test_domains: bool = False


class ServiceConfig(Section):
    """``publisher serve``: the web app and the scheduler."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, lt=65536)] = 8000
    # A scheduled time missed by less than this (service down, machine asleep, a long job)
    # is still run, once; an older one is skipped and logged. Also APScheduler's misfire grace time.
    catch_up_minutes: PositiveInt = 120
    # Proxies (IP addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed;
    # none by default: the client IP is then the connection's.
    forwarded_allow_ips: ProxyAddresses = ()
    # The HTTP basic auth user of /admin/ (the password comes from PUBLISHER_ADMIN_PASSWORD).
    admin_user: Annotated[str, Field(min_length=1)] = "admin"
    # After this many wrong passwords from one client IP, /admin/ answers it 429 for
    # admin_block_seconds, doubled at each further block up to admin_block_max_seconds.
    admin_failures_before_block: PositiveInt = 5
    admin_block_seconds: PositiveInt = 30
    admin_block_max_seconds: PositiveInt = 300
    # Largest request body accepted by forms; the SendGrid webhook has its own limit.
    max_form_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = 16_384
    webhook_max_bytes: Annotated[int, Field(ge=1024, le=52_428_800)] = 5_242_880
    # Sign-up attempts allowed per hour for one address and for one client IP.
    subscribe_per_address_per_hour: PositiveInt = 3
    subscribe_per_ip_per_hour: PositiveInt = 20
    # Cache-Control max-age of the feeds, in seconds.
    feeds_max_age: Annotated[int, Field(ge=0)] = 300
    # One line per request on stderr, combined log format, tokens and client addresses left out.
    access_log: bool = True
