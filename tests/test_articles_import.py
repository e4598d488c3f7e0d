import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.paths import DATA

from publisher.article_import import import_files, read_records
from publisher.errors import PublisherError, RecordError
from publisher.store.articles import count_articles, list_articles


def article(n: int, **changes) -> dict:
    record = {
        "url": f"https://www.horizons-emploi.example.org/actualites/{n}",
        "title": f"Bassin d'emploi n° {n} : « tensions » sur la main-d’œuvre",
        "published_at": f"2026-09-{n:02d}T09:30:00+02:00",
        "summary": "Résumé.",
        "content_html": "<p>Texte.</p>",
        "author": "Claire Lefèvre",
        "tags": ["bassin d'emploi", "travaux publics"],
    }
    record.update(changes)
    return record


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def snapshot(store) -> list:
    return [
        store.conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        for table in ("articles", "tags", "article_tags")
    ]


def test_ten_lines_one_bad_imports_nine_and_reimport_changes_nothing(store, tmp_path, clock):
    lines = [article(n) for n in range(1, 11)]
    lines[6] = article(7, url="/actualites/7")
    path = write_jsonl(tmp_path / "articles.jsonl", lines)

    report = import_files(store, [path], "fr")
    assert report.counts.inserted == 9
    assert [str(error) for error in report.rejected] == [
        f"{path}:7: url: expected an absolute http(s) URL, got '/actualites/7'"
    ]
    before = snapshot(store)

    clock.advance(hours=1)
    again = import_files(store, [path], "fr")
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 9)
    assert snapshot(store) == before


def test_edited_article_is_updated_and_keeps_its_identity(store, tmp_path, clock):
    path = write_jsonl(tmp_path / "a.jsonl", [article(1)])
    import_files(store, [path], "fr")
    (original_id,) = store.conn.execute("SELECT id FROM articles").fetchone()

    clock.advance(days=1)
    write_jsonl(path, [article(1, title="Titre corrigé", tags=["apprentissage"])])
    report = import_files(store, [path], "fr")
    assert (report.counts.inserted, report.counts.updated) == (0, 1)
    (stored,) = list_articles(store)
    assert (stored.id, stored.title, [t.slug for t in stored.tags]) == (original_id, "Titre corrigé", ["apprentissage"])
    (changed_at,) = store.conn.execute("SELECT changed_at FROM articles").fetchone()
    assert changed_at == "2026-11-27T09:00:00Z"


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("{not json", "json", "invalid JSON"),
        ("[1, 2]", "record", "expected a JSON object"),
        (article(1, title=None), "title", "required"),
        (article(1, title="   "), "title", "must not be empty"),
        ({k: v for k, v in article(1).items() if k != "url"}, "url", "required"),
        ({k: v for k, v in article(1).items() if k != "published_at"}, "published_at", "required"),
        (article(1, published_at="2026-09-01T09:30:00"), "published_at", "without a UTC offset"),
        (article(1, published_at="1er septembre"), "published_at", "not an ISO 8601"),
        (article(1, url="ftp://x.example.org/a"), "url", "absolute http(s) URL"),
        (article(1, image_url="images/a.jpg"), "image_url", "absolute http(s) URL"),
        (article(1, tags="apprentissage"), "tags", "list of tag names"),
        (article(1, status="archived"), "status", "'published' or 'draft'"),
        (article(1, titre="x"), "titre", "unknown field"),
    ],
)
def test_bad_records_are_reported_by_file_line_and_field(store, tmp_path, line, field, reason):
    path = write_jsonl(tmp_path / "bad.jsonl", [article(2), line, article(3)])
    report = import_files(store, [path], "fr")
    (error,) = report.rejected
    assert (error.source, error.line, error.field) == (str(path), 2, field)
    assert reason in error.reason
    assert str(error).startswith(f"{path}:2: {field}: ")
    assert report.counts.inserted == 2


def test_rejected_record_leaves_nothing_half_written(store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [article(1, tags=["nouveau tag"], published_at="hier")])
    report = import_files(store, [path], "fr")
    assert len(report.rejected) == 1
    assert snapshot(store) == [[], [], []]


def test_interrupted_import_writes_nothing(store, tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "a.jsonl", [article(n) for n in range(1, 5)])

    def explode(records):
        for n, record in enumerate(records):
            if n == 3:
                raise KeyboardInterrupt
            yield record

    import publisher.article_import as module

    original = module._good_records
    monkeypatch.setattr(module, "_good_records", lambda *a: explode(original(*a)))
    with pytest.raises(KeyboardInterrupt):
        import_files(store, [path], "fr")
    assert count_articles(store) == 0


