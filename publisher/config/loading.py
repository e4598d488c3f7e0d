"""The whole file: Config, where config.toml is found, load_config, and where a key is
written (errors name ``file:line`` and the dotted key)."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from publisher.config.fields import Section
from publisher.config.newsletters import DigestsConfig, NewsletterConfig, SegmentConfig
from publisher.config.sections import (
    DeliveryConfig,
    FeedsConfig,
    ServiceConfig,
    SiteConfig,
    StoreConfig,
    SubscribersConfig,
)
from publisher.config.text import refuse_control_characters, where
from publisher.errors import ConfigError

DEFAULT_CONFIG = "config.toml"
CONFIG_ENV = "PUBLISHER_CONFIG"


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
