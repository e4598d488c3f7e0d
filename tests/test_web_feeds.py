"""Feeds over real HTTP: content types, strong ETag, Last-Modified, Cache-Control, 304s, gzip, no traversal."""

import gzip
import http.client
import os
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import httpx
import pytest
from support.webserver import served, web_app

RSS = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Apprentissage</title>'
    + ("<item><title>Offre d’apprentissage « travaux publics »</title></item>" * 40)
    + "</channel></rss>\n"
)


@pytest.fixture
def feeds_dir(config):
    root = config.feeds.output_dir
    (root / "tags").mkdir(parents=True)
    (root / "tags" / "apprentissage.rss.xml").write_text(RSS, encoding="utf-8")
    (root / "tags" / "apprentissage.atom.xml").write_text('<feed xmlns="http://www.w3.org/2005/Atom"/>')
    (root / "tags" / "apprentissage.json").write_text('{"version": "https://jsonfeed.org/version/1.1"}')
    (root / "index.opml").write_text('<opml version="2.0"/>')
    (root / "index.html").write_text('<!doctype html><html lang="fr"><title>Flux</title></html>')
    (root / ".secret.json").write_text("{}")
    (root.parent / "config.json").write_text("{}")
    os.symlink(root.parent / "config.json", root / "outside.json")
    return root


@pytest.fixture
def base_url(app, feeds_dir):
    with served(web_app(app)) as url:
        yield url


@pytest.fixture
def web(base_url):
    with httpx.Client(base_url=base_url) as client:
        yield client


def test_each_format_has_its_content_type(web):
    expected = {
        "/feeds/tags/apprentissage.rss.xml": "application/rss+xml; charset=utf-8",
        "/feeds/tags/apprentissage.atom.xml": "application/atom+xml; charset=utf-8",
        "/feeds/tags/apprentissage.json": "application/feed+json; charset=utf-8",
        "/feeds/index.opml": "text/x-opml; charset=utf-8",
        "/feeds/": "text/html; charset=utf-8",
    }
    for path, content_type in expected.items():
        response = web.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == content_type


def test_feed_has_caching_headers_and_answers_304_to_if_none_match(web):
    url = "/feeds/tags/apprentissage.rss.xml"
    first = web.get(url, headers={"accept-encoding": "identity"})
    assert first.text == RSS
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert first.headers["cache-control"] == "public, max-age=300"
    assert first.headers["last-modified"].endswith(" GMT")
    again = web.get(url, headers={"if-none-match": etag, "accept-encoding": "identity"})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak_list = {"if-none-match": f'"other", W/{etag}', "accept-encoding": "identity"}
    assert web.get(url, headers=weak_list).status_code == 304
    assert web.get(url, headers={"if-none-match": '"other"', "accept-encoding": "identity"}).status_code == 200


def test_if_modified_since(web):
    url = "/feeds/tags/apprentissage.rss.xml"
    last_modified = web.get(url).headers["last-modified"]
    assert web.get(url, headers={"if-modified-since": last_modified}).status_code == 304
    earlier = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert web.get(url, headers={"if-modified-since": earlier}).status_code == 200
    assert web.get(url, headers={"if-modified-since": "not a date"}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    both = {"if-none-match": '"stale"', "if-modified-since": last_modified}
    assert web.get(url, headers=both).status_code == 200


def test_a_changed_feed_gets_a_new_etag(web, feeds_dir):
    url = "/feeds/tags/apprentissage.rss.xml"
    etag = web.get(url).headers["etag"]
    path = feeds_dir / "tags" / "apprentissage.rss.xml"
    path.write_text(RSS.replace("Apprentissage", "Apprentissage et alternance"), encoding="utf-8")
    os.utime(path, (1_900_000_000, 1_900_000_000))
    response = web.get(url, headers={"if-none-match": etag})
    assert response.status_code == 200
    assert "alternance" in response.text
    assert response.headers["etag"] != etag


def test_gzip_has_its_own_strong_etag(base_url, web):
    url = "/feeds/tags/apprentissage.rss.xml"
    plain = web.get(url, headers={"accept-encoding": "identity"})
    with httpx.Client(base_url=base_url, headers={"accept-encoding": "gzip"}) as client:
        zipped = client.get(url)
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["vary"] == "Accept-Encoding"
        assert zipped.text == RSS  # httpx decoded it
        assert zipped.headers["etag"] != plain.headers["etag"]
        assert int(zipped.headers["content-length"]) < len(RSS.encode())
        assert client.get(url, headers={"if-none-match": zipped.headers["etag"]}).status_code == 304
    raw = http.client.HTTPConnection(*urlsplit(base_url).netloc.split(":"))
    raw.request("GET", "/feeds/tags/apprentissage.rss.xml", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(raw.getresponse().read()).decode() == RSS


def test_head_has_headers_and_no_body(web):
    response = web.head("/feeds/tags/apprentissage.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/../config.toml",
        "/feeds/..%2fconfig.toml",
        "/feeds/%2e%2e/config.toml",
        "/feeds/tags/..%2F..%2Fconfig.toml",
        "/feeds/.secret.json",
        "/feeds/outside.json",
        "/feeds//etc/passwd",
        "/feeds/tags/apprentissage.rss.xml%00.json",
        "/feeds/tags/missing.rss.xml",
        "/feeds/tags/",
    ],
)
def test_nothing_outside_the_feeds_is_served(base_url, path):
    connection = http.client.HTTPConnection(*urlsplit(base_url).netloc.split(":"))
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status in (400, 404)
    assert "[site]" not in body and "root:" not in body


def test_feeds_without_trailing_slash_redirect_inside_the_site(web):
    response = web.get("/feeds")
    assert response.status_code == 308
    assert response.headers["location"] == "/feeds/"
