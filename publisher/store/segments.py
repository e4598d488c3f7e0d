"""Segment filters compiled to parameterised SQL, and the queries that count and stream them.

Every value from config.toml becomes a named parameter; the SQL text is built only from
this module's fixed fragments. Interest and attribute conditions are ``s.id IN (SELECT
subscriber_id FROM … WHERE …)`` subqueries, served by the indexes (tag_id, subscriber_id) and
(name, value, subscriber_id); "receives newsletters" is served by the partial index
``subscribers_mailable``.

Streaming walks the id space in windows: each window is one short query whose subqueries
are bounded to the window's ids, so no query ever materialises the whole segment and no
read transaction stays open between chunks (keyset pagination on the id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from publisher.clock import to_db
from publisher.config import SegmentFilter
from publisher.store import Store

# Who is mailed, as publisher.subscribers.status.mailable says (tests/test_subscriber_status.py).
MAILABLE = "s.status = 'active' AND s.paused_at IS NULL"
# The partial index of mailable subscribers. Named, because without statistics SQLite prefers
# subscribers_status and then reads every candidate's row for paused_at (twice as slow).
FROM_MAILABLE = "subscribers s INDEXED BY subscribers_mailable"
_BOUNDS = " AND subscriber_id >= :window_lo AND subscriber_id < :window_hi"

# Resolves a tag name or slug to its id; raises (naming the config key) for an unknown tag.
TagResolver = Callable[[str, tuple[str, ...]], int]


@dataclass(frozen=True)
class CompiledFilter:
    """A WHERE clause over ``subscribers s``; ``windowed`` subqueries use the window bounds."""

    where: str
    params: dict[str, Any]
    windowed: str

    def sql(self, mailable_only: bool, windowed: bool = False) -> str:
        clauses = [self.windowed if windowed else self.where]
        if mailable_only:
            clauses.insert(0, MAILABLE)
        if windowed:
            clauses.insert(0, "s.id >= :window_lo AND s.id < :window_hi")
        return " AND ".join(f"({clause})" for clause in clauses)


@dataclass
class _Compiler:
    resolve_tag: TagResolver
    tz: ZoneInfo
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def params_for(self, values: list[Any]) -> str:
        return ", ".join(self.param(value) for value in values)

    def compile(self, flt: SegmentFilter, key: tuple[str, ...], bounds: str) -> str:
        clauses = []
        if flt.interests_any is not None:
            ids = sorted({self.resolve_tag(tag, (*key, "interests_any")) for tag in flt.interests_any})
            clauses.append(self._interests(ids, bounds))
        if flt.interests_all is not None:
            for tag_id in sorted({self.resolve_tag(tag, (*key, "interests_all")) for tag in flt.interests_all}):
                clauses.append(self._interests([tag_id], bounds))
        for name, wanted in sorted((flt.attributes or {}).items()):
            values = sorted(set([wanted] if isinstance(wanted, str) else wanted))
            clauses.append(
                "s.id IN (SELECT subscriber_id FROM subscriber_attributes "
                f"WHERE name = {self.param(name.strip().lower())} AND value IN ({self.params_for(values)}){bounds})"
            )
        if flt.locale is not None:
            clauses.append(f"s.locale IN ({self.params_for(_as_list(flt.locale))})")
        if flt.status is not None:
            clauses.append(f"s.status IN ({self.params_for(_as_list(flt.status))})")
        if flt.subscribed_before is not None:
            clauses.append(f"s.consent_at < {self.param(self.moment(flt.subscribed_before))}")
        if flt.subscribed_after is not None:
            clauses.append(f"s.consent_at >= {self.param(self.moment(flt.subscribed_after))}")
        for name, joiner, nested_list in (("all", "AND", flt.all), ("any", "OR", flt.any)):
            if nested_list is not None:
                parts = [
                    self.compile(nested, (*key, name, str(index)), bounds) for index, nested in enumerate(nested_list)
                ]
                clauses.append("(" + f" {joiner} ".join(f"({part})" for part in parts) + ")")
        if flt.not_ is not None:
            clauses.append(f"NOT ({self.compile(flt.not_, (*key, 'not'), bounds)})")
        return " AND ".join(clauses) if clauses else "1"

    def _interests(self, tag_ids: list[int], bounds: str) -> str:
        return (
            "s.id IN (SELECT subscriber_id FROM subscriber_interests "
            f"WHERE tag_id IN ({self.params_for(tag_ids)}){bounds})"
        )

    def moment(self, value: date | datetime) -> str:
        """A config date or datetime as stored text; no offset means the site time zone."""
        if not isinstance(value, datetime):
            value = datetime.combine(value, time(0), self.tz)
        elif value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        return to_db(value)


def _as_list(value: str | list[str]) -> list[str]:
    return sorted({value} if isinstance(value, str) else set(value))


def compile_filter(flt: SegmentFilter, key: tuple[str, ...], resolve_tag: TagResolver, tz: ZoneInfo) -> CompiledFilter:
    """Compile a filter; ``key`` (e.g. ("segments", "tous")) names it in errors."""
    compiler = _Compiler(resolve_tag, tz)
    where = compiler.compile(flt, key, "")
    # The windowed variant repeats the conditions with the same values under new names.
    windowed = compiler.compile(flt, key, _BOUNDS)
    return CompiledFilter(where, compiler.params, windowed)


def count(store: Store, compiled: CompiledFilter, mailable_only: bool = True) -> int:
    sql = f"SELECT count(*) FROM {_source(mailable_only)} WHERE {compiled.sql(mailable_only)}"
    return store.conn.execute(sql, compiled.params).fetchone()[0]


def _source(mailable_only: bool) -> str:
    return FROM_MAILABLE if mailable_only else "subscribers s"


def explain(store: Store, compiled: CompiledFilter, mailable_only: bool = True, windowed: bool = False) -> str:
    """SQLite's query plan of the count (or of one streaming window), one step a line."""
    columns = "count(*)" if not windowed else "s.id, s.email"
    params = {**compiled.params, "window_lo": 0, "window_hi": 1} if windowed else compiled.params
    where = compiled.sql(mailable_only, windowed)
    sql = f"EXPLAIN QUERY PLAN SELECT {columns} FROM {_source(mailable_only)} WHERE {where}"
    return "\n".join(row[3] for row in store.conn.execute(sql, params))


