"""Subscriber CSV import, speed tuning kept apart from its rules: a large file is read and
planned in a child process while this one writes, its rows crossing as plain tuples; Python's
cycle collector runs less often during an import."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from publisher.child_process import items_from_child
from publisher.errors import RecordError
from publisher.store import Store
from publisher.store import subscribers as db
from publisher.subscribers.csv_plan import PlannedChunk, Planner
from publisher.subscribers.csv_read import CsvFormat, Row, RowNote, RowParser, read_chunks


@dataclass(frozen=True)
class ImportTuning:
    """How an import goes about its work; the defaults are measured with bench/subscribers.py.
    Tests change them to take each path with small files."""

    chunk_rows: int = 2000  # rows read, planned and written at a time
    # Files from this size on are read, validated and planned (Planner) in a child process, in
    # parallel with the writing (see publisher.child_process); below it, starting the process
    # costs more than it saves.
    read_in_child_from_bytes: int = 8_000_000
    # Up to this many stored subscribers, an import holds their address keys in memory (~100
    # bytes each) instead of looking every row up in the store.
    stored_keys_max: int = 500_000
    bytes_per_row: int = 100  # about what a subscriber row of a CSV file takes, to estimate its rows

    def holds_stored_keys(self, stored: int, path: Path) -> bool:
        """Whether to hold the ``stored`` subscribers' address keys in memory for this file:
        when the file has about as many rows or more (a store being filled) and they are few
        enough; then only rows with one of them, or seen on an earlier line, go to the merger.
        Reading the keys costs ~5 µs each, as much as looking a row up: a small file into a
        large store looks up."""
        return stored <= min(self.stored_keys_max, file_size(path) // self.bytes_per_row)


MEASURED = ImportTuning()


def planned_chunks(
    path: Path, form: CsvFormat, parser: RowParser, planner: Planner, store: Store, tuning: ImportTuning
) -> Iterator[PlannedChunk]:
    """The file's rows, ``tuning.chunk_rows`` at a time, read and planned (see Planner). A large
    file is read in a child process while this one writes the previous chunks."""
    chunk_size = tuning.chunk_rows
    if file_size(path) < tuning.read_in_child_from_bytes or planner.store_path == ":memory:":
        yield from planner.plan(read_chunks(path, form, parser, chunk_size), store)
        return
    for new, to_merge, rejected, warnings, skipped in items_from_child(
        _plan_in_child, path, form, parser, planner, chunk_size
    ):
        yield new, [Row._make(row) for row in to_merge], rejected, warnings, skipped


def _plan_in_child(
    path: Path, form: CsvFormat, parser: RowParser, planner: Planner, chunk_size: int
) -> Iterator[tuple[db.NewRows, list[tuple], list[RecordError], list[RowNote], list[RowNote]]]:
    """planned_chunks in the reading child process, with its own connection to the store; rows
    for the merger as plain tuples, which pickle several times faster than named tuples."""
    with Store(planner.store_path) as store, fewer_collections():
        rows = read_chunks(path, form, parser, chunk_size)
        for new, to_merge, rejected, warnings, skipped in planner.plan(rows, store):
            yield new, [tuple(row) for row in to_merge], rejected, warnings, skipped


def file_size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


@contextmanager
def fewer_collections(every: int = 100_000) -> Iterator[None]:
    """Run Python's cycle collector only when ``every`` more objects are alive than at its last
    run (instead of 700). An import makes and frees millions of rows and tuples, none of them in
    a cycle; the collector's passes over them cost about 8% of a million-row import."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(every, threshold[0]), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
