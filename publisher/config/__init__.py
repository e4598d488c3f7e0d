"""config.toml, read once into frozen, validated objects.

Every error names the file, the line when it can be found, and the dotted key:
``config.toml:14: feeds.items: Input should be a valid integer``. Unknown keys are errors,
so a typo never silently falls back to a default. Paths are relative to config.toml.
Secrets never live in the file: they come from the environment, else from secrets.env beside
it (see Secrets).

The modules, by concept (import from ``publisher.config``, which gives every name below):

- ``loading``: Config (the whole file), where config.toml is found (``config_path``),
  ``load_config``, ``key_location``;
- ``sections``: [site], [store], [feeds], [delivery] and its transports, [subscribers], [service];
- ``newsletters``: [segments.NAME] (SegmentFilter), [digests], [newsletters.SLUG];
- ``fields``: the value types (paths, URLs, addresses, proxies) and Section, the base of tables;
- ``secrets``: Secrets, from the environment, else the local secrets file ``publisher init`` makes;
- ``text``: config.toml as text: the line where a key is written, no control characters.
"""

from publisher.config.fields import (
    AbsoluteUrl,
    ConfigPath,
    DisplayName,
    Email,
    PositiveInt,
    ProxyAddresses,
    Section,
)
from publisher.config.loading import CONFIG_ENV, DEFAULT_CONFIG, Config, config_path, key_location, load_config
from publisher.config.newsletters import (
    FILTER_KEYS,
    DigestsConfig,
    NewsletterConfig,
    NonEmptyList,
    NonEmptyStr,
    SegmentConfig,
    SegmentFilter,
    SubscriberStatus,
    TemplateName,
)
from publisher.config.secrets import Secrets
from publisher.config.sections import (
    DeliveryConfig,
    FeedsConfig,
    OutboxConfig,
    SendgridConfig,
    ServiceConfig,
    SiteConfig,
    SmtpConfig,
    StoreConfig,
    SubscribersConfig,
)
from publisher.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "FILTER_KEYS",
    "AbsoluteUrl",
    "Config",
    "ConfigError",
    "ConfigPath",
    "DeliveryConfig",
    "DigestsConfig",
    "DisplayName",
    "Email",
    "FeedsConfig",
    "NewsletterConfig",
    "NonEmptyList",
    "NonEmptyStr",
    "OutboxConfig",
    "PositiveInt",
    "ProxyAddresses",
    "Secrets",
    "Section",
    "SegmentConfig",
    "SegmentFilter",
    "SendgridConfig",
    "ServiceConfig",
    "SiteConfig",
    "SmtpConfig",
    "StoreConfig",
    "SubscriberStatus",
    "SubscribersConfig",
    "TemplateName",
    "config_path",
    "key_location",
    "load_config",
]
