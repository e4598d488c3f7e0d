"""WebSub: feeds declare the hub, changed feeds are announced, a hub that is down is retried."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from lxml import etree
from support.apps import app_for
from support.articles import make_article, store_articles
from support.config import set_keys
from support.feedrules import check_feed_folder
from support.feeds import FEEDS_URL, feed_files

from publisher.feeds import build as build_module
from publisher.feeds import build_feeds
from publisher.store.feeds import pending_pings


class Hub:
    """A WebSub hub on 127.0.0.1 that records publish notifications (or answers an error)."""

    def __init__(self) -> None:
        self.requests: list[list[tuple[str, str]]] = []
        self.status = 204
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hub.requests.append(parse_qsl(self.rfile.read(length).decode()))
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def topics(self) -> set[str]:
        return {value for request in self.requests for key, value in request if key == "hub.url"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub():
    hub = Hub()
    yield hub
    hub.close()


@pytest.fixture
def hub_app(config_file, clock, hub, app):  # app: migrates the store
    set_keys(config_file, "feeds", websub_hub=hub.url)
    hub_app = app_for(config_file, clock)
    yield hub_app
    hub_app.close()


def urls(*names: str) -> set[str]:
    return {f"{FEEDS_URL}/{file}" for name in names for file in feed_files(name)}


def test_feeds_declare_the_hub_in_every_format(hub_app, hub, clock):
    store_articles(hub_app.store, make_article(1, tags=("emploi",)))
    build_feeds(hub_app)
    output = hub_app.config.feeds.output_dir
    assert check_feed_folder(output, FEEDS_URL, clock.now(), hub=hub.url) == {}
    rss = etree.parse(str(output / "all.rss.xml")).getroot()
    assert rss.find("channel/{http://www.w3.org/2005/Atom}link[@rel='hub']").get("href") == hub.url
    atom = etree.parse(str(output / "tags/emploi.atom.xml")).getroot()
    assert atom.find("{http://www.w3.org/2005/Atom}link[@rel='hub']").get("href") == hub.url
    assert json.loads((output / "all.json").read_text())["hubs"] == [{"type": "WebSub", "url": hub.url}]


def test_changed_feeds_are_announced_to_the_hub_and_unchanged_ones_are_not(hub_app, hub):
    store_articles(hub_app.store, make_article(1, tags=("emploi",)), make_article(2, tags=("bassin",)))
    report = build_feeds(hub_app)
    assert all(("hub.mode", "publish") in request for request in hub.requests)
    assert hub.topics() == urls("all", "tags/emploi", "tags/bassin")
    assert report.pings.sent == 9 and "WebSub: 9 announced" in report.summary()

    hub.requests.clear()
    build_feeds(hub_app)
    assert hub.requests == []

    store_articles(hub_app.store, make_article(3, tags=("emploi",)))
    build_feeds(hub_app)
    assert hub.topics() == urls("all", "tags/emploi")


def test_a_hub_that_is_down_never_fails_the_build_and_is_retried_next_time(hub_app, hub, caplog):
    store_articles(hub_app.store, make_article(1, tags=("emploi",)))
    hub.status = 503
    report = build_feeds(hub_app)

    assert (hub_app.config.feeds.output_dir / "all.rss.xml").exists()
    assert report.pings.sent == 0 and report.pings.pending == 6
    assert "6 pending (hub: HTTP 503" in report.summary()
    assert "WebSub hub" in caplog.text and "queued for the next build" in caplog.text
    assert set(pending_pings(hub_app.store)) == urls("all", "tags/emploi")

    hub.status = 204
    hub.requests.clear()
    report = build_feeds(hub_app)  # nothing changed, but the queue is sent
    assert report.rendered == 0
    assert hub.topics() == urls("all", "tags/emploi")
    assert pending_pings(hub_app.store) == []


def test_an_unreachable_hub_is_reported_and_the_urls_kept(config_file, clock, app):
    set_keys(config_file, "feeds", websub_hub="http://127.0.0.1:9/hub")  # the discard port: nothing listens
    unreachable = app_for(config_file, clock)
    store_articles(unreachable.store, make_article(1))
    report = build_feeds(unreachable)
    assert report.pings.pending == 3 and "unreachable" in report.pings.error
    assert len(pending_pings(unreachable.store)) == 3
    unreachable.close()


def test_many_changed_feeds_are_announced_in_batches(hub_app, hub):
    store_articles(hub_app.store, *(make_article(n, tags=(f"thème {n}",)) for n in range(40)))
    build_feeds(hub_app)
    assert len(hub.topics()) == 3 * 41
    assert len(hub.requests) == 2  # 100 topics per request


def test_a_settings_change_that_changes_no_file_announces_nothing(hub_app, hub, config_file, clock):
    store_articles(hub_app.store, make_article(1, tags=("emploi",)))
    build_feeds(hub_app)
    hub.requests.clear()
    set_keys(config_file, "feeds", rebuild_minutes=10, output_dir="feeds")  # same values, reordered file
    with hub_app.store.transaction() as conn:
        conn.execute("UPDATE feed_state SET value = 'older' WHERE key = 'settings'")  # as after an upgrade
    report = build_feeds(hub_app)
    assert report.full and report.written == [] and hub.requests == []


def test_feeds_rewritten_by_a_build_that_then_failed_are_still_announced(hub_app, hub, monkeypatch):
    store_articles(hub_app.store, make_article(1, tags=("emploi",)))
    build_feeds(hub_app)
    store_articles(hub_app.store, make_article(2, tags=("emploi",)))
    hub.requests.clear()

    def fail(self, full):
        raise RuntimeError("stopped after writing the feeds")

    monkeypatch.setattr(build_module._Build, "_write_pages", fail)
    with pytest.raises(RuntimeError):
        build_feeds(hub_app)
    monkeypatch.undo()
    assert hub.requests == []

    report = build_feeds(hub_app)
    assert report.written == ["index.html"]  # the feeds were already rewritten
    assert hub.topics() == urls("all", "tags/emploi")
