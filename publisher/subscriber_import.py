"""Subscriber CSV import (columns in docs/subscribers.md): validate, merge,
never re-activate who left.

- A header row names the columns; ``email`` is required; ``name``, ``locale``, ``interests``
  (tag names or slugs separated by ``|``), ``status``, ``consent_source``, ``consent_at`` are
  known; every other column is an attribute (``bassin``, ``role``…). Column names are
  case-insensitive; the delimiter is ``,``, ``;`` or tab (whichever the header uses); the file
  is UTF-8 (a BOM is fine).
- A bad row is rejected as ``FILE:LINE: field: reason``; every good row is imported.
- Rows with the same address (whatever its case) are merged into one subscriber: the file's
  duplicates and the subscribers already stored. Merging adds interests, sets the given
  attributes, name and locale, and never removes anything.
- Status: empty means ``active`` for a new subscriber and "unchanged" for a stored one. An
  explicit ``active`` confirms a pending subscriber; ``unsubscribed``/``bounced``/``complained``
  are always applied. Nobody who unsubscribed, bounced, complained or was forgotten is ever
  re-activated: such rows are skipped and reported, without failing the import.
- An interest that names no existing tag is reported as a warning and ignored; the row is
  imported with its other interests (tags come from articles; a typo must not create one).
- The whole file is written in one transaction; ``dry_run`` does all of it and rolls back.
"""

from __future__ import annotations

import csv
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import count
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from publisher.addresses import InvalidAddress, InvalidName, address_key, checked_address, checked_name
from publisher.app import App
from publisher.child_process import items_from_child
from publisher.clock import to_db
from publisher.errors import PublisherError, RecordError
from publisher.forget_list import AddressHasher, hasher_for
from publisher.slugs import slugify
from publisher.spreadsheet import restore_row
from publisher.store import Store, chunks
from publisher.store import subscribers as db
from publisher.subscriber_status import ACTIVE, STATUSES, Source, allowed, has_left

KNOWN_COLUMNS = ("email", "name", "locale", "interests", "status", "consent_source", "consent_at")
CHUNK = 2000
# Files from this size on are read, validated and planned (_Planner) in a child process, in parallel with the
# writing (see publisher.child_process); below it, starting the process costs more than it saves.
READ_IN_CHILD_FROM_BYTES = 8_000_000
# Up to this many stored subscribers, an import holds their address keys in memory (~100 bytes
# each) instead of looking every row up in the store.
STORED_KEYS_MAX = 500_000
SHARED_TEXTS_MAX = 100_000  # distinct cell texts a parser shares (see RowParser.parse)
BYTES_PER_ROW = 100  # about what a subscriber row of a CSV file takes, to estimate its rows
_LOCALE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|[0-9]{3}))?")
# consent_at already in UTC to the second, e.g. 2026-03-28T13:00:00Z or …+00:00
_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-]00:00)")
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2})[:h](\d{2})(?::(\d{2}))?)?")


@dataclass(frozen=True)
class RowNote:
    """A warning or a skipped row, reported like a rejection: ``FILE:LINE: field: message``."""

    source: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.field}: {self.message}"


@dataclass
class SubscriberImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0  # rows merged into an earlier row of the same file
    skipped: list[RowNote] = field(default_factory=list)  # left or forgotten: not re-activated
    rejected: list[RecordError] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        prefix = "dry run, nothing written: " if self.dry_run else ""
        return (
            f"{prefix}{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.merged} duplicates merged, {len(self.skipped)} skipped, {len(self.rejected)} rejected, "
            f"{len(self.warnings)} warnings"
        )


class Row(NamedTuple):
    """One valid CSV row. ``None`` means the cell was empty or the column absent. A named
    tuple: a large file's rows cross from the reading process as plain tuples."""

    line: int
    email: str
    key: str
    name: str | None
    locale: str | None
    status: str | None
    consent_source: str | None
    consent_at: str | None  # as stored: UTC text (publisher.clock.to_db)
    interests: tuple[int, ...]
    attributes: dict[str, str]
    # Set by _Planner for the rows it hands to _Merger: the id of the subscriber this row
    # creates (the first line of an address new to the store), and the first line of its address.
    new_id: int | None = None
    first_line: int = 0


class _SubscriberFieldError(PublisherError):
    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        self.reason = reason


# --- reading and validating ---------------------------------------------------------------


