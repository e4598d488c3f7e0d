"""Subscriber CSV import (columns in DESIGN.md): validate, merge, never re-activate who left.

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
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.addresses import InvalidAddress, normalize_email
from publisher.app import App
from publisher.clock import to_db
from publisher.errors import PublisherError, RecordError
from publisher.forget_list import AddressHasher, hasher_for
from publisher.slugs import slugify
from publisher.store import chunks
from publisher.store import subscribers as db

KNOWN_COLUMNS = ("email", "name", "locale", "interests", "status", "consent_source", "consent_at")
STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
# Leaving outranks staying; a stronger reason to leave replaces a weaker one.
RANK = {"pending": 0, "active": 1, "unsubscribed": 2, "bounced": 3, "complained": 4}
CHUNK = 2000
_LOCALE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|[0-9]{3}))?")
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


@dataclass(slots=True)
class Row:
    """One valid CSV row. ``None`` means the cell was empty or the column absent."""

    line: int
    email: str
    key: str
    name: str | None
    locale: str | None
    status: str | None
    consent_source: str | None
    consent_at: datetime | None
    interests: tuple[int, ...]
    attributes: dict[str, str]


class _FieldError(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        self.reason = reason


# --- reading and validating ---------------------------------------------------------------


class RowParser:
    """Validates rows into Row objects; caches tag look-ups per cell (cells repeat a lot)."""

    def __init__(self, app: App, source: str, tags: dict[str, int]) -> None:
        self.source = source
        self.tz: ZoneInfo = app.config.site.tz
        self.latest = app.clock.now() + timedelta(days=1)
        self.allow_test_domains = app.config.subscribers.allow_test_domains
        self.tags = tags
        self._interest_cells: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
        self._names: dict[str, int | None] = {}
        self._locales: dict[str, str | None] = {}

    def parse(self, line: int, cells: list[str], layout: _Layout, warnings: list[RowNote]) -> Row:
        cells.append("")  # what absent columns read (see _Layout)
        email_cell, name, locale, interests_cell, status, source, consent_at = layout.known(cells)
        try:
            email = normalize_email(email_cell, self.allow_test_domains)
        except InvalidAddress as error:
            raise _FieldError("email", f"{email_cell.strip()!r}: {error}") from None
        if status := status.strip():
            status = status.lower()
            if status not in RANK:
                raise _FieldError("status", f"unknown status {status!r} (expected {', '.join(STATUSES)})")
        interests, unknown = self.interests(interests_cell)
        for tag in unknown:
            warnings.append(RowNote(self.source, line, "interests", f"unknown tag {tag!r}, ignored"))
        attributes = {}
        for attribute, index in layout.attributes:
            if value := cells[index].strip():
                attributes[attribute] = value
        consent_at = consent_at.strip()
        return Row(
            line,
            email,
            email.lower(),  # publisher.addresses.address_key
            name.strip() or None,
            self.locale(locale.strip()),
            status or None,
            source.strip() or None,
            self.moment(consent_at) if consent_at else None,
            interests,
            attributes,
        )

    def locale(self, text: str) -> str | None:
        if text not in self._locales:
            self._locales[text] = _locale(text) if text else None
        return self._locales[text]

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

    def moment(self, text: str) -> datetime:
        """consent_at: ISO 8601 or French dd/mm/yyyy [hh:mm[:ss]]; no offset means the site time zone."""
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = self._french(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        if moment > self.latest:
            raise _FieldError("consent_at", f"{text!r} is in the future")
        return moment.astimezone(UTC)

    @staticmethod
    def _french(text: str) -> datetime:
        match = _FRENCH_DATE.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)
            day, month, year, hour, minute, second = (int(part or 0) for part in match.groups())
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise _FieldError(
                "consent_at", f"{text!r} is not a date (expected ISO 8601, e.g. 2026-03-28T14:00:00+01:00)"
            ) from None


def _stored(moment: datetime) -> str:
    """publisher.clock.to_db for a UTC datetime, faster (isoformat is C): once per imported row."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _locale(text: str) -> str:
    match = _LOCALE.fullmatch(text)
    if match is None:
        raise _FieldError("locale", f"{text!r} is not a language code (expected e.g. fr, en, fr-BE)")
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


