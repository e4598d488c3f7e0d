"""Segments: declarative filters compiled to parameterised SQL that the indexes serve."""

import re

import pytest
from support.subscribers import TAG_NAMES, add_tags, write_csv

from publisher.app import App
from publisher.config import load_config
from publisher.errors import ConfigError, NotFoundError
from publisher.store import segments as sql
from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.lifecycle import update_preferences
from publisher.subscribers.segments import compile_segment, count_matches, count_members, list_segments, stream_members

ROWS = [
    # email, locale, interests, status, consent_at, bassin, role
    ("a@example.org", "fr", "apprentissage|jeunes", "active", "2026-01-10", "Tours", "conseiller"),
    ("b@example.org", "fr", "apprentissage", "active", "2026-06-01", "Blois", "formateur"),
    ("c@example.org", "en", "VAE", "active", "2025-12-01", "Tours", "employeur"),
    ("d@example.org", "fr", "apprentissage|VAE", "unsubscribed", "2026-02-01", "Tours", "conseiller"),
    ("e@example.org", "fr", "jeunes|VAE", "active", "2026-03-01", "Orléans", "conseiller"),
    ("f@example.org", "fr", "", "pending", "", "Tours", ""),
    ("g@example.org", "fr", "apprentissage|jeunes|VAE", "active", "2026-04-01", "Tours", "formateur"),
]