class RowParser:
    """Validates rows into Row objects; caches what repeats from row to row (statuses, locales,
    interests cells, tag names). ``parse`` runs once per row of a large import: keep it lean."""

    def __init__(self, app: App, source: str, tags: dict[str, int]) -> None:
        self.source = source
        self.tz: ZoneInfo = app.config.site.tz
        self.latest = to_db(app.clock.now() + timedelta(days=1))
        self.allow_test_domains = app.config.subscribers.allow_test_domains
        self.tags = tags
        self._interest_cells: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
        self._names: dict[str, int | None] = {}
        self._statuses: dict[str, str | None] = {"": None}
        self._locales: dict[str, str | None] = {"": None}
        self._texts: dict[str, str] = {}

    def parse(self, line: int, cells: list[str], layout: _Layout, warnings: list[RowNote]) -> Row:
        cells.append("")  # what absent columns read (see _Layout)
        email_cell, name, locale_cell, interests_cell, status_cell, source, consent_at = layout.known(cells)
        try:
            email = checked_address(email_cell, self.allow_test_domains)
        except InvalidAddress as error:
            raise _SubscriberFieldError("email", f"{email_cell.strip()!r}: {error}") from None
        try:
            name = checked_name(name)
        except InvalidName as error:
            raise _SubscriberFieldError("name", f"{_shortened(name)!r}: {error}") from None
        status = self._statuses[status_cell] if status_cell in self._statuses else self.status(status_cell)
        locale = self._locales[locale_cell] if locale_cell in self._locales else self.locale(locale_cell)
        interests = self._interest_cells.get(interests_cell)
        if interests is None:
            interests = self.interests(interests_cell)
        for tag in interests[1]:
            warnings.append(RowNote(self.source, line, "interests", f"unknown tag {tag!r}, ignored"))
        # Repeated texts (consent sources, attribute values such as a bassin) are kept as one
        # string object each: a large file's rows then pickle, cross from the reading process
        # and sit in memory as references to a few strings.
        texts = self._texts
        if len(texts) > SHARED_TEXTS_MAX:
            texts.clear()
        attributes = {}
        for attribute, index in layout.attributes:
            if value := cells[index].strip():
                attributes[attribute] = texts.setdefault(value, value)
        source = source.strip()
        source = texts.setdefault(source, source)
        consent_at = consent_at.strip()
        return Row(
            line,
            email,
            address_key(email),
            name or None,
            locale,
            status,
            source or None,
            self.moment(consent_at) if consent_at else None,
            interests[0],
            attributes,
        )

    def status(self, cell: str) -> str | None:
        status = cell.strip().lower()
        if status and status not in STATUSES:
            raise _SubscriberFieldError("status", f"unknown status {status!r} (expected {', '.join(STATUSES)})")
        self._statuses[cell] = status or None
        return self._statuses[cell]

    def locale(self, cell: str) -> str | None:
        text = cell.strip()
        self._locales[cell] = _locale_code(text) if text else None
        return self._locales[cell]

    def interests(self, cell: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """(tag ids, unknown names) of an interests cell."""
        if cell not in self._interest_cells:
            names = [name.strip() for name in cell.split("|") if name.strip()]
            ids = {tag_id for name in names if (tag_id := self._tag_id(name)) is not None}
            unknown = tuple(name for name in names if self._tag_id(name) is None)
            self._interest_cells[cell] = (tuple(sorted(ids)), unknown)
        return self._interest_cells[cell]

    def _tag_id(self, name: str) -> int | None:
        if name not in self._names:
            self._names[name] = self.tags.get(slugify(name))
        return self._names[name]

    def moment(self, text: str) -> str:
        """consent_at as stored: ISO 8601 or French dd/mm/yyyy [hh:mm[:ss]]; no offset means the
        site time zone; refused in the future."""
        try:
            stored = _utc_text(text) or to_db(self._parse_moment(text))
        except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 is before year 1 in UTC
            raise _SubscriberFieldError("consent_at", f"{text!r} is out of range") from None
        if stored > self.latest:
            raise _SubscriberFieldError("consent_at", f"{text!r} is in the future")
        return stored

    def _parse_moment(self, text: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = self._french(text)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.tz)

    @staticmethod
    def _french(text: str) -> datetime:
        match = _FRENCH_DATE.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)
            day, month, year, hour, minute, second = (int(part or 0) for part in match.groups())
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise _SubscriberFieldError(
                "consent_at", f"{text!r} is not a date (expected ISO 8601, e.g. 2026-03-28T14:00:00+01:00)"
            ) from None


