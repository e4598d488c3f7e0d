"""Helpers every store module shares to build raw SQL: placeholders for ``IN (…)``, the chunk
size that keeps them under SQLite's variable limit, multi-row INSERTs, rows as dicts.

Iterating in chunks is ``publisher.store.chunks`` (also used outside the store).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import chain

CHUNK = 500  # values per IN (…); well under SQLite's variable limit
MAX_VARIABLES = 999  # per statement: the smallest limit any SQLite build has


def marks(values: Iterable[object]) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (…)`` or ``VALUES (…)``."""
    return ", ".join("?" for _ in values)


def as_dicts(cursor: sqlite3.Cursor) -> Iterator[dict]:
    """The cursor's rows as dicts keyed by column name."""
    names = [column[0] for column in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def insert_many(conn: sqlite3.Connection, sql: str, width: int, values: list, leading: tuple = ()) -> None:
    """Run ``sql`` for rows of ``width`` values, given one after another, a few hundred rows per
    statement: ``{rows}`` in ``sql`` becomes that many ``(?, ?, …)`` groups. ``leading`` values
    are bound first, as ?1, ?2…

    A statement of many rows costs a third of executemany's row-by-row binding and stepping:
    this is the write path of a million-row import.
    """
    per_statement = (MAX_VARIABLES - len(leading)) // width * width
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        conn.execute(_rows_sql(sql, width, len(chunk) // width), [*leading, *chunk] if leading else chunk)


def flat(rows: Iterable[tuple]) -> list:
    """Rows of values as one list of values, as ``insert_many`` takes them."""
    return list(chain.from_iterable(rows))


@lru_cache(maxsize=64)
def _rows_sql(sql: str, width: int, count: int) -> str:
    group = f"({', '.join('?' * width)})"
    return sql.replace("{rows}", ", ".join([group] * count))