def with_segments(config_file, text: str) -> App:
    config_file.write_text(config_file.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
    return load_config(config_file)


@pytest.fixture
def people(app, store, tmp_path):
    add_tags(store, (*TAG_NAMES, "orientation"))
    lines = [f"{e},,{lo},{i},{s},,{c},{b},{r}" for e, lo, i, s, c, b, r in ROWS]
    report = import_csv(app, write_csv(tmp_path / "people.csv", *lines))
    assert report.ok and report.inserted == len(ROWS)


@pytest.fixture
def segment_app(app, config_file):
    """The app, with the segments of each test appended to its config.toml."""

    def make(text: str) -> App:
        app.config = with_segments(config_file, text)
        return app

    return make


def members(app, name, **options):
    return [recipient.email[0] for chunk in stream_members(app, name, **options) for recipient in chunk]


CASES = {
    'interests_any = ["apprentissage", "VAE"]': "abceg",
    'interests_all = ["apprentissage", "jeunes"]': "ag",
    'interests_all = ["bassin d\'emploi"]': "",
    'attributes = { bassin = "Tours" }': "acg",
    'attributes = { bassin = ["Tours", "Blois"], role = "formateur" }': "bg",
    'locale = "en"': "c",
    'locale = ["fr", "en"]': "abceg",
    'status = "unsubscribed"': "",  # never mailed, whatever the filter says
    "subscribed_after = 2026-03-01": "beg",
    "subscribed_before = 2026-03-01T00:00:00+01:00": "ac",
    'any = [{ attributes = { bassin = "Blois" } }, { locale = "en" }]': "bc",
    'all = [{ interests_any = ["jeunes"] }, { not = { attributes = { bassin = "Tours" } } }]': "e",
    'not = { interests_any = ["VAE"] }': "ab",
    'attributes = { role = "conseiller" }\nnot = { any = [{ interests_all = ["VAE"] }, { locale = "en" }] }': "a",
}


@pytest.mark.parametrize(("conditions", "expected"), CASES.items())
def test_filters_select_the_expected_active_members(people, segment_app, conditions, expected):
    app = segment_app(f"[segments.test]\n{conditions}\n")
    assert "".join(members(app, "test")) == expected
    assert count_members(app, "test") == len(expected)


def test_matches_ignore_status_but_members_never_include_who_left(people, segment_app):
    app = segment_app('[segments.partis]\nstatus = ["unsubscribed", "pending"]\n')
    assert count_matches(app, "partis") == 2
    assert count_members(app, "partis") == 0


def test_paused_subscribers_are_not_members(people, segment_app, store):
    app = segment_app('[segments.tours]\nattributes = { bassin = "Tours" }\n')
    update_preferences(app, 1, paused=True, source="test")
    assert members(app, "tours") == ["c", "g"]
    update_preferences(app, 1, paused=False, source="test")
    assert members(app, "tours") == ["a", "c", "g"]


def test_stream_in_chunks_by_id_with_interests(people, segment_app, store, monkeypatch):
    app = segment_app('[segments.all]\ndescription = "tous"\n')
    tag = dict(store.conn.execute("SELECT slug, id FROM tags"))
    chunks = list(stream_members(app, "all", chunk_size=2, with_interests=True))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    flat = [recipient for chunk in chunks for recipient in chunk]
    assert [r.subscriber_id for r in flat] == sorted(r.subscriber_id for r in flat)
    assert flat[0].interests == tuple(sorted((tag["apprentissage"], tag["jeunes"])))
    assert flat[2].locale == "en"
    assert all(r.interests == () for chunk in stream_members(app, "all") for r in chunk)


def test_windows_smaller_than_the_id_space_give_the_same_members(people, segment_app, store):
    app = segment_app('[segments.x]\ninterests_any = ["VAE", "jeunes"]\n')
    compiled = compile_segment(app, "x")
    windows = list(sql.stream(store, compiled, window=2))
    assert len(windows) >= 3  # ids 1..7 in windows of 2
    assert [row[1][0] for window in windows for row, _ in window] == list("aceg")


def test_unknown_segment_and_unknown_tag_are_named(people, segment_app):
    app = segment_app('[segments.faute]\ninterests_any = ["aprentissage"]\n')
    with pytest.raises(NotFoundError, match="unknown segment 'nope'"):
        count_members(app, "nope")
    with pytest.raises(
        ConfigError, match=r"config\.toml:\d+: segments\.faute\.interests_any: unknown tag 'aprentissage'"
    ):
        count_members(app, "faute")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[segments.x]\ninterests_any = []\n", r"segments\.x\.interests_any: List should have at least 1 item"),
        ('[segments.x]\nbassin = "Tours"\n', r"segments\.x\.bassin: unknown key"),
        ('[segments.x]\nstatus = "actif"\n', r"segments\.x\.status: "),
        ("[segments.x]\nnot = {}\n", r"segments\.x\.not: empty filter"),
        ("[segments.x]\nattributes = { bassin = 3 }\n", r"segments\.x\.attributes\.bassin"),
    ],
)
def test_invalid_segment_definitions_are_config_errors_naming_the_key(config_file, text, message):
    config_file.write_text(config_file.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config\.toml:\d+: " + message):
        load_config(config_file)


def test_values_are_parameters_never_sql(people, segment_app):
    hostile = "Tours') OR 1=1 --"
    app = segment_app(f'[segments.x]\nattributes = {{ bassin = "{hostile}" }}\n')
    compiled = compile_segment(app, "x")
    assert hostile not in compiled.where and hostile in compiled.params.values()
    assert count_members(app, "x") == 0


def test_list_segments_counts_members(people, app):
    summaries = {summary.name: summary for summary in list_segments(app)}
    assert summaries["tous"].members == 5
    assert summaries["apprentissage-tours"].members == 2  # a and g (d left)
    assert summaries["tous"].description == "Tous les abonnés actifs"


def _plan(store, compiled, **options):
    return sql.explain(store, compiled, **options)


def test_query_plans_use_the_indexes(people, segment_app, store):
    app = segment_app(
        '[segments.x]\ninterests_any = ["apprentissage"]\ninterests_all = ["VAE"]\n'
        'attributes = { bassin = ["Tours", "Blois"] }\nnot = { interests_any = ["jeunes"] }\n'
    )
    compiled = compile_segment(app, "x")
    store.conn.execute("ANALYZE")  # as on a real store: plans must not depend on luck
    for plan in (_plan(store, compiled), _plan(store, compiled, windowed=True)):
        assert "subscriber_interests_tag" in plan, plan
        assert "subscriber_attributes_value" in plan, plan
        # Never a full scan of the interests or attributes tables.
        assert not re.search(r"SCAN (subscriber_interests|subscriber_attributes)\b", plan), plan
        # The subscribers are reached through the index of mailable subscribers, never by a scan.
        assert "USING INDEX subscribers_mailable" in plan, plan
        assert not re.search(r"SCAN (s|subscribers)\b", plan), plan
    # Each streaming window reads only its own slice of the interest and attribute indexes.
    windowed = _plan(store, compiled, windowed=True)
    assert "subscriber_interests_tag (tag_id=? AND subscriber_id>? AND subscriber_id<?)" in windowed
    assert "subscriber_attributes_value (name=? AND value=? AND subscriber_id>? AND subscriber_id<?)" in windowed
