"""Subscriber CSV import, planning: which rows make new subscribers (laid out ready to write)
and which go to the merger. Runs where the file is read: in the importing process, or in the
reading child process (publisher.subscribers.csv_speed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import count

from publisher.addresses import address_key
from publisher.errors import RecordError
from publisher.store import Store
from publisher.store import subscribers as db
from publisher.subscribers.csv_read import ReadChunk, Row, RowNote
from publisher.subscribers.forget_list import AddressHasher


@dataclass(frozen=True)
class ImportDefaults:
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


PlannedChunk = tuple[db.NewRows, list[Row], list[RecordError], list[RowNote], list[RowNote]]


@dataclass
class Planner:
    """Sorts each chunk of valid rows, where the file is read, into new subscribers and the rest.

    A row whose address is neither stored nor on another line of the file so far, nor repeated
    later in its chunk, makes a new subscriber: the overwhelming majority of a large import. The
    planner gives it its id (ids follow the order of the file) and lays it out as db.NewRows,
    ready to write. Every other row goes to Merger with ``new_id`` (for the first line of an
    address new to the store) and ``first_line`` set. Rows of forgotten addresses are skipped.

    It runs in the importing process (small files, with its connection), or in the reading child
    process with a connection of its own: that one shows the store as it was before the import,
    since the importing process holds the write lock and commits at the end. Rows this import
    has written don't matter here: their addresses were on an earlier line.
    """

    store_path: str
    file: str  # as rows are reported: FILE:LINE
    defaults: ImportDefaults
    first_id: int
    load_stored_keys: bool  # hold every stored address key in memory instead of looking rows up
    hasher: AddressHasher | None  # None: nobody was forgotten

    def plan(self, parsed: Iterable[ReadChunk], store: Store) -> Iterator[PlannedChunk]:
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


def _repeated(keys: list[str]) -> set[str]:
    """The keys that appear more than once."""
    if len(set(keys)) == len(keys):  # the common case, in C
        return set()
    return {key for key, occurrences in Counter(keys).items() if occurrences > 1}
