"""The sections of config.toml about what is sent: [segments.NAME] (subscriber filters),
[digests] (the templates) and [newsletters.SLUG]."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from publisher.config.fields import AbsoluteUrl, ConfigPath, DisplayName, Email, Section
from publisher.errors import ConfigError
from publisher.scheduling import cron_trigger
from publisher.slugs import slugify

# The statuses of publisher.subscribers.status (tests/test_subscriber_status.py checks they agree).
SubscriberStatus = Literal["pending", "active", "unsubscribed", "bounced", "complained"]
NonEmptyStr = Annotated[str, Field(min_length=1)]
NonEmptyList = Annotated[list[NonEmptyStr], Field(min_length=1)]


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


_DURATION = re.compile(r"(\d+)\s*([dw])")
_MAX_FIRST_EDITION_DAYS = 3660


def _first_edition_since(value: object) -> timedelta | date:
    """ "7d" or "2w" (a duration back from the first send), or a date (TOML's 2026-09-01 or "2026-09-01")."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        if match := _DURATION.fullmatch(value.strip()):
            days = int(match[1]) * (7 if match[2] == "w" else 1)
            if 0 < days <= _MAX_FIRST_EDITION_DAYS:
                return timedelta(days=days)
        else:
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
    raise ValueError(
        f'expected a duration in days or weeks such as "7d" or "2w" (at most {_MAX_FIRST_EDITION_DAYS} days), '
        f"or a date such as 2026-09-01, got {value!r}"
    )


FirstEditionSince = Annotated[timedelta | date, BeforeValidator(_first_edition_since)]


class DigestsConfig(Section):
    """Settings shared by every newsletter's templates."""

    # Folder of the templates: <templates_dir>/<slug>/ for one newsletter, <templates_dir>/_shared/ for all.
    templates_dir: ConfigPath = "newsletters"  # type: ignore[assignment]  # a str, validated into a Path
    # Logo shown in the header instead of the site title (absolute URL of a PNG/JPEG, about 360 px wide).
    logo_url: AbsoluteUrl | None = None


class NewsletterConfig(Section):
    title: str
    # Jinja templates (plain text): variables in docs/newsletters.md.
    subject: str
    preheader: str = ""
    template: TemplateName = "digest.mjml.j2"
    # The text/plain part; default: the template name with .mjml.j2 replaced by .txt.j2.
    text_template: TemplateName | None = None
    segment: str
    schedule: str
    # What the first edition covers: default, one schedule period back from its send ("7d", or a date).
    first_edition_since: FirstEditionSince | None = None
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
    # Article links go through the site's signed /r/… links, which count clicks per article (never per reader).
    track_clicks: bool = True
    # Count opens (SendGrid's open tracking, per edition, machine opens apart): off unless staff turn it on.
    track_opens: bool = False

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        """A crontab expression the scheduler accepts, checked when config.toml is read."""
        if len(value.split()) != 5:
            raise ValueError(f"expected a 5-field cron expression (minute hour day month weekday), got {value!r}")
        try:
            cron_trigger(value, UTC)
        except ConfigError as error:
            raise ValueError(str(error)) from None
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
        """Whether sent editions are public: those made per subscriber from their interests are not, by default."""
        return self.archive if self.archive is not None else self.selection != "interests"

    @property
    def text_template_name(self) -> str:
        if self.text_template:
            return self.text_template
        return self.template.removesuffix(".j2").removesuffix(".mjml") + ".txt.j2"
