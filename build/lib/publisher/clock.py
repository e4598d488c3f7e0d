"""Time: timezone-aware UTC inside, an injectable clock, one text format in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests and reproducible builds."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self._now = at.astimezone(UTC)


def to_db(moment: datetime) -> str:
    """The store's text form of a time: UTC, second precision, sortable as text."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must carry an offset")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def from_db(text: str) -> datetime:
    """Parse a time written by to_db back into an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)
