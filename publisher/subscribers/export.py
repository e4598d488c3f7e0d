"""Subscriber export: CSV (importable again) or JSON Lines, for staff and GDPR portability."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from publisher.app import App
from publisher.errors import PublisherError
from publisher.slugs import slugify
from publisher.store import subscribers as db
from publisher.subscribers.csv_headers import KNOWN_COLUMNS
from publisher.subscribers.segments import stream_matches
from publisher.subscribers.spreadsheet import neutralize

ExportFormat = Literal["csv", "jsonl"]


def export_file(app: App, segment: str | None, format: ExportFormat, path: Path) -> int:
    """``export`` into ``path``, through a temporary file renamed at the end: an export that
    fails leaves no half-written file, and the previous one whole."""
    app.refuse_own_file(path)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            count = export(app, segment, format, handle)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise PublisherError(f"{path}: cannot write: {error.strerror or error}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count


def export(app: App, segment: str | None = None, format: ExportFormat = "csv", out: TextIO | None = None) -> int:
    """Write the subscribers the segment's filter selects (any status; all without a segment) to
    ``out`` (default stdout).

    CSV has the import columns plus one per attribute, so an export can be imported again;
    every cell is quoted, and one a spreadsheet would run as a formula gets a leading ``'``
    (publisher.subscribers.spreadsheet), which the import takes off again;
    JSON Lines has one object per subscriber with everything but the history. Returns the count.
    """
    if format not in ("csv", "jsonl"):
        raise PublisherError(f"--format: unknown export format {format!r} (expected csv or jsonl)")
    out = sys.stdout if out is None else out
    store = app.store
    chunks = stream_matches(app, segment)  # checks the segment before anything is written
    tags = db.tags_by_id(store)
    attribute_names = db.attribute_names(store)
    tz = app.config.site.tz
    writer = None
    if format == "csv":
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(map(neutralize, [*KNOWN_COLUMNS, *attribute_names]))
    written = 0
    for chunk in chunks:
        ids = [row["id"] for row in chunk]
        interests = db.interests_of(store, ids)
        attributes = db.attributes_of(store, ids)
        for row in chunk:
            names = sorted((tags[tag_id][1] for tag_id in interests[row["id"]]), key=slugify)
            consent_at = _local_text(row["consent_at"], tz)
            if writer is not None:
                values = attributes[row["id"]]
                cells = [
                    row["email"],
                    row["name"],
                    row["locale"],
                    "|".join(names),
                    row["status"],
                    row["consent_source"],
                    consent_at or "",
                    *(values.get(name, "") for name in attribute_names),
                ]
                writer.writerow(map(neutralize, cells))
            else:
                out.write(
                    json.dumps(
                        {
                            "id": row["id"],
                            "email": row["email"],
                            "name": row["name"],
                            "locale": row["locale"],
                            "status": row["status"],
                            "status_since": _local_text(row["status_at"], tz),
                            "paused_since": _local_text(row["paused_at"], tz),
                            "consent_source": row["consent_source"],
                            "consent_at": consent_at,
                            "created_at": _local_text(row["created_at"], tz),
                            "interests": names,
                            "attributes": attributes[row["id"]],
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
            written += 1
    return written


def _local_text(stored: str | None, tz) -> str | None:
    return datetime.fromisoformat(stored).astimezone(tz).isoformat() if stored else None
