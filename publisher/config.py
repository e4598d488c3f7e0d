"""config.toml, read once into frozen, validated objects.

Every error names the file, the line when it can be found, and the dotted key:
``config.toml:14: feeds.items: Input should be a valid integer``. Unknown keys are errors,
so a typo never silently falls back to a default. Paths are relative to config.toml.
Secrets never live in the file: they come from the environment (see Secrets).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from publisher.addresses import InvalidAddress, InvalidName, checked_address, checked_name
from publisher.config_text import refuse_control_characters, where
from publisher.errors import ConfigError
from publisher.slugs import slugify

DEFAULT_CONFIG = "config.toml"
CONFIG_ENV = "PUBLISHER_CONFIG"


def _as_path(value: Any) -> Path:
    if isinstance(value, Path):  # a default (validate_default); the file gives strings
        return value
    if not isinstance(value, str) or not value:
        raise ValueError("expected a path (a non-empty string)")
    return Path(value)


def _relative_to_config(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    return value if value.is_absolute() or base is None else base / value


def _absolute_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return value.rstrip("/")


def _email(value: str) -> str:
    """A sender address, by the policy of publisher.addresses (test domains allowed), in normal form."""
    try:
        return checked_address(value, allow_test_domains=True)
    except InvalidAddress as error:
        raise ValueError(f"expected an email address, got {value!r}: {error}") from None


def _display_name(value: str) -> str:
    """A sender name, by the policy of publisher.addresses."""
    try:
        return checked_name(value)
    except InvalidName as error:
        raise ValueError(f"{value!r}: {error}") from None


# The DER prefix of an ECDSA P-256 public key (SubjectPublicKeyInfo), the kind SendGrid signs with.
_P256_KEY_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def _is_p256_public_key(value: str) -> bool:
    try:
        der = base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return len(der) == len(_P256_KEY_PREFIX) + 65 and der.startswith(_P256_KEY_PREFIX)


def _proxy_addresses(value: Any) -> tuple[str, ...]:
    """A list of IP addresses or networks (also the former comma-separated string)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError('expected a list of IP addresses or networks, e.g. ["127.0.0.1"]')
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (list the proxies' addresses)") from None
    return tuple(value)


# A path in config.toml: a string, resolved against the folder of config.toml.
ConfigPath = Annotated[Path, BeforeValidator(_as_path), AfterValidator(_relative_to_config)]
AbsoluteUrl = Annotated[str, AfterValidator(_absolute_url)]
Email = Annotated[str, AfterValidator(_email)]
DisplayName = Annotated[str, AfterValidator(_display_name)]
PositiveInt = Annotated[int, Field(gt=0)]
ProxyAddresses = Annotated[tuple[str, ...], BeforeValidator(_proxy_addresses)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)


class SiteConfig(Section):
    title: str
    base_url: AbsoluteUrl
    description: str = ""
    language: str = "fr"
    timezone: str = "Europe/Paris"
    postal_address: str

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
            _absolute_url(value.replace("{slug}", "slug"))
        return value


class OutboxConfig(Section):
    path: ConfigPath = Path("outbox")


class SendgridConfig(Section):
    api_host: AbsoluteUrl = "https://api.sendgrid.com"
    sandbox: bool = False
    asm_group_id: PositiveInt | None = None
    # Categories added to every message (the newsletter slug is always one): at most 9.
    categories: Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], Field(max_length=9)] = []
    # The Event Webhook's verification key (SendGrid: Settings → Mail Settings → Event Webhooks →
    # Signed Event Webhook). Without it /webhooks/sendgrid is off (404). See README "Event Webhook".
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


SubscriberStatus = Literal["pending", "active", "unsubscribed", "bounced", "complained"]
NonEmptyStr = Annotated[str, Field(min_length=1)]
NonEmptyList = Annotated[list[NonEmptyStr], Field(min_length=1)]


class SubscribersConfig(Section):
    """[subscribers]: double opt-in and address checks."""

    # A confirmation link is valid this many days; pending subscribers who have not
    # confirmed within it are purged (`publisher subscribers purge-pending`).
    pending_days: Annotated[int, Field(gt=0, le=365)] = 7
    # Accept addresses at the reserved .test domain (RFC 2606), as the demo data uses.
    allow_test_domains: bool = False