def _shortened(text: str, limit: int = 60) -> str:
    """A cell as shown in a message: its first ``limit`` characters."""
    return text if len(text) <= limit else text[:limit] + "…"


def _utc_text(text: str) -> str | None:
    """The stored form of a time written in UTC to the second (the common case), without any
    datetime arithmetic; None for any other form."""
    if _UTC_SECONDS.fullmatch(text) is None:
        return None
    try:
        datetime.fromisoformat(text)  # a real date and time?
    except ValueError:
        return None
    return text[:19] + "Z"


def _locale_code(text: str) -> str:
    match = _LOCALE.fullmatch(text)
    if match is None:
        raise _SubscriberFieldError("locale", f"{text!r} is not a language code (expected e.g. fr, en, fr-BE)")
    language, region = match.groups()
    return language.lower() + (f"-{region.upper()}" if region else "")


@dataclass(frozen=True)
class _Layout:
    """Where each column is. ``known`` picks email, name, locale, interests, status,
    consent_source and consent_at from a row, with one "" appended for absent columns;
    ``attributes`` holds (name, index) pairs for the other columns."""

    known: Callable[[list[str]], tuple[str, ...]]
    attributes: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, columns: list[str]) -> _Layout:
        position = {name: index for index, name in enumerate(columns)}
        absent = len(columns)
        return cls(
            known=itemgetter(*(position.get(name, absent) for name in KNOWN_COLUMNS)),
            attributes=tuple((name, index) for index, name in enumerate(columns) if name and name not in KNOWN_COLUMNS),
        )


# A byte that is not UTF-8, as the file is read (errors="surrogateescape"): a row holding one is
# refused alone, and the rows around it are still read.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
NOT_UTF8_REASON = "not valid UTF-8 (save the file as UTF-8)"


def read_rows(path: Path, parser: RowParser, warnings: list[RowNote]) -> Iterator[Row | RecordError]:
    """The valid rows of a CSV file, or a RecordError for each bad one."""
    source = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None
    with handle:
        line = 1
        try:
            header_line = handle.readline()
            if _NOT_UTF8.search(header_line):
                raise PublisherError(f"{source}:1: header: {NOT_UTF8_REASON}")
            handle.seek(0)
            reader = csv.reader(handle, delimiter=_delimiter(header_line))
            columns = _columns(source, restore_row(next(reader, [])))
            layout, width = _Layout.of(columns), len(columns)
            for cells in reader:
                line, end = line + 1, reader.line_num
                if not (cells and cells[0].strip()) and not "".join(cells).strip():  # a blank line
                    line = end
                    continue
                if len(cells) > width:
                    yield RecordError(source, line, "row", f"{len(cells)} fields, the header has {width}")
                elif _NOT_UTF8.search("".join(cells)):
                    yield RecordError(source, line, "row", NOT_UTF8_REASON)
                else:
                    if len(cells) < width:  # trailing empty cells left out
                        cells.extend([""] * (width - len(cells)))
                    try:
                        yield parser.parse(line, restore_row(cells), layout, warnings)
                    except _SubscriberFieldError as error:
                        yield RecordError(source, line, error.field, error.reason)
                line = end
        except csv.Error as error:
            yield RecordError(source, line + 1, "row", f"malformed CSV ({error}); the rest was skipped")


def _delimiter(header_line: str) -> str:
    return max((",", ";", "\t"), key=header_line.count)


def _columns(source: str, header: list[str]) -> list[str]:
    columns = [name.strip().lower() for name in header]
    if "email" not in columns:
        raise PublisherError(f"{source}:1: header: no email column (columns: {', '.join(columns) or 'none'})")
    seen = set()
    for name in columns:
        if name and name in seen:
            raise PublisherError(f"{source}:1: header: column {name!r} appears twice")
        seen.add(name)
    return columns


# --- deciding, on the reading side, which rows make new subscribers ---------------------------


