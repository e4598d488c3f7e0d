"""Subscriber CSV import, merging: the rules that merge a row into the subscriber it names
(stored, or created earlier by the same import), and the writes of each chunk. The rules
themselves are told in publisher.subscribers.csv_import; which status changes are allowed, in
publisher.subscribers.status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from publisher.addresses import address_key
from publisher.clock import to_db
from publisher.store import Store
from publisher.store import subscribers as db
from publisher.subscribers.csv_plan import ImportDefaults
from publisher.subscribers.csv_read import Row, RowNote, SubscriberImportReport
from publisher.subscribers.status import ACTIVE, Source, allowed, has_left


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
    history: list[tuple] = field(default_factory=list)  # as stored rows

    @property
    def status(self) -> str:
        return self.changed.get("status", self.subscriber.status)  # type: ignore[return-value]


@dataclass
class _ChunkRows:
    """The rows the merger writes for one chunk, as tuples."""

    subscribers: list[tuple] = field(default_factory=list)  # new ones (NewSubscriber.row)
    interests: list[tuple[int, int]] = field(default_factory=list)
    attributes: list[tuple[int, str, str]] = field(default_factory=list)  # of new subscribers
    changed_attributes: list[tuple[int, str, str]] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)


class Merger:
    """Writes each planned chunk: its new subscribers as they are, and merges the other rows
    into the subscribers they name (stored, or created by an earlier row of this import)."""

    def __init__(
        self, store: Store, file: str, now: datetime, defaults: ImportDefaults, report: SubscriberImportReport
    ) -> None:
        self.store = store
        self.file = file
        self.now = now
        self.defaults = defaults
        self.slugs = {tag_id: slug for slug, tag_id in db.tag_ids(store).items()}
        self.report = report

    def write(self, new: db.NewRows, to_merge: list[Row]) -> None:
        db.insert_new_subscribers(self.store, new, self.defaults.now_text, self.defaults.source)
        self.report.inserted += len(new)
        if not to_merge:
            return
        states = self._stored_states([row.key for row in to_merge if row.new_id is None])
        for row in to_merge:
            self._merge(states, row)
        self._write(states.values())

    def _merge(self, states: dict[str, _State], row: Row) -> None:
        state = states.get(row.key)
        if state is None:  # the first line of an address new to the store (row.new_id)
            states[row.key] = self._new_state(row)
            outcome = "inserted"
        else:
            outcome = self._merge_row(state, row)
        if outcome == "skipped":
            return
        if row.first_line != row.line:
            self.report.merged += 1
            self.report.warnings.append(
                RowNote(self.file, row.line, "email", f"duplicate of line {row.first_line}, merged")
            )
        else:
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)

    def _stored_states(self, keys: list[str]) -> dict[str, _State]:
        """The subscribers of these addresses: stored before the import or created by it."""
        if not keys:
            return {}
        stored = {address_key(s.email): s for s in db.find_by_emails(self.store, list(dict.fromkeys(keys)))}
        ids = [subscriber.id for subscriber in stored.values()]
        interests = db.interests_of(self.store, ids)
        attributes = db.attributes_of(self.store, ids)
        return {
            key: _State(
                db.NewSubscriber(
                    s.id,
                    s.email,
                    s.name,
                    s.locale,
                    s.status,
                    s.consent_source,
                    to_db(s.consent_at) if s.consent_at else None,
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
        subscriber = db.NewSubscriber(*self.defaults.new_row(row.new_id, row))
        state = _State(subscriber, set(row.interests), dict(row.attributes), self.now, is_new=True)
        detail = _consent(subscriber.consent_source, subscriber.consent_at)
        state.history.append(self._history_row(state, "status", None, subscriber.status, row, detail))
        return state

    def _merge_row(self, state: _State, row: Row) -> str:
        """Merge a row into a subscriber; return inserted/updated/unchanged/skipped."""
        before = (len(state.changed), len(state.added_interests), len(state.changed_attributes))
        had_left = has_left(state.status)
        if row.status is not None and allowed(state.status, row.status, Source.IMPORT):
            detail = ""
            if row.status == ACTIVE:
                consent_source = row.consent_source or self.defaults.source
                consent_at = row.consent_at or self.defaults.now_text
                state.changed.update(consent_source=consent_source, consent_at=consent_at)
                detail = _consent(consent_source, consent_at)
            self._set_status(state, row.status, row, detail)
        elif had_left and not has_left(row.status):
            since = state.status_at.date().isoformat() if state.status_at else "an earlier row"
            self.report.skipped.append(
                RowNote(self.file, row.line, "status", f"{state.status} since {since}; not re-activated")
            )
            return "skipped"
        if not had_left:  # the profile of someone who left is not changed
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
        state.history.append(self._history_row(state, "status", state.status, status, row, detail))
        state.changed.update(status=status, status_at=self.now)
        state.status_at = self.now

    def _history_row(self, state: _State, change: str, old: str | None, new: str, row: Row, detail: str) -> tuple:
        return (
            state.subscriber.id,
            self.defaults.now_text,
            change,
            old,
            new,
            f"{self.defaults.source}:{row.line}",
            detail,
        )

    def _write(self, states: Iterable[_State]) -> None:
        rows = _ChunkRows()
        for state in states:
            subscriber_id = state.subscriber.id
            rows.history.extend(state.history)
            if state.is_new:
                rows.subscribers.append(_with_changes(state).row())
                rows.interests.extend((subscriber_id, tag_id) for tag_id in sorted(state.interests))
                rows.attributes.extend((subscriber_id, name, value) for name, value in state.attributes.items())
                continue
            if state.changed:
                db.update_subscriber(self.store, subscriber_id, self.now, **state.changed)
            rows.interests.extend((subscriber_id, tag_id) for tag_id in sorted(state.added_interests))
            rows.changed_attributes.extend(
                (subscriber_id, name, value) for name, value in state.changed_attributes.items()
            )
            if state.added_interests:
                added = ", ".join(sorted(self.slugs[tag_id] for tag_id in state.added_interests))
                rows.history.append(
                    (
                        subscriber_id,
                        self.defaults.now_text,
                        "interests",
                        None,
                        None,
                        self.defaults.source,
                        f"added {added}",
                    )
                )
        rows.subscribers.sort()  # in id order: SQLite appends to the table
        db.insert_subscriber_rows(self.store, rows.subscribers, self.defaults.now_text)
        db.add_interests(self.store, rows.interests)
        db.add_attributes(self.store, rows.attributes)
        db.set_attributes(self.store, rows.changed_attributes)
        db.add_history_rows(self.store, rows.history)


def _with_changes(state: _State) -> db.NewSubscriber:
    values = {name: value for name, value in state.changed.items() if name != "status_at"}
    return replace(state.subscriber, **values)


def _consent(source: str, at: str | None) -> str:
    """The detail of a history row that records consent (``at`` as stored)."""
    return f"consent: {source}, {at}" if at else f"consent: {source}"
