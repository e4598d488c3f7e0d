"""Subscriber CSV import (columns in docs/subscribers.md): validate, merge,
never re-activate who left.

- A header row names the columns; ``email`` is required; ``name``, ``locale``, ``interests``
  (tag names or slugs separated by ``|``), ``status``, ``consent_source``, ``consent_at`` are
  known, also under their French and English names (publisher.subscribers.csv_headers);
  every other column is an attribute (``bassin``, ``role``…). The delimiter is ``,``, ``;`` or
  tab (whichever the header uses, or Excel's ``sep=;`` first line says); the file is UTF-8 (a
  BOM is fine) or else Windows-1252 (publisher.subscribers.spreadsheet.csv_encoding).
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
from publisher.store import subscribers as db
from publisher.subscribers.csv_merge import Merger
from publisher.subscribers.csv_plan import ImportDefaults, Planner
from publisher.subscribers.csv_read import RowNote, RowParser, SubscriberImportReport, read_format
from publisher.subscribers.csv_speed import MEASURED, ImportTuning, fewer_collections, planned_chunks
from publisher.subscribers.forget_list import AddressHasher, hasher_for


def import_csv(
    app: App,
    path: str | Path,
    dry_run: bool = False,
    on_rows: Callable[[int], None] | None = None,
    tuning: ImportTuning = MEASURED,
) -> SubscriberImportReport:
    """Import a subscriber CSV; see the module docstring for the rules. ``on_rows`` is called
    with the number of rows read, chunk by chunk (progress).

    A file of ``tuning.read_in_child_from_bytes`` or more is read in a spawned child process: a
    script that calls this must start from an ``if __name__ == "__main__":`` block
    (multiprocessing's rule)."""
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
            load_stored_keys=tuning.holds_stored_keys(db.count_subscribers(app.store), path),
            hasher=_forget_list_hasher(app, str(path), report),
        )
        merger = Merger(app.store, str(path), now, defaults, report)
        for new, to_merge, rejected, warnings, skipped in planned_chunks(
            path, form, parser, planner, app.store, tuning
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
