"""`publisher feeds build`: which files, incremental rewrites, determinism, safety."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from support.apps import app_for
from support.articles import make_article, store_articles
from support.config import set_keys
from support.feedrules import check_feed_folder
from support.feeds import FEEDS_URL, copy_store, feed_files, snapshot, touched

from publisher.cycle import run_once
from publisher.demo import load_demo
from publisher.errors import PublisherError
from publisher.feeds import build as build_module
from publisher.feeds import build_feeds
from publisher.feeds import entries as entries_module
from publisher.feeds import files as files_module
from publisher.feeds.entries import Parallelism

PAGES = {"index.html", "index.opml"}


@pytest.fixture
def output(app):
    return app.config.feeds.output_dir


def rss_titles(path) -> list[str]:
    return [item.findtext("title") for item in etree.parse(str(path)).getroot().iter("item")]


def test_demo_build_writes_every_feed_and_every_file_passes_the_validator_rules(app, output, clock):
    load_demo(app)
    report = build_feeds(app)

    tag_slugs = [row[0] for row in app.store.conn.execute("SELECT slug FROM tags")]
    expected = feed_files("all") | PAGES
    for slug in tag_slugs:
        expected |= feed_files(f"tags/{slug}")
    assert set(snapshot(output)) == expected
    assert report.full and report.feeds == len(tag_slugs) + 1
    assert check_feed_folder(output, FEEDS_URL, clock.now()) == {}


def test_a_second_build_with_nothing_changed_rewrites_no_file(app, output):
    load_demo(app)
    build_feeds(app)
    before = snapshot(output)

    incremental = build_feeds(app)
    full = build_feeds(app, full=True)

    assert incremental.written == [] and incremental.rendered == 0
    assert full.written == [] and full.rendered == full.feeds and full.unchanged == 3 * full.feeds
    assert touched(before, snapshot(output)) == set()


def test_builds_of_the_same_store_are_byte_identical(app, output, config_file, clock, tmp_path):
    load_demo(app)
    build_feeds(app)
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(config_file, copy / "config.toml")
    set_keys(copy / "config.toml", "feeds", output_dir="other-feeds")
    copy_store(app.config.store.path, copy / "publisher.db")
    clock.advance(hours=5)  # a later build of the same articles: no "now" in any file
    other = app_for(copy / "config.toml", clock)
    try:
        build_feeds(other, full=True)
    finally:
        other.close()

    first = {name: state.data for name, state in snapshot(output).items()}
    second = {name: state.data for name, state in snapshot(copy / "other-feeds").items()}
    assert first == second


def test_one_new_article_rewrites_only_its_three_tag_feeds_and_the_site_feeds(app, output):
    store_articles(app.store, *(make_article(n, tags=(f"thème {n % 7}", f"bassin {n % 5}")) for n in range(40)))
    build_feeds(app)
    before = snapshot(output)

    store_articles(app.store, make_article(100, tags=("thème 1", "bassin 2", "apprentissage")))
    report = build_feeds(app)
    store_articles(app.store, make_article(101, tags=("thème 1", "bassin 2", "apprentissage")))
    after_first = snapshot(output)
    second = build_feeds(app)
    assert touched(after_first, snapshot(output)) == (
        feed_files("all") | feed_files("tags/theme-1") | feed_files("tags/bassin-2") | feed_files("tags/apprentissage")
    ) | {"index.html"}  # the page shows each feed's newest date; the OPML lists the same feeds
    assert second.rendered == 4

    changed = feed_files("all") | feed_files("tags/theme-1") | feed_files("tags/bassin-2")
    changed |= feed_files("tags/apprentissage") | {"index.html", "index.opml"}  # a new tag: a new outline
    assert touched(before, after_first) == changed
    assert not report.full and report.rendered == 4
    assert "Article n° 100 : « l'emploi » à Orléans" in rss_titles(output / "tags/apprentissage.rss.xml")


def test_an_older_article_outside_every_feed_rewrites_nothing(app, output, config_file, clock):
    set_keys(config_file, "feeds", items=3)
    app = app_for(config_file, clock)
    store_articles(app.store, *(make_article(n, tags=("emploi",)) for n in range(10, 20)))
    build_feeds(app)
    before = snapshot(output)

    store_articles(app.store, make_article(1, tags=("emploi",)))  # older than the 3 shown
    report = build_feeds(app)

    assert report.rendered == 0 and touched(before, snapshot(output)) == set()
    app.close()


def test_an_incremental_build_gives_the_same_files_as_a_full_build(app, output, config_file, clock, tmp_path):
    store_articles(app.store, *(make_article(n, tags=("emploi", f"bassin {n % 3}")) for n in range(30)))
    build_feeds(app)
    # New, edited, re-tagged, unpublished and deleted articles, then an incremental build.
    store_articles(
        app.store,
        make_article(50, tags=("emploi", "nouveau thème")),
        make_article(29, tags=("emploi",), title="Titre corrigé"),
        make_article(28, tags=("bassin 2",)),
        make_article(27, tags=("emploi", "bassin 0"), status="draft"),
    )
    with app.store.transaction() as conn:
        conn.execute("DELETE FROM articles WHERE guid = ?", (make_article(26).guid,))
    build_feeds(app)

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(config_file, fresh / "config.toml")
    set_keys(fresh / "config.toml", "feeds", output_dir=str(tmp_path / "fresh-feeds"))
    copy_store(app.config.store.path, fresh / "publisher.db")
    other = app_for(fresh / "config.toml", clock)
    build_feeds(other, full=True)
    other.close()
    assert {n: s.data for n, s in snapshot(output).items()} == {
        n: s.data for n, s in snapshot(tmp_path / "fresh-feeds").items()
    }


def test_drafts_and_future_articles_never_appear_and_unpublished_ones_disappear(app, output, clock):
    now = clock.now()
    store_articles(
        app.store,
        make_article(1, tags=("emploi",), title="Publié"),
        make_article(2, tags=("emploi",), title="Brouillon", status="draft"),
        make_article(3, tags=("emploi", "avenir"), title="Futur", published=now + timedelta(hours=2)),
    )
    build_feeds(app)
    assert rss_titles(output / "all.rss.xml") == ["Publié"]
    assert rss_titles(output / "tags/emploi.rss.xml") == ["Publié"]
    assert not (output / "tags/avenir.rss.xml").exists()
    assert "Brouillon" not in (output / "all.json").read_text() and "Futur" not in (output / "all.json").read_text()

    clock.advance(hours=3)  # the future article's time has come: no edit needed
    build_feeds(app)
    assert rss_titles(output / "all.rss.xml") == ["Futur", "Publié"]
    assert rss_titles(output / "tags/avenir.rss.xml") == ["Futur"]

    store_articles(app.store, make_article(1, tags=("emploi",), title="Publié", status="draft"))
    build_feeds(app)
    assert rss_titles(output / "all.rss.xml") == ["Futur"]
    assert rss_titles(output / "tags/emploi.rss.xml") == ["Futur"]


def test_an_article_that_leaves_a_tag_leaves_its_feed_and_an_empty_tag_feed_is_removed(app, output):
    store_articles(app.store, make_article(1, tags=("emploi", "rare")), make_article(2, tags=("emploi",)))
    build_feeds(app)
    assert (output / "tags/rare.rss.xml").exists()
    assert "tags/rare.rss.xml" in (output / "index.html").read_text()

    store_articles(app.store, make_article(1, tags=("emploi",)))
    report = build_feeds(app)

    assert set(report.removed) == feed_files("tags/rare")
    assert not (output / "tags/rare.rss.xml").exists()
    assert "tags/rare" not in (output / "index.html").read_text()
    assert "tags/rare" not in (output / "index.opml").read_text()


def test_a_deleted_article_disappears(app, output):
    store_articles(app.store, make_article(1, tags=("emploi",), title="Gardé"), make_article(2, tags=("emploi",)))
    build_feeds(app)
    with app.store.transaction() as conn:
        conn.execute("DELETE FROM articles WHERE guid = ?", (make_article(2).guid,))
    build_feeds(app)
    assert rss_titles(output / "tags/emploi.rss.xml") == ["Gardé"]


def test_a_renamed_tag_renames_its_feed_and_the_categories(app, output):
    store_articles(app.store, make_article(1, tags=("emploi", "btp")), make_article(2, tags=("emploi",)))
    build_feeds(app)
    with app.store.transaction() as conn:
        conn.execute("UPDATE tags SET name = 'BTP et travaux publics' WHERE slug = 'btp'")
    report = build_feeds(app)
    assert report.full and build_feeds(app).rendered == 0
    feed = json.loads((output / "tags/btp.json").read_text())
    assert feed["title"].endswith("BTP et travaux publics")
    assert json.loads((output / "tags/emploi.json").read_text())["items"][1]["tags"] == [
        "emploi",
        "BTP et travaux publics",
    ]


def test_feeds_show_the_newest_configured_number_of_articles(app, config_file, clock):
    set_keys(config_file, "feeds", items=3)
    app = app_for(config_file, clock)
    store_articles(app.store, *(make_article(n, tags=("emploi",)) for n in range(10)))
    build_feeds(app)
    output = app.config.feeds.output_dir
    assert [item["title"][:13] for item in json.loads((output / "all.json").read_text())["items"]] == [
        "Article n° 9 ",
        "Article n° 8 ",
        "Article n° 7 ",
    ]
    app.close()


def test_only_the_configured_formats_are_written_and_dropped_ones_are_removed(app, output, config_file, clock):
    store_articles(app.store, make_article(1, tags=("emploi",)))
    build_feeds(app)
    set_keys(config_file, "feeds", formats=["atom"])
    atom_only = app_for(config_file, clock)
    report = build_feeds(atom_only)
    atom_only.close()

    assert report.full  # a settings change renders every feed again
    assert set(snapshot(output)) == {"all.atom.xml", "tags/emploi.atom.xml"} | PAGES
    assert "all.rss.xml" not in (output / "index.html").read_text()


def test_a_deleted_feed_file_is_written_again_by_the_next_build(app, output):
    store_articles(app.store, make_article(1, tags=("emploi",)))
    build_feeds(app)
    original = (output / "tags/emploi.atom.xml").read_bytes()
    (output / "tags/emploi.atom.xml").unlink()

    report = build_feeds(app)

    assert report.written == ["tags/emploi.atom.xml"]
    assert (output / "tags/emploi.atom.xml").read_bytes() == original


def test_a_build_interrupted_midway_leaves_the_previous_files_whole(app, output, monkeypatch):
    store_articles(app.store, *(make_article(n, tags=("emploi", f"bassin {n % 4}")) for n in range(20)))
    build_feeds(app)
    before = snapshot(output)
    store_articles(
        app.store, *(make_article(n, tags=("emploi", f"bassin {n % 4}"), title="Modifié") for n in range(20))
    )

    real_replace = files_module.os.replace
    replaced = []

    def replace_then_fail(source, target):
        if len(replaced) == 4:
            raise KeyboardInterrupt  # the build is stopped while writing its fifth file
        replaced.append(target)
        real_replace(source, target)

    monkeypatch.setattr(files_module.os, "replace", replace_then_fail)
    with pytest.raises(KeyboardInterrupt):
        build_feeds(app)
    monkeypatch.undo()

    after = snapshot(output)
    assert not [name for name in after if name.endswith(".tmp")]
    assert set(after) == set(before)
    for name, state in after.items():  # each file is either the previous one or a complete new one
        if state.data != before[name].data:
            assert output / name in {target for target in map(type(output), replaced)}
            etree.fromstring(state.data) if name.endswith(".xml") else json.loads(state.data)

    report = build_feeds(app)  # the next build finishes the job
    assert not report.full
    assert all(title == "Modifié" for title in rss_titles(output / "all.rss.xml"))
    assert all(title == "Modifié" for title in rss_titles(output / "tags/bassin-3.rss.xml"))


def test_a_failing_render_changes_nothing_in_the_store(app, output, monkeypatch):
    store_articles(app.store, make_article(1, tags=("emploi",)))
    build_feeds(app)
    store_articles(app.store, make_article(2, tags=("emploi",)))

    def fail(*args):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(build_module.FeedRenderer, "feed", fail)
    with pytest.raises(RuntimeError):
        build_feeds(app)
    monkeypatch.undo()

    report = build_feeds(app)
    assert report.rendered == 2 and len(rss_titles(output / "all.rss.xml")) == 2


def test_temporary_files_left_by_a_killed_build_are_removed(app, output):
    store_articles(app.store, make_article(1, tags=("emploi",)))
    build_feeds(app)
    leftover = output / "tags" / ".emploi.rss.xml.4242.tmp"
    leftover.write_bytes(b"<rss")
    build_feeds(app)
    assert not leftover.exists()


def test_a_full_disk_is_one_clear_error(app, output, monkeypatch):
    store_articles(app.store, make_article(1, tags=("emploi",)))

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "replace", full_disk)
    # Feeds are written in parallel: whichever write fails first is the one reported.
    with pytest.raises(PublisherError) as raised:
        build_feeds(app)
    path, _, reason = str(raised.value).partition(": ")
    assert reason == "cannot write: No space left on device"
    assert Path(path).parent in (output, output / "tags") and Path(path).name.endswith((".xml", ".json"))
    assert not [path for path in output.rglob("*.tmp")]


def test_the_index_page_lists_every_tag_with_subscribe_links_and_escapes_names(app, output):
    store_articles(
        app.store,
        make_article(1, tags=("bassin d'emploi", 'R&D <b>"innovation"</b>')),
        make_article(2, tags=("égalité femmes-hommes",)),
    )
    build_feeds(app)
    page = (output / "index.html").read_text()

    import html5lib

    html5lib.HTMLParser(strict=True).parse(page)  # well-formed HTML5
    assert "<b>" not in page and "R&amp;D &lt;b&gt;&#34;innovation&#34;&lt;/b&gt;" in page
    for slug in ("bassin-d-emploi", "r-d-b-innovation-b", "egalite-femmes-hommes"):
        for suffix in (".rss.xml", ".atom.xml", ".json"):
            assert f'href="tags/{slug}{suffix}"' in page
    assert page.index("bassin d&#39;emploi") < page.index("égalité") < page.index("R&amp;D")  # French order
    assert 'lang="fr"' in page and "S’abonner" in page and "1er janvier 2026" in page
    assert '<link rel="alternate" type="application/rss+xml"' in page


def test_run_once_builds_the_feeds_first(app, output):
    store_articles(app.store, make_article(1, tags=("emploi",)))
    results = run_once(app)
    assert results[0].name == "feeds" and "2 feeds" in results[0].summary
    assert (output / "all.rss.xml").exists()


def test_rendering_in_worker_processes_gives_the_same_files(app, output, config_file, clock, tmp_path, monkeypatch):
    load_demo(app)
    build_feeds(app)
    pools = []
    start_pool = entries_module.EntryRenderer._start
    monkeypatch.setattr(entries_module.EntryRenderer, "_start", lambda self: pools.append(self) or start_pool(self))
    parallel = tmp_path / "parallel"
    parallel.mkdir()
    shutil.copy(config_file, parallel / "config.toml")
    set_keys(parallel / "config.toml", "feeds", output_dir="feeds")
    copy_store(app.config.store.path, parallel / "publisher.db")
    other = app_for(parallel / "config.toml", clock)
    try:
        build_feeds(other, full=True, parallelism=Parallelism(from_entries=1, workers=2, articles_per_task=7))
    finally:
        other.close()
    assert pools and pools[0].workers == 2
    assert {n: s.data for n, s in snapshot(output).items()} == {
        n: s.data for n, s in snapshot(parallel / "feeds").items()
    }


def test_the_index_pages_are_rewritten_when_the_list_changes_and_restored_when_deleted(app, output):
    store_articles(app.store, make_article(1, tags=("emploi",)))
    build_feeds(app)
    (output / "index.html").unlink()
    assert set(build_feeds(app).written) == {"index.html"}
    assert build_feeds(app).written == []  # nothing changed: the pages are not even rendered
    store_articles(app.store, make_article(2, tags=("bassin",)))
    assert {"index.html", "index.opml"} <= set(build_feeds(app).written)
    assert "tags/bassin.rss.xml" in (output / "index.html").read_text()


def test_a_store_locked_by_another_writer_is_a_one_line_error(app, config_file, clock):
    store_articles(app.store, make_article(1, tags=("emploi",)))
    other = app_for(config_file, clock)
    other.store.conn.execute("PRAGMA busy_timeout = 50")
    busy = pytest.raises(PublisherError, match="the store is busy with another write")
    with app.store.transaction(), busy:  # another command holds the write lock
        build_feeds(other)
    other.close()


def test_the_index_page_writes_the_first_day_of_a_month_the_french_way(app, output):
    first = datetime.fromisoformat("2026-11-01T09:00:00+01:00")
    store_articles(app.store, make_article(1, ("apprentissage",), published=first))
    build_feeds(app)
    page = (output / "index.html").read_text(encoding="utf-8")
    assert "1er novembre 2026" in page and ">1 novembre" not in page


def test_a_full_build_rewrites_index_pages_that_differ(app, output):
    store_articles(app.store, make_article(1, ("apprentissage",)))
    build_feeds(app)
    page = (output / "index.html").read_bytes()
    (output / "index.html").write_text("stale", encoding="utf-8")  # e.g. rendered by an older version
    assert "index.html" not in build_feeds(app).written  # an incremental build trusts it…
    assert "index.html" in build_feeds(app, full=True).written  # …a full one renders it again
    assert (output / "index.html").read_bytes() == page