@dataclass(frozen=True)
class _Defaults:
    """What an import fills in for a new subscriber's empty cells, and its time and source."""

    language: str
    source: str  # "import FILE.csv": consent source and history source
    now_text: str

    def new_row(self, subscriber_id: int, row: Row) -> tuple:
        """The stored row of a new subscriber (NewSubscriber.row)."""
        status = row.status or "active"
        return (
            subscriber_id,
            row.email,
            row.name or "",
            row.locale or self.language,
            status,
            row.consent_source or self.source,
            row.consent_at or (self.now_text if status == "active" else None),
        )


_Planned = tuple[db.NewRows, list[Row], list[RecordError], list[RowNote], list[RowNote]]


@dataclass
class _Planner:
    """Sorts each chunk of valid rows, where the file is read, into new subscribers and the rest.

    A row whose address is neither stored nor on another line of the file so far, nor repeated
    later in its chunk, makes a new subscriber: the overwhelming majority of a large import. The
    planner gives it its id (ids follow the order of the file) and lays it out as db.NewRows,
    ready to write. Every other row goes to _Merger with ``new_id`` (for the first line of an
    address new to the store) and ``first_line`` set. Rows of forgotten addresses are skipped.

    It runs in the importing process (small files, with its connection), or in the reading child
    process with a connection of its own: that one shows the store as it was before the import,
    since the importing process holds the write lock and commits at the end. Rows this import
    has written don't matter here: their addresses were on an earlier line.
    """

    store_path: str
    file: str  # as rows are reported: FILE:LINE
    defaults: _Defaults
    first_id: int
    load_stored_keys: bool  # hold every stored address key in memory instead of looking rows up
    hasher: AddressHasher | None  # None: nobody was forgotten

    def plan(self, parsed: Iterable[_Chunk], store: Store) -> Iterator[_Planned]:
        """(new subscribers, rows for the merger, rejected rows, warnings, skipped rows) per chunk."""
        ids = count(self.first_id)
        first_lines: dict[str, int] = {}  # address key → first line of the file
        stored_keys = {address_key(email) for email in db.stored_emails(store)} if self.load_stored_keys else None
        for rows, rejected, warnings in parsed:
            rows, skipped = self._without_forgotten(store, rows)
            stored = stored_keys if stored_keys is not None else self._stored_keys(store, rows, first_lines)
            new, to_merge = db.NewRows(), []
            repeated = _repeated([row.key for row in rows])
            new_row = self.defaults.new_row
            add_subscriber, add_interests, add_attributes, add_created = (
                new.subscribers.extend,
                new.interests.extend,
                new.attributes.extend,
                new.created_from.extend,
            )
            for row in rows:
                key = row.key
                first_line = first_lines.setdefault(key, row.line)
                if first_line != row.line or key in stored:
                    to_merge.append(row._replace(first_line=first_line))
                    continue
                subscriber_id = next(ids)
                if key in repeated:
                    to_merge.append(row._replace(new_id=subscriber_id, first_line=first_line))
                    continue
                # The common case, once per row of a large import: plain values, no objects.
                add_subscriber(new_row(subscriber_id, row))
                for tag_id in row.interests:
                    add_interests((subscriber_id, tag_id))
                for name, value in row.attributes.items():
                    add_attributes((subscriber_id, name, value))
                add_created((subscriber_id, row.line))
            yield new, to_merge, rejected, warnings, skipped

    @staticmethod
    def _stored_keys(store: Store, rows: list[Row], first_lines: dict[str, int]) -> set[str]:
        """The keys of these rows that are stored (looked up when the stored keys are not held)."""
        unseen = list(dict.fromkeys(row.email for row in rows if row.key not in first_lines))
        return {address_key(email) for email in db.stored_emails_among(store, unseen)}

    def _without_forgotten(self, store: Store, rows: list[Row]) -> tuple[list[Row], list[RowNote]]:
        if self.hasher is None:
            return rows, []
        hashes = {row.key: self.hasher.hash(row.key) for row in rows}
        forgotten = db.suppressed_among(store, list(set(hashes.values())))
        if not forgotten:
            return rows, []
        skipped = [
            RowNote(
                self.file,
                row.line,
                "email",
                "this address was forgotten at its owner's request; not imported",
            )
            for row in rows
            if hashes[row.key] in forgotten
        ]
        return [row for row in rows if hashes[row.key] not in forgotten], skipped


# --- merging into the store -----------------------------------------------------------------