def read_rows(path: Path, parser: RowParser, warnings: list[RowNote]) -> Iterator[Row | RecordError]:
    """The valid rows of a CSV file, or a RecordError for each bad one."""
    source = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None
    with handle:
        line = 1
        try:
            header_line = handle.readline()
            handle.seek(0)
            reader = csv.reader(handle, delimiter=_delimiter(header_line))
            columns = _columns(source, next(reader, []))
            layout = _Layout.of(columns)
            for cells in reader:
                line, end = line + 1, reader.line_num
                if not "".join(cells).strip():
                    line = end
                    continue
                if len(cells) > len(columns):
                    yield RecordError(source, line, "row", f"{len(cells)} fields, the header has {len(columns)}")
                else:
                    if len(cells) < len(columns):  # trailing empty cells left out
                        cells.extend([""] * (len(columns) - len(cells)))
                    try:
                        yield parser.parse(line, cells, layout, warnings)
                    except _FieldError as error:
                        yield RecordError(source, line, error.field, error.reason)
                line = end
        except UnicodeDecodeError:
            yield RecordError(source, line + 1, "file", "not valid UTF-8 (save it as UTF-8); the rest was skipped")
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
    history: list[db.HistoryEntry] = field(default_factory=list)
    history_rows: list[tuple] = field(default_factory=list)  # already as stored rows

    @property
    def status(self) -> str:
        return self.changed.get("status", self.subscriber.status)  # type: ignore[return-value]


