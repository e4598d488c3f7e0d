"""Subscriber CSV import (columns in docs/subscribers.md): validate, merge,
never re-activate who left.

- A header row names the columns; ``email`` is required; ``name``, ``locale``, ``interests``
  (tag names or slugs separated by ``|``), ``status``, ``consent_source``, ``consent_at`` are
  known, also under their French and English names (publisher.subscriber_import_headers);
  every other column is an attribute (``bassin``, ``role``…). The delimiter is ``,``, ``;`` or
  tab (whichever the header uses, or Excel's ``sep=;`` first line says); the file is UTF-8 (a
  BOM is fine) or else Windows-1252 (publisher.spreadsheet.csv_encoding).
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

from collections.abc import Callable
from pathlib import Path

from publisher.app import App
from publisher.clock import to_db
from publisher.forget_list import AddressHasher, hasher_for
from publisher.store import subscribers as db
from publisher.subscriber_import_headers import KNOWN_COLUMNS as KNOWN_COLUMNS
from publisher.subscriber_import_merge import Merger
from publisher.subscriber_import_plan import ImportDefaults, Planner
from publisher.subscriber_import_read import RowNote, RowParser, SubscriberImportReport, read_format
from publisher.subscriber_import_speed import fewer_collections, file_size, planned_chunks

CHUNK = 2000  # rows read, planned and written at a time
# Files from this size on are read, validated and planned (Planner) in a child process, in parallel with the
# writing (see publisher.child_process); below it, starting the process costs more than it saves.
READ_IN_CHILD_FROM_BYTES = 8_000_000
# Up to this many stored subscribers, an import holds their address keys in memory (~100 bytes
# each) instead of looking every row up in the store.
STORED_KEYS_MAX = 500_000
BYTES_PER_ROW = 100  # about what a subscriber row of a CSV file takes, to estimate its rows


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
    form = read_format(path)
    report = SubscriberImportReport(dry_run=dry_run, encoding=form.encoding_name, columns=form.columns)
    now = app.clock.now()
    defaults = ImportDefaults(app.config.site.language, f"import {path.name}", to_db(now))
    with db.write(app.store, dry_run, bulk=True), fewer_collections():
        parser = RowParser(app, str(path), db.tag_ids(app.store))
        planner = Planner(
            str(app.store.path),
            str(path),
            defaults,
            first_id=db.next_subscriber_id(app.store),
            # The addresses stored before this import are held in memory when the file has about
            # as many rows or more (a store being filled) and they are few enough: then only rows
            # with one of them, or seen on an earlier line, go to the merger. Reading the keys
            # costs ~5 µs each, as much as looking a row up: a small file into a large store looks up.
            load_stored_keys=db.count_subscribers(app.store) <= min(STORED_KEYS_MAX, file_size(path) // BYTES_PER_ROW),
            hasher=_forget_list_hasher(app, str(path), report),
        )
        merger = Merger(app.store, str(path), now, defaults, report)
        for new, to_merge, rejected, warnings, skipped in planned_chunks(
            path, form, parser, planner, app.store, CHUNK, read_in_child_from_bytes
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
