"""Subscriber CSV import, reading: the header, each row parsed and validated into a Row, a
bad row as a RecordError (``FILE:LINE: field: reason``). The rules are in
publisher.subscribers.csv_import."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, TextIO
from zoneinfo import ZoneInfo

from publisher.addresses import InvalidAddress, InvalidName, address_key, checked_address, checked_name
from publisher.app import App
from publisher.clock import to_db
from publisher.errors import PublisherError, RecordError
from publisher.slugs import slugify
from publisher.store import chunks
from publisher.subscribers.csv_headers import Columns, map_header
from publisher.subscribers.spreadsheet import ENCODING_NAMES, csv_encoding, restore_row, sep_line_delimiter
from publisher.subscribers.status import STATUSES

SHARED_TEXTS_MAX = 100_000  # distinct cell texts a parser shares (see RowParser.parse)
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
    encoding: str = ""  # as said to staff: UTF-8, Windows-1252
    columns: Columns | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected

    def file_lines(self) -> list[str]:
        """How the file was read: its encoding, its columns (one by one in a dry run) and the
        columns taken as attributes."""
        lines = [f"encoding: {self.encoding}" + ("" if self.encoding == "UTF-8" else " (the file is not UTF-8)")]
        if self.columns is None:
            return lines
        if self.dry_run:
            lines += ["columns:", *(f"  {line}" for line in self.columns.mapping())]
        if self.columns.attributes:
            lines.append(f"columns used as attributes: {', '.join(self.columns.attribute_names)}")
        return lines

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
    # Set by Planner for the rows it hands to Merger: the id of the subscriber this row
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
        email_cell, name, last_name, locale_cell, interests_cell, status_cell, source, consent_at = layout.known(cells)
        if last_name:  # Prénom + Nom
            name = f"{name.strip()} {last_name.strip()}"
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
    """Where each column is. ``known`` picks email, the name's first and last parts, locale,
    interests, status, consent_source and consent_at from a row, with one "" appended for
    absent columns; ``attributes`` holds (name, index) pairs for the other columns."""

    known: Callable[[list[str]], tuple[str, ...]]
    attributes: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, columns: Columns) -> _Layout:
        absent = len(columns.header)
        name, last_name = (*columns.name_parts, absent, absent)[:2]
        others = (columns.index(field) for field in ("locale", "interests", "status", "consent_source", "consent_at"))
        indexes = (columns.index("email"), name, last_name, *others)
        return cls(
            known=itemgetter(*(absent if index is None else index for index in indexes)),
            attributes=columns.attributes,
        )


@dataclass(frozen=True)
class CsvFormat:
    """How a file is read: its encoding, delimiter, header line (2 after Excel's ``sep=;``
    line) and header mapping."""

    encoding: str  # a Python codec
    delimiter: str
    header_line: int
    columns: Columns

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES[self.encoding]


# A byte the file's encoding does not have, as the file is read (errors="surrogateescape"): a
# row holding one is refused alone, and the rows around it are still read.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def read_format(path: Path) -> CsvFormat:
    """The file's encoding, delimiter and header, or a PublisherError ``FILE:LINE: header: reason``."""
    source = str(path)
    try:
        encoding = csv_encoding(path)
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None
    with _opened(path, encoding) as handle:
        delimiter = _sep_line(handle)
        header_line = 1 if delimiter is None else 2
        if delimiter is None:
            delimiter = _delimiter(handle.readline())
            handle.seek(0)
        try:
            header = next(csv.reader(handle, delimiter=delimiter), [])
        except csv.Error as error:
            raise PublisherError(f"{source}:{header_line}: header: malformed CSV ({error})") from None
    if _UNDECODABLE.search("".join(header)):
        raise PublisherError(f"{source}:{header_line}: header: {_undecodable(encoding)}")
    columns = map_header(source, header_line, restore_row(header))
    return CsvFormat(encoding, delimiter, header_line, columns)


def _opened(path: Path, encoding: str) -> TextIO:
    try:
        return path.open(encoding=encoding, errors="surrogateescape", newline="")
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None


def _sep_line(handle: TextIO) -> str | None:
    """The delimiter an Excel ``sep=;`` first line names, that line then read; else None, nothing read."""
    delimiter = sep_line_delimiter(handle.readline())
    if delimiter is None:
        handle.seek(0)
    return delimiter


def _delimiter(header_line: str) -> str:
    return max((",", ";", "\t"), key=header_line.count)


def _undecodable(encoding: str) -> str:
    return f"not valid {ENCODING_NAMES[encoding]} (save the file as CSV UTF-8)"


def read_rows(path: Path, form: CsvFormat, parser: RowParser, warnings: list[RowNote]) -> Iterator[Row | RecordError]:
    """The valid rows of a CSV file, or a RecordError for each bad one."""
    source, layout, width = str(path), _Layout.of(form.columns), len(form.columns.header)
    with _opened(path, form.encoding) as handle:
        if form.header_line == 2:
            handle.readline()  # the sep= line
        lines_before = form.header_line - 1  # + the reader's line number = the file's
        line = form.header_line
        try:
            reader = csv.reader(handle, delimiter=form.delimiter)
            next(reader, None)  # the header, mapped by read_format
            line = reader.line_num + lines_before
            for cells in reader:
                line, end = line + 1, reader.line_num + lines_before
                if not (cells and cells[0].strip()) and not "".join(cells).strip():  # a blank line
                    line = end
                    continue
                if len(cells) > width:
                    yield RecordError(source, line, "row", f"{len(cells)} fields, the header has {width}")
                elif _UNDECODABLE.search("".join(cells)):
                    yield RecordError(source, line, "row", _undecodable(form.encoding))
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


ReadChunk = tuple[list[Row], list[RecordError], list[RowNote]]


def read_chunks(path: Path, form: CsvFormat, parser: RowParser, chunk_size: int) -> Iterator[ReadChunk]:
    """The file's rows, ``chunk_size`` at a time: (valid rows, rejected rows, warnings)."""
    warnings: list[RowNote] = []
    for chunk in chunks(read_rows(path, form, parser, warnings), chunk_size):
        yield (
            [item for item in chunk if isinstance(item, Row)],
            [item for item in chunk if not isinstance(item, Row)],
            warnings,
        )
        warnings = []