class _Merger:
    def __init__(self, app: App, conn, path: Path, report: SubscriberImportReport) -> None:
        self.conn = conn
        self.now = app.clock.now()
        self.now_text = to_db(self.now)
        self.language = app.config.site.language
        self.default_source = f"import {path.name}"
        self.slugs = {tag_id: slug for slug, tag_id in db.tag_ids(conn).items()}
        self.source = str(path)
        self.report = report
        self.next_id = db.next_subscriber_id(conn)
        self.first_line: dict[str, int] = {}  # address key → first line of the file
        self.hasher: AddressHasher | None = None
        if db.has_suppressions(conn):
            self.hasher = hasher_for(app)
            stale = db.suppressions_with_other_keys(conn, self.hasher.key_id)
            if stale:
                report.warnings.append(
                    RowNote(
                        self.source,
                        1,
                        "forgotten",
                        f"{stale} forgotten addresses were hashed under another PUBLISHER_SECRET "
                        "and cannot be recognised",
                    )
                )

    def merge(self, rows: list[Row]) -> None:
        rows = self._without_forgotten(rows)
        states = self._stored_states([row.key for row in rows])
        repeated = {key for key, count in Counter(row.key for row in rows).items() if count > 1}
        batch = _Batch()
        first_time = []  # the common case: an address seen for the first time, once in this chunk
        for row in rows:
            if row.key not in states and row.key not in repeated:
                self.first_line[row.key] = row.line
                first_time.append((self.next_id, row))
                self.next_id += 1
                continue
            duplicate_of = self.first_line.setdefault(row.key, row.line)
            state = states.get(row.key)
            if state is None:
                states[row.key] = self._new_state(row)
                outcome = "inserted"
            else:
                outcome = self._merge_row(state, row)
            if outcome == "skipped":
                continue
            if duplicate_of != row.line:
                self.report.merged += 1
                self.report.warnings.append(
                    RowNote(self.source, row.line, "email", f"duplicate of line {duplicate_of}, merged")
                )
            else:
                setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        self._add_new(first_time, batch)
        self.report.inserted += len(first_time)
        self._write(states.values(), batch)

    def _add_new(self, numbered_rows: list[tuple[int, Row]], batch: _Batch) -> None:
        """Queue new subscribers as plain tuples: this loop runs once per row of a large import."""
        now, language, source_line = self.now_text, self.language, f"{self.default_source}:"
        subscribers, interests, attributes, history = (
            batch.subscribers,
            batch.interests,
            batch.attributes,
            batch.history,
        )
        for subscriber_id, row in numbered_rows:
            status, source, consent_at = self._initial(row)
            consent_text = _stored(consent_at) if consent_at else None
            subscribers.append(
                (
                    subscriber_id,
                    row.email,
                    row.name or "",
                    row.locale or language,
                    status,
                    source,
                    consent_text,
                    now,
                    now,
                    now,
                    None,
                )
            )
            for tag_id in row.interests:
                interests.append((subscriber_id, tag_id))
            for name, value in row.attributes.items():
                attributes.append((subscriber_id, name, value))
            detail = f"consent: {source}, {consent_text}" if consent_text else f"consent: {source}"
            history.append((subscriber_id, now, "status", None, status, f"{source_line}{row.line}", detail))

    def _initial(self, row: Row) -> tuple[str, str, datetime | None]:
        """Status, consent source and consent time of a new subscriber (defaults filled in)."""
        status = row.status or "active"
        consent_at = row.consent_at or (self.now if status == "active" else None)
        return status, row.consent_source or self.default_source, consent_at

    def _without_forgotten(self, rows: list[Row]) -> list[Row]:
        if self.hasher is None:
            return rows
        hashes = {row.key: self.hasher.hash(row.key) for row in rows}
        forgotten = db.suppressed_among(self.conn, list(set(hashes.values())))
        kept = []
        for row in rows:
            if hashes[row.key] in forgotten:
                self.report.skipped.append(
                    RowNote(
                        self.source,
                        row.line,
                        "email",
                        "this address was forgotten at its owner's request; not imported",
                    )
                )
            else:
                kept.append(row)
        return kept

    def _stored_states(self, keys: list[str]) -> dict[str, _State]:
        stored = db.find_by_emails(self.conn, list(dict.fromkeys(keys)))
        ids = [subscriber.id for subscriber in stored.values()]
        interests = db.interests_of(self.conn, ids)
        attributes = db.attributes_of(self.conn, ids)
        return {
            key: _State(
                db.NewSubscriber(
                    s.id, s.email, s.name, s.locale, s.status, s.consent_source, s.consent_at, s.paused_at is not None
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
        first = _Batch()
        subscriber_id = self.next_id
        self.next_id += 1
        self._add_new([(subscriber_id, row)], first)
        status, source, consent_at = self._initial(row)
        subscriber = db.NewSubscriber(
            subscriber_id, row.email, row.name or "", row.locale or self.language, status, source, consent_at
        )
        state = _State(subscriber, set(row.interests), dict(row.attributes), self.now, is_new=True)
        state.history_rows.extend(first.history)
        return state

    def _merge_row(self, state: _State, row: Row) -> str:
        """Merge a row into a subscriber; return inserted/updated/unchanged/skipped."""
        before = (len(state.changed), len(state.added_interests), len(state.changed_attributes))
        if state.status in db.LEFT:
            if row.status in db.LEFT and RANK[row.status] > RANK[state.status]:
                self._set_status(state, row.status, row, "")
            elif row.status not in db.LEFT:
                since = state.status_at.date().isoformat() if state.status_at else "an earlier row"
                self.report.skipped.append(
                    RowNote(self.source, row.line, "status", f"{state.status} since {since}; not re-activated")
                )
                return "skipped"
        else:
            if row.status in db.LEFT or (row.status == "active" and state.status == "pending"):
                consent_source = row.consent_source or self.default_source
                consent_at = row.consent_at or self.now
                if row.status == "active":
                    state.changed.update(consent_source=consent_source, consent_at=consent_at)
                detail = _consent(consent_source, consent_at) if row.status == "active" else ""
                self._set_status(state, row.status, row, detail)
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
        state.history.append(self._entry(state, "status", state.status, status, row, detail))
        state.changed.update(status=status, status_at=self.now)
        state.status_at = self.now

    def _entry(self, state: _State, change: str, old: str | None, new: str, row: Row, detail: str) -> db.HistoryEntry:
        return db.HistoryEntry(
            state.subscriber.id, self.now, change, old, new, f"{self.default_source}:{row.line}", detail
        )

    def _write(self, states, batch: _Batch) -> None:
        for state in states:
            subscriber_id = state.subscriber.id
            batch.history.extend(state.history_rows)
            batch.history.extend(entry.row() for entry in state.history)
            if state.is_new:
                batch.subscribers.append(_with_changes(state).row(self.now_text))
                batch.interests.extend((subscriber_id, tag_id) for tag_id in sorted(state.interests))
                batch.attributes.extend((subscriber_id, name, value) for name, value in state.attributes.items())
                continue
            if state.changed:
                db.update_subscriber(self.conn, subscriber_id, self.now, **state.changed)
            batch.interests.extend((subscriber_id, tag_id) for tag_id in sorted(state.added_interests))
            batch.changed_attributes.extend(
                (subscriber_id, name, value) for name, value in state.changed_attributes.items()
            )
            if state.added_interests:
                added = ", ".join(sorted(self.slugs[tag_id] for tag_id in state.added_interests))
                entry = db.HistoryEntry(
                    subscriber_id, self.now, "interests", None, None, self.default_source, f"added {added}"
                )
                batch.history.append(entry.row())
        batch.subscribers.sort()
        db.insert_subscriber_rows(self.conn, batch.subscribers)
        db.add_interests(self.conn, batch.interests)
        db.add_attributes(self.conn, batch.attributes)
        db.set_attributes(self.conn, batch.changed_attributes)
        db.add_history_rows(self.conn, batch.history)


@dataclass
class _Batch:
    """The rows one chunk writes, as tuples for executemany."""

    subscribers: list[tuple] = field(default_factory=list)
    interests: list[tuple[int, int]] = field(default_factory=list)
    attributes: list[tuple[int, str, str]] = field(default_factory=list)  # of new subscribers
    changed_attributes: list[tuple[int, str, str]] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)


def _with_changes(state: _State) -> db.NewSubscriber:
    values = {name: value for name, value in state.changed.items() if name != "status_at"}
    current = state.subscriber
    return db.NewSubscriber(**{**current.__dict__, **values})


def _consent(source: str, at: datetime | None) -> str:
    return f"consent: {source}, {to_db(at)}" if at else f"consent: {source}"


def import_csv(
    app: App, path: str | Path, dry_run: bool = False, on_row: Callable[[], None] | None = None
) -> SubscriberImportReport:
    """Import a subscriber CSV; see the module docstring for the rules."""
    path = Path(path)
    report = SubscriberImportReport(dry_run=dry_run)
    with db.write(app.store, dry_run, bulk=True) as conn:
        parser = RowParser(app, str(path), db.tag_ids(conn))
        merger = _Merger(app, conn, path, report)
        for chunk in chunks(_good_rows(read_rows(path, parser, report.warnings), report, on_row), CHUNK):
            merger.merge(chunk)
    report.warnings.sort(key=lambda note: note.line)
    report.skipped.sort(key=lambda note: note.line)
    return report


def _good_rows(
    rows: Iterator[Row | RecordError], report: SubscriberImportReport, on_row: Callable[[], None] | None
) -> Iterator[Row]:
    for row in rows:
        if on_row is not None:
            on_row()
        if isinstance(row, RecordError):
            report.rejected.append(row)
        else:
            yield row