MEMBER_COLUMNS = (
    "id",
    "email",
    "name",
    "locale",
    "status",
    "consent_source",
    "consent_at",
    "created_at",
    "status_at",
    "paused_at",
)


def stream(
    store: Store,
    compiled: CompiledFilter,
    mailable_only: bool = True,
    window: int = 8192,
    with_interests: bool = False,
) -> Iterator[list[tuple[tuple, tuple[int, ...]]]]:
    """The members, in id order, one list per id window: (row of MEMBER_COLUMNS, interest tag ids).

    Interests are only read when asked for (else the tuple is empty).
    """
    low, high = store.conn.execute("SELECT min(id), max(id) FROM subscribers").fetchone()
    if low is None:
        return
    columns = ", ".join(f"s.{column}" for column in MEMBER_COLUMNS)
    where = compiled.sql(mailable_only, windowed=True)
    sql = f"SELECT {columns} FROM {_source(mailable_only)} WHERE {where} ORDER BY s.id"
    for start in range(low, high + 1, window):
        bounds = {"window_lo": start, "window_hi": start + window}
        rows = store.conn.execute(sql, {**compiled.params, **bounds}).fetchall()
        if not rows:
            continue
        interests = _interests_in_window(store, bounds) if with_interests else {}
        yield [(row, interests.get(row[0], ())) for row in rows]


def _interests_in_window(store: Store, bounds: dict[str, int]) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = {}
    for subscriber_id, tag_id in store.conn.execute(
        "SELECT subscriber_id, tag_id FROM subscriber_interests "
        "WHERE subscriber_id >= :window_lo AND subscriber_id < :window_hi ORDER BY subscriber_id, tag_id",
        bounds,
    ):
        found.setdefault(subscriber_id, []).append(tag_id)
    return {subscriber_id: tuple(tags) for subscriber_id, tags in found.items()}