def test_french_tags_keep_their_spelling_and_slug_alike_names_are_one_tag(store, tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            article(1, tags=["bassin d'emploi", "actualité emploi-formation"]),
            article(2, tags=["Bassin d’emploi", "bassin d'emploi"]),
        ],
    )
    import_files(store, [path], "fr")
    assert store.conn.execute("SELECT slug, name FROM tags ORDER BY slug").fetchall() == [
        ("actualite-emploi-formation", "actualité emploi-formation"),
        ("bassin-d-emploi", "bassin d'emploi"),
    ]
    newest = list_articles(store)[0]
    assert [tag.name for tag in newest.tags] == ["bassin d'emploi"]


def test_times_are_stored_utc_and_read_back_aware(store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [article(1, published_at="2026-10-25T02:30:00+01:00")])
    import_files(store, [path], "fr")
    (published,) = store.conn.execute("SELECT published_at FROM articles").fetchone()
    assert published == "2026-10-25T01:30:00Z"
    assert list_articles(store)[0].published_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_defaults_guid_language_status_updated(store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [article(1), article(2, guid="urn:x:2", status="draft", language="en")])
    import_files(store, [path], "fr")
    rows = store.conn.execute("SELECT guid, language, status, published_at = updated_at FROM articles ORDER BY id")
    assert rows.fetchall() == [
        ("https://www.horizons-emploi.example.org/actualites/1", "fr", "published", 1),
        ("urn:x:2", "en", "draft", 1),
    ]
    assert [a.guid for a in list_articles(store)] == ["https://www.horizons-emploi.example.org/actualites/1"]


def test_rss_import_reads_content_tags_image_and_reports_undated_items(store):
    report = import_files(store, [DATA / "sample.rss"], "en")
    assert report.counts.inserted == 2
    (error,) = report.rejected
    assert (error.line, error.field) == (27, "published")
    first = list_articles(store, tag_slug="apprentissage")[0]
    assert first.guid == "ancien-42"
    assert first.title == "Apprentissage : « record » d’entrées en 2026"
    assert first.published_at == datetime(2026, 9, 14, 7, 30, tzinfo=UTC)
    assert first.language == "fr"
    assert first.image_url == "https://ancien.example.org/img/cfa.jpg"
    assert first.summary == "Un résumé court."
    assert first.content_html == '<p>Le texte complet, avec un <a href="/agenda">lien relatif</a>.</p>'
    assert [tag.name for tag in first.tags] == ["apprentissage", "bassin d'emploi"]
    assert "Claire Lefèvre" in first.author


def test_atom_import_uses_labels_ids_and_updated(store):
    report = import_files(store, [DATA / "sample.atom"], "fr")
    assert report.counts.inserted == 1
    (error,) = report.rejected
    assert (error.line, error.field) == (18, "link")
    (entry,) = list_articles(store)
    assert entry.guid == "urn:uuid:2b3e0c8e-1f0a-4a55-9d2c-7a8f0e1c0002"
    assert entry.published_at == datetime(2026, 10, 1, 5, 15, tzinfo=UTC)
    assert entry.updated_at == datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
    assert [tag.slug for tag in entry.tags] == ["insertion-par-l-activite-economique"]
    assert entry.author == "Service Observatoire"
    assert import_files(store, [DATA / "sample.atom"], "fr").counts.unchanged == 1


def test_unknown_file_type_and_unreadable_feed_are_clear_errors(tmp_path):
    with pytest.raises(PublisherError, match=r"unknown file type '\.csv'"):
        read_records(tmp_path / "a.csv", "fr")
    broken = tmp_path / "broken.rss"
    broken.write_text("ceci n'est pas un flux", encoding="utf-8")
    with pytest.raises(PublisherError, match="not a readable RSS or Atom feed"):
        list(read_records(broken, "fr"))


def test_record_error_formats_as_file_line_field_reason():
    assert str(RecordError("a.jsonl", 3, "url", "required")) == "a.jsonl:3: url: required"


def test_store_refuses_unmigrated_database(tmp_path):
    from publisher.errors import StoreError
    from publisher.store import Store

    sqlite3.connect(tmp_path / "x.db").close()
    with pytest.raises(StoreError, match="run `publisher init`"):
        Store.open(tmp_path / "x.db")