class SegmentFilter(Section):
    """A declarative subscriber filter; all the conditions given must hold.

    ``all``/``any``/``not`` combine nested filters. Compiled to parameterised SQL by
    publisher.store.segments; nothing from config ever becomes raw SQL. Tags are given by
    name or slug, attributes by CSV column name; dates without an offset are in the site
    time zone.
    """

    model_config = ConfigDict(populate_by_name=True)

    interests_any: NonEmptyList | None = None
    interests_all: NonEmptyList | None = None
    attributes: Annotated[dict[NonEmptyStr, NonEmptyStr | NonEmptyList], Field(min_length=1)] | None = None
    locale: NonEmptyStr | NonEmptyList | None = None
    status: SubscriberStatus | Annotated[list[SubscriberStatus], Field(min_length=1)] | None = None
    subscribed_before: datetime | date | None = None
    subscribed_after: datetime | date | None = None
    all: Annotated[list[SegmentFilter], Field(min_length=1)] | None = None
    any: Annotated[list[SegmentFilter], Field(min_length=1)] | None = None
    not_: SegmentFilter | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _not_empty(self) -> SegmentFilter:
        if type(self) is SegmentFilter and not self.conditions():
            raise ValueError("empty filter (give at least one condition)")
        return self

    def conditions(self) -> dict[str, Any]:
        """The conditions that are set, by config key (``not`` under its TOML name)."""
        return {
            ("not" if name == "not_" else name): value
            for name in FILTER_KEYS
            if (value := getattr(self, name)) is not None
        }


FILTER_KEYS = (
    "interests_any",
    "interests_all",
    "attributes",
    "locale",
    "status",
    "subscribed_before",
    "subscribed_after",
    "all",
    "any",
    "not_",
)


class SegmentConfig(SegmentFilter):
    """[segments.NAME]: a filter and a description. No condition at all means every subscriber."""

    description: str = ""


def _template_name(value: str) -> str:
    parts = value.replace("\\", "/").split("/")
    if not value or value.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"expected a template file name inside the templates folder, got {value!r}")
    return value


TemplateName = Annotated[str, AfterValidator(_template_name)]


class DigestsConfig(Section):
    """Settings shared by every newsletter's templates."""

    # Folder of the templates: <templates_dir>/<slug>/ for one newsletter, <templates_dir>/_shared/ for all.
    templates_dir: ConfigPath = "newsletters"  # type: ignore[assignment]  # a str, validated into a Path
    # Logo shown in the header instead of the site title (absolute URL of a PNG/JPEG, about 360 px wide).
    logo_url: AbsoluteUrl | None = None


class NewsletterConfig(Section):
    title: str
    # Jinja templates (plain text): variables in README "Newsletters and templates".
    subject: str
    preheader: str = ""
    template: TemplateName = "digest.mjml.j2"
    # The text/plain part; default: the template name with .mjml.j2 replaced by .txt.j2.
    text_template: TemplateName | None = None
    segment: str
    schedule: str
    selection: Literal["all", "tags", "interests"] = "all"
    tags: list[str] = []
    max_items: Annotated[int, Field(gt=0, le=100)] = 10
    group_by: Literal["date", "tag"] = "date"
    # UTM parameters on article links: utm_source=newsletter, utm_medium=email, utm_campaign=<utm_campaign or slug>.
    utm: bool = True
    utm_campaign: str | None = None
    from_email: Email | None = None
    from_name: DisplayName | None = None
    reply_to: Email | None = None
    # Sent editions open to anyone at /archive/ID and listed; default: unless selection = "interests".
    archive: bool | None = None

    @field_validator("schedule")
    @classmethod
    def _cron_shape(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"expected a 5-field cron expression (minute hour day month weekday), got {value!r}")
        return value

    @field_validator("tags")
    @classmethod
    def _tag_slugs(cls, value: list[str]) -> list[str]:
        """Tag names or slugs, kept as slugs ("bassin d'emploi" → "bassin-d-emploi")."""
        slugs = [slugify(name) for name in value]
        if not all(slugs):
            raise ValueError("tag names must contain letters or digits")
        return list(dict.fromkeys(slugs))

    @model_validator(mode="after")
    def _tags_for_tag_selection(self) -> NewsletterConfig:
        if self.selection == "tags" and not self.tags:
            raise ValueError('selection = "tags" needs a non-empty tags list')
        return self

    @property
    def public_archive(self) -> bool:
        """Whether sent editions are public: those made per reader from their interests are not, by default."""
        return self.archive if self.archive is not None else self.selection != "interests"

    @property
    def text_template_name(self) -> str:
        if self.text_template:
            return self.text_template
        return self.template.removesuffix(".j2").removesuffix(".mjml") + ".txt.j2"


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


