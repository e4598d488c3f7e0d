"""The value types of config.toml, with their validation: paths relative to config.toml,
absolute URLs, sender addresses and names (by the policy of publisher.addresses), proxy
addresses; and Section, the base of every table (unknown keys are errors, values frozen)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from publisher.addresses import InvalidAddress, InvalidName, checked_address, checked_name


def _as_path(value: Any) -> Path:
    if isinstance(value, Path):  # a default (validate_default); the file gives strings
        return value
    if not isinstance(value, str) or not value:
        raise ValueError("expected a path (a non-empty string)")
    return Path(value)


def _relative_to_config(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    return value if value.is_absolute() or base is None else base / value


def checked_absolute_url(value: str) -> str:
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


def _sender_name(value: str) -> str:
    """A sender name, by the policy of publisher.addresses."""
    try:
        return checked_name(value)
    except InvalidName as error:
        raise ValueError(f"{value!r}: {error}") from None


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
AbsoluteUrl = Annotated[str, AfterValidator(checked_absolute_url)]
Email = Annotated[str, AfterValidator(_email)]
DisplayName = Annotated[str, AfterValidator(_sender_name)]
PositiveInt = Annotated[int, Field(gt=0)]
ProxyAddresses = Annotated[tuple[str, ...], BeforeValidator(_proxy_addresses)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)