@dataclass
class _State:
    """A subscriber while a chunk is merged: stored (``is_new`` false) or created by this import."""

    subscriber: db.NewSubscriber
    interests: set[int]
    attributes: dict[str, str]
    status_at: datetime | None
    is_new: bool
    changed: dict[str, object] = field(default_factory=dict)
    added_interests: set[int] = field(default_factory=set)
    changed_attributes: dict[str, str] = field(default_factory=dict)
    history: list[tuple] = field(default_factory=list)  # as stored rows

    @property
    def status(self) -> str:
        return self.changed.get("status", self.subscriber.status)  # type: ignore[return-value]


@dataclass
class _ChunkRows:
    """The rows the merger writes for one chunk, as tuples."""

    subscribers: list[tuple] = field(default_factory=list)  # new ones (NewSubscriber.row)
    interests: list[tuple[int, int]] = field(default_factory=list)
    attributes: list[tuple[int, str, str]] = field(default_factory=list)  # of new subscribers
    changed_attributes: list[tuple[int, str, str]] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)


class _Merger:
    """Writes each planned chunk: its new subscribers as they are, and merges the other rows
    into the subscribers they name (stored, or created by an earlier row of this import)."""

    def __init__(
        self, store: Store, file: str, now: datetime, defaults: _Defaults, report: SubscriberImportReport
    ) -> None:
        self.store = store
        self.file = file
        self.now = now
        self.defaults = defaults
        self.slugs = {tag_id: slug for slug, tag_id in db.tag_ids(store).items()}
        self.report = report

    def write(self, new: db.NewRows, to_merge: list[Row]) -> None:
        db.insert_new_subscribers(self.store, new, self.defaults.now_text, self.defaults.source)
        self.report.inserted += len(new)
        if not to_merge:
            return
        states = self._stored_states([row.key for row in to_merge if row.new_id is None])
        for row in to_merge:
            self._merge(states, row)
        self._write(states.values())

    def _merge(self, states: dict[str, _State], row: Row) -> None:
        state = states.get(row.key)
        if state is None:  # the first line of an address new to the store (row.new_id)
            states[row.key] = self._new_state(row)
            outcome = "inserted"
        else:
            outcome = self._merge_row(state, row)
        if outcome == "skipped":
            return
        if row.first_line != row.line:
            self.report.merged += 1
            self.report.warnings.append(
                RowNote(self.file, row.line, "email", f"duplicate of line {row.first_line}, merged")
            )
        else:
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)

    def _stored_states(self, keys: list[str]) -> dict[str, _State]:
        """The subscribers of these addresses: stored before the import or created by it."""
        if not keys:
            return {}
        stored = {address_key(s.email): s for s in db.find_by_emails(self.store, list(dict.fromkeys(keys)))}
        ids = [subscriber.id for subscriber in stored.values()]
        interests = db.interests_of(self.store, ids)
        attributes = db.attributes_of(self.store, ids)
        return {
            key: _State(
                db.NewSubscriber(
                    s.id,
                    s.email,
                    s.name,
                    s.locale,
                    s.status,
                    s.consent_source,
                    to_db(s.consent_at) if s.consent_at else None,
                ),
                interests[s.id],
                attributes[s.id],
                s.status_at,
                is_new=False,
            )
            for key, s in stored.items()
        }

    def _new_state(self, row: Row) -> _State:
        """A new subscriber that later rows of this chunk may merge into (written by _write)."""
        subscriber = db.NewSubscriber(*self.defaults.new_row(row.new_id, row))
        state = _State(subscriber, set(row.interests), dict(row.attributes), self.now, is_new=True)
        detail = _consent(subscriber.consent_source, subscriber.consent_at)
        state.history.append(self._history_row(state, "status", None, subscriber.status, row, detail))
        return state

    def _merge_row(self, state: _State, row: Row) -> str:
        """Merge a row into a subscriber; return inserted/updated/unchanged/skipped."""
        before = (len(state.changed), len(state.added_interests), len(state.changed_attributes))
        had_left = has_left(state.status)
        if row.status is not None and allowed(state.status, row.status, Source.IMPORT):
            detail = ""
            if row.status == ACTIVE:
                consent_source = row.consent_source or self.defaults.source
                consent_at = row.consent_at or self.defaults.now_text
                state.changed.update(consent_source=consent_source, consent_at=consent_at)
                detail = _consent(consent_source, consent_at)
            self._set_status(state, row.status, row, detail)
        elif had_left and not has_left(row.status):
            since = state.status_at.date().isoformat() if state.status_at else "an earlier row"
            self.report.skipped.append(
                RowNote(self.file, row.line, "status", f"{state.status} since {since}; not re-activated")
            )
            return "skipped"
        if not had_left:  # the profile of someone who left is not changed
            self._merge_profile(state, row)
        if state.is_new:
            return "inserted"
        after = (len(state.changed), len(state.added_interests), len(state.changed_attributes))
        return "updated" if after != before else "unchanged"

    def _merge_profile(self, state: _State, row: Row) -> None:
        current = state.subscriber
        if row.name is not None and row.name != state.changed.get("name", current.name):
            state.changed["name"] = row.name
        if row.locale is not None and row.locale != state.changed.get("locale", current.locale):
            state.changed["locale"] = row.locale
        new_interests = set(row.interests) - state.interests
        state.interests |= new_interests
        state.added_interests |= new_interests
        for name, value in row.attributes.items():
            if state.attributes.get(name) != value:
                state.attributes[name] = value
                state.changed_attributes[name] = value

    def _set_status(self, state: _State, status: str, row: Row, detail: str) -> None:
        state.history.append(self._history_row(state, "status", state.status, status, row, detail))
        state.changed.update(status=status, status_at=self.now)
        state.status_at = self.now

    def _history_row(self, state: _State, change: str, old: str | None, new: str, row: Row, detail: str) -> tuple:
        return (
            state.subscriber.id,
            self.defaults.now_text,
            change,
            old,
            new,
            f"{self.defaults.source}:{row.line}",
            detail,
        )

    def _write(self, states: Iterable[_State]) -> None:
        rows = _ChunkRows()
        for state in states:
            subscriber_id = state.subscriber.id
            rows.history.extend(state.history)
            if state.is_new:
                rows.subscribers.append(_with_changes(state).row())
                rows.interests.extend((subscriber_id, tag_id) for tag_id in sorted(state.interests))
                rows.attributes.extend((subscriber_id, name, value) for name, value in state.attributes.items())
                continue
            if state.changed:
                db.update_subscriber(self.store, subscriber_id, self.now, **state.changed)
            rows.interests.extend((subscriber_id, tag_id) for tag_id in sorted(state.added_interests))
            rows.changed_attributes.extend(
                (subscriber_id, name, value) for name, value in state.changed_attributes.items()
            )
            if state.added_interests:
                added = ", ".join(sorted(self.slugs[tag_id] for tag_id in state.added_interests))
                rows.history.append(
                    (
                        subscriber_id,
                        self.defaults.now_text,
                        "interests",
                        None,
                        None,
                        self.defaults.source,
                        f"added {added}",
                    )
                )
        rows.subscribers.sort()  # in id order: SQLite appends to the table
        db.insert_subscriber_rows(self.store, rows.subscribers, self.defaults.now_text)
        db.add_interests(self.store, rows.interests)
        db.add_attributes(self.store, rows.attributes)
        db.set_attributes(self.store, rows.changed_attributes)
        db.add_history_rows(self.store, rows.history)