class Config(Section):
    site: SiteConfig
    store: StoreConfig = Field(default_factory=StoreConfig)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    delivery: DeliveryConfig
    subscribers: SubscribersConfig = Field(default_factory=SubscribersConfig)
    segments: dict[str, SegmentConfig] = {}
    digests: DigestsConfig = Field(default_factory=DigestsConfig)
    newsletters: dict[str, NewsletterConfig] = {}
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    # Where this config was read from; not a key of the file.
    source: Path = Field(default=Path(DEFAULT_CONFIG), exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _sections_with_context(cls, data: Any) -> Any:
        """Validate absent optional sections from ``{}`` so their paths resolve against config.toml
        (a default_factory would build them without the validation context)."""
        if isinstance(data, dict):
            data = {name: {} for name in ("store", "feeds", "digests")} | data
        return data

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    @property
    def feeds_url(self) -> str:
        return self.feeds.public_url or f"{self.site.base_url}/feeds"


# The Makefile's secret for `make demo`, which sends to the outbox only: public, never for production.
DEMO_SECRET = "demo-secret-not-for-production"
# What to do about a missing variable, when there is more to say than its name.
_HOW_TO_SET = {
    "PUBLISHER_SECRET": (
        "export PUBLISHER_SECRET=... with the secret this store's links are signed with "
        f"(after make demo: {DEMO_SECRET}; README « Configuration »)"
    ),
}


@dataclass(frozen=True)
class Secrets:
    """Secrets, read only from the environment. Missing ones are None until a feature needs them."""

    sendgrid_api_key: str | None = None
    smtp_password: str | None = None
    signing_secret: str | None = None
    admin_password: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        return cls(
            sendgrid_api_key=env.get("SENDGRID_API_KEY") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            signing_secret=env.get("PUBLISHER_SECRET") or None,
            admin_password=env.get("PUBLISHER_ADMIN_PASSWORD") or None,
        )

    def require(self, name: str, env_var: str, needed_for: str) -> str:
        value = getattr(self, name)
        if not value:
            advice = f"; {_HOW_TO_SET[env_var]}" if env_var in _HOW_TO_SET else ""
            raise ConfigError(f"environment variable {env_var} is not set (needed for {needed_for}){advice}")
        return value


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the explicit path, else $PUBLISHER_CONFIG, else ./config.toml."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use --config or {CONFIG_ENV})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config file: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    refuse_control_characters(path, text, data)
    try:
        config = Config.model_validate({**data, "source": path}, context={"base_dir": path.parent})
    except ValidationError as error:
        raise _config_error(path, text, error) from None
    _check_references(config, text)
    return config


def _check_references(config: Config, text: str) -> None:
    for slug, newsletter in config.newsletters.items():
        if newsletter.segment not in config.segments:
            key = ("newsletters", slug, "segment")
            known = ", ".join(sorted(config.segments)) or "none defined"
            raise ConfigError(
                f"{where(config.source, text, key)}: {'.'.join(key)}: "
                f"unknown segment {newsletter.segment!r} (segments: {known})"
            )


def _config_error(path: Path, text: str, error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    key = tuple(str(part) for part in first["loc"] if _is_data_key(part))
    message = {"extra_forbidden": "unknown key", "missing": "missing required key"}.get(first["type"], first["msg"])
    message = message.removeprefix("Value error, ")
    more = error.error_count() - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return ConfigError(f"{where(path, text, key)}: {'.'.join(key) or '(top level)'}: {message}{suffix}")


def _is_data_key(part: str | int) -> bool:
    # pydantic adds the union member names ("str", "list[str]") to error locations.
    # Whole names only: "interests_any" is a key, "int" and "constrained-str" are not.
    return isinstance(part, int) or not re.search(
        r"[\[\]]|^(str|int|float|bool|none|date|datetime|constrained-[a-z]+|function-[a-z-]+)$", part
    )


def key_location(config: Config, key: tuple[str, ...]) -> str:
    """``config.toml:LINE`` of a key of this config (``config.toml`` when the line is not found)."""
    try:
        text = config.source.read_text(encoding="utf-8")
    except OSError:
        return str(config.source)
    return where(config.source, text, key)
