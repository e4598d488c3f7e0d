"""Typos in config.toml that only the store reveals: a tag of a newsletter or segment that no
article has, an attribute or attribute value of a segment that no subscriber has.

They are warnings, not errors (the tag may come with the next import), but such a newsletter or
segment is silently empty, so every command that uses one says so, with the file, line and key
and the closest spelling stored (publisher.spelling):
``config.toml:98: newsletters.alternance.tags: unknown tag 'aprentissage' — did you mean 'apprentissage'?``
Each check is one index probe; the stored names are read only to suggest one.
"""

from __future__ import annotations

from collections.abc import Iterator

from publisher.app import App
from publisher.config import SegmentFilter, key_location
from publisher.errors import NotFoundError
from publisher.slugs import slugify
from publisher.spelling import did_you_mean
from publisher.store import Store
from publisher.store.subscribers import (
    attribute_names,
    attribute_values,
    has_attribute,
    stored_values_among,
    tag_ids,
    tags_by_id,
)

Key = tuple[str, ...]


def unknown_tag(store: Store, tag: str) -> str:
    """« unknown tag 'x' — did you mean 'y'? », y the closest tag name stored."""
    return f"unknown tag {tag!r}{did_you_mean(tag, (name for _, name in tags_by_id(store).values()))}"


def newsletter_warnings(app: App, slug: str, segment: str | None = None) -> list[str]:
    """The typos of a newsletter's tags and of its segment (or ``segment``); none for unknown names."""
    newsletter = app.config.newsletters.get(slug)
    if newsletter is None:
        return []
    known = tag_ids(app.store)
    found = [
        _located(app, ("newsletters", slug, "tags"), unknown_tag(app.store, tag))
        for tag in newsletter.tags
        if tag not in known
    ]
    return found + segment_warnings(app, segment or newsletter.segment)


def segment_warnings(app: App, name: str) -> list[str]:
    """The typos of a segment's tags, attribute names and values; none for an unknown segment."""
    segment = app.config.segments.get(name)
    if segment is None:
        return []
    return [_located(app, key, message) for key, message in _filter_typos(app.store, segment, ("segments", name))]


def newsletters_warnings(app: App) -> list[str]:
    """The typos of every newsletter and of the segments they use, each once."""
    return list(dict.fromkeys(warning for slug in app.config.newsletters for warning in newsletter_warnings(app, slug)))


def segments_warnings(app: App) -> list[str]:
    """The typos of every segment, by segment name."""
    return [warning for name in sorted(app.config.segments) for warning in segment_warnings(app, name)]


def config_warnings(app: App) -> list[str]:
    """Every typo of config.toml the store reveals, each once (run-once, /admin/)."""
    return list(dict.fromkeys([*newsletters_warnings(app), *segments_warnings(app)]))


def stored_attributes(app: App, name: str | None = None) -> list[tuple[str, str, int]]:
    """(attribute, value, subscribers) stored, of every attribute or of ``name`` (any case);
    NotFoundError with the closest name when no subscriber has that attribute."""
    if name is None:
        return attribute_values(app.store)
    attribute = name.strip().lower()
    if not has_attribute(app.store, attribute):
        raise NotFoundError(_no_attribute(app.store, name))
    return attribute_values(app.store, attribute)


def _filter_typos(store: Store, flt: SegmentFilter, key: Key) -> Iterator[tuple[Key, str]]:
    known = tag_ids(store)
    for condition in ("interests_any", "interests_all"):
        for tag in getattr(flt, condition) or ():
            if slugify(tag) not in known:
                yield (*key, condition), unknown_tag(store, tag)
    for name, wanted in (flt.attributes or {}).items():
        yield from _attribute_typos(
            store, name, [wanted] if isinstance(wanted, str) else wanted, (*key, "attributes", name)
        )
    for joiner, nested in (("all", flt.all), ("any", flt.any)):
        for index, part in enumerate(nested or ()):
            yield from _filter_typos(store, part, (*key, joiner, str(index)))
    if flt.not_ is not None:
        yield from _filter_typos(store, flt.not_, (*key, "not"))


def _attribute_typos(store: Store, name: str, values: list[str], key: Key) -> Iterator[tuple[Key, str]]:
    attribute = name.strip().lower()
    if not has_attribute(store, attribute):
        yield key, _no_attribute(store, name)
        return
    stored = stored_values_among(store, attribute, values)
    for value in values:
        if value not in stored:
            existing = (stored_value for _, stored_value, _ in attribute_values(store, attribute))
            yield key, f"no subscriber has {attribute} = {value!r}{did_you_mean(value, existing)}"


def _no_attribute(store: Store, name: str) -> str:
    return f"no subscriber has an attribute {name!r}{did_you_mean(name, attribute_names(store))}"


def _located(app: App, key: Key, message: str) -> str:
    return f"{key_location(app.config, key)}: {'.'.join(key)}: {message}"