def _repeated(keys: list[str]) -> set[str]:
    """The keys that appear more than once."""
    if len(set(keys)) == len(keys):  # the common case, in C
        return set()
    return {key for key, occurrences in Counter(keys).items() if occurrences > 1}


def _with_changes(state: _State) -> db.NewSubscriber:
    values = {name: value for name, value in state.changed.items() if name != "status_at"}
    return replace(state.subscriber, **values)


def _consent(source: str, at: str | None) -> str:
    """The detail of a history row that records consent (``at`` as stored)."""
    return f"consent: {source}, {at}" if at else f"consent: {source}"


def import_csv(
    app: App,
    path: str | Path,
    dry_run: bool = False,
    on_rows: Callable[[int], None] | None = None,
    read_in_child_from_bytes: int = READ_IN_CHILD_FROM_BYTES,
) -> SubscriberImportReport:
    """Import a subscriber CSV; see the module docstring for the rules. ``on_rows`` is called
    with the number of rows read, chunk by chunk (progress).

    A file of ``read_in_child_from_bytes`` or more is read in a spawned child process: a script
    that calls this must start from an ``if __name__ == "__main__":`` block (multiprocessing's rule)."""
    path = Path(path)
    report = SubscriberImportReport(dry_run=dry_run)
    now = app.clock.now()
    defaults = _Defaults(app.config.site.language, f"import {path.name}", to_db(now))
    with db.write(app.store, dry_run, bulk=True), _fewer_collections():
        parser = RowParser(app, str(path), db.tag_ids(app.store))
        planner = _Planner(
            str(app.store.path),
            str(path),
            defaults,
            first_id=db.next_subscriber_id(app.store),
            # The addresses stored before this import are held in memory when the file has about
            # as many rows or more (a store being filled) and they are few enough: then only rows
            # with one of them, or seen on an earlier line, go to the merger. Reading the keys
            # costs ~5 µs each, as much as looking a row up: a small file into a large store looks up.
            load_stored_keys=db.count_subscribers(app.store) <= min(STORED_KEYS_MAX, _file_size(path) // BYTES_PER_ROW),
            hasher=_forget_list_hasher(app, str(path), report),
        )
        merger = _Merger(app.store, str(path), now, defaults, report)
        for new, to_merge, rejected, warnings, skipped in _planned_chunks(
            path, parser, planner, app.store, read_in_child_from_bytes
        ):
            if on_rows is not None:
                on_rows(len(new) + len(to_merge) + len(rejected) + len(skipped))
            report.rejected.extend(rejected)
            report.warnings.extend(warnings)
            report.skipped.extend(skipped)
            merger.write(new, to_merge)
    report.warnings.sort(key=lambda note: note.line)
    report.skipped.sort(key=lambda note: note.line)
    return report


def _forget_list_hasher(app: App, file: str, report: SubscriberImportReport) -> AddressHasher | None:
    """The hasher of the forget list, None when it is empty; warns about hashes made under
    another PUBLISHER_SECRET, which can no longer be recognised."""
    if not db.has_suppressions(app.store):
        return None
    hasher = hasher_for(app)
    stale = db.suppressions_with_other_keys(app.store, hasher.key_id)
    if stale:
        report.warnings.append(
            RowNote(
                file,
                1,
                "forgotten",
                f"{stale} forgotten addresses were hashed under another PUBLISHER_SECRET and cannot be recognised",
            )
        )
    return hasher


_Chunk = tuple[list[Row], list[RecordError], list[RowNote]]


def _planned_chunks(
    path: Path, parser: RowParser, planner: _Planner, store: Store, in_child_from_bytes: int
) -> Iterator[_Planned]:
    """The file's rows, CHUNK at a time, read and planned (see _Planner). A large file is read
    in a child process while this one writes the previous chunks."""
    if _file_size(path) < in_child_from_bytes or planner.store_path == ":memory:":
        yield from planner.plan(_read_chunks(path, parser), store)
        return
    for new, to_merge, rejected, warnings, skipped in items_from_child(_plan_in_child, path, parser, planner):
        yield new, [Row._make(row) for row in to_merge], rejected, warnings, skipped


def _plan_in_child(
    path: Path, parser: RowParser, planner: _Planner
) -> Iterator[tuple[db.NewRows, list[tuple], list[RecordError], list[RowNote], list[RowNote]]]:
    """_planned_chunks in the reading child process, with its own connection to the store; rows
    for the merger as plain tuples, which pickle several times faster than named tuples."""
    with Store(planner.store_path) as store, _fewer_collections():
        for new, to_merge, rejected, warnings, skipped in planner.plan(_read_chunks(path, parser), store):
            yield new, [tuple(row) for row in to_merge], rejected, warnings, skipped


def _file_size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _read_chunks(path: Path, parser: RowParser) -> Iterator[_Chunk]:
    """The file's rows, CHUNK at a time: (valid rows, rejected rows, warnings)."""
    warnings: list[RowNote] = []
    for chunk in chunks(read_rows(path, parser, warnings), CHUNK):
        yield (
            [item for item in chunk if isinstance(item, Row)],
            [item for item in chunk if not isinstance(item, Row)],
            warnings,
        )
        warnings = []


@contextmanager
def _fewer_collections(every: int = 100_000) -> Iterator[None]:
    """Run Python's cycle collector only when ``every`` more objects are alive than at its last
    run (instead of 700). An import makes and frees millions of rows and tuples, none of them in
    a cycle; the collector's passes over them cost about 8% of a million-row import."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(every, threshold[0]), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
