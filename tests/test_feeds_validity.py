"""Every feed is valid (W3C validator rules, JSON Feed schema), readable by feedparser, and
says exactly what the store says — even for hostile content."""

from __future__ import annotations

import calendar
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from feedgen.feed import FeedGenerator
from lxml import etree
from support.articles import SITE, make_article, store_articles
from support.feedrules import check_atom, check_feed_folder, check_json_feed, check_rss
from support.feeds import FEEDS_URL

from publisher.feeds import build_feeds
from publisher.feeds.render import FeedRenderer, _feed_entry
from publisher.feeds.settings import FeedSettings

HOSTILE_TITLE = "Les <BTS> & CAP : 1 < 2 🎓 « R&D » d’Orléans"
HOSTILE_HTML = (
    "<p onclick=\"steal()\">Texte <b>non fermé <i>du tout<div style='position:fixed'>bloc"
    "<script>alert('x')</script><iframe src='https://evil.example/'></iframe>"
    "<object data='x.swf'></object><a href=\"javascript:alert(1)\">piège</a>"
    '<img src="images/carte.png" onerror="alert(2)" alt="Carte"> <a href="/agenda?mois=9&amp;an=2026">agenda</a>'
    '<a href="#suite">suite</a><a href="//cdn.example.org/doc.pdf">doc</a>'
    "\x00\x01\x08\x0b\x0c\x1f\x7f\x85\ufffe contrôle\u200b 🎉 <style>body{display:none}</style>"
    "<form action='/x'><input name=a></form><svg><script>x</script></svg><!-- commentaire --></p><p>Fin"
)


@pytest.fixture
def output(app):
    return app.config.feeds.output_dir


def parsed(path):
    result = feedparser.parse(path.read_bytes())
    assert result.bozo == 0, f"{path.name}: {result.get('bozo_exception')}"
    return result


def test_hostile_content_still_gives_valid_feeds(app, output, clock):
    big = "<p>" + "Un paragraphe d'actualité emploi-formation. " * 24_000 + "</p>"  # about 1 MB
    store_articles(
        app.store,
        make_article(
            1,
            tags=("bassin d'emploi", "R&D <innovation>"),
            title=HOSTILE_TITLE,
            content_html=HOSTILE_HTML,
            image_url=f"{SITE}/medias/carte régionale.jpg",
            author="Service <Observatoire> & Cie",
        ),
        make_article(2, tags=("bassin d'emploi",), title="Article d'un méga-octet", content_html=big, summary=""),
        make_article(3, tags=("bassin d'emploi",), title="Sans contenu", content_html="", summary="Rien à lire\x07."),
    )
    build_feeds(app)

    assert check_feed_folder(output, FEEDS_URL, clock.now()) == {}
    rss = (output / "all.rss.xml").read_bytes()
    for dangerous in (
        b"<script",
        b"&lt;script",
        b"onclick",
        b"onerror",
        b"javascript:",
        b"iframe",
        b"<object",
        b"&lt;object",
        b"position:fixed",
        b"&lt;form",
        b"steal()",
        b"commentaire",
    ):
        assert dangerous not in rss, dangerous
    assert b"https://www.horizons-emploi.example.org/actualites/images/carte.png" in rss
    assert b"https://www.horizons-emploi.example.org/agenda?mois=9&amp;amp;an=2026" in rss
    assert b"https://www.horizons-emploi.example.org/actualites/1#suite" in rss
    assert b"https://cdn.example.org/doc.pdf" in rss
    assert b"carte%20r%C3%A9gionale.jpg" in rss
    item = {entry.title: entry for entry in parsed(output / "all.rss.xml").entries}
    assert HOSTILE_TITLE in item
    assert (
        "\x00" not in item[HOSTILE_TITLE].content[0].value
        and "contrôle\u200b 🎉" in item[HOSTILE_TITLE].content[0].value
    )
    assert item["Sans contenu"].summary == "Rien à lire."
    assert len(item["Article d'un méga-octet"].content[0].value) > 1_000_000
    assert (
        item["Article d'un méga-octet"].summary.startswith("Un paragraphe d'actualité")
        and len(item["Article d'un méga-octet"].summary) <= 300
    )


def test_feedparser_reads_every_format_back_exactly(app, output):
    article = make_article(
        7,
        tags=("bassin d'emploi", "actualité emploi-formation", "œuvre & manœuvre"),
        title=HOSTILE_TITLE,
        summary="Les employeurs tourangeaux déclarent des difficultés : « tensions » & <pénuries>.",
        published=datetime(2026, 8, 24, 7, 30, tzinfo=UTC),
        updated_at=datetime(2026, 8, 25, 16, 5, tzinfo=UTC),
        image_url=f"{SITE}/medias/bassin.jpg",
        author="Julien Marchand",
    )
    store_articles(app.store, article)
    build_feeds(app)

    for name in ("all.rss.xml", "all.atom.xml", "tags/bassin-d-emploi.rss.xml", "tags/bassin-d-emploi.atom.xml"):
        feed = parsed(output / name)
        entry = feed.entries[0]
        assert entry.title == HOSTILE_TITLE, name
        assert entry.link == article.url, name
        assert entry.id == article.guid, name
        assert calendar.timegm(entry.published_parsed) == article.published_at.timestamp(), name
        assert [tag.term for tag in entry.tags] == ["bassin d'emploi", "actualité emploi-formation", "œuvre & manœuvre"]
        assert entry.author == "Julien Marchand", name
        assert "Contenu de l'article <strong>7</strong>." in entry.content[0].value, name
        assert feed.feed.language == "fr", name
        assert feed.feed.title.startswith("Horizons Emploi-Formation"), name
    atom = parsed(output / "all.atom.xml").entries[0]
    assert calendar.timegm(atom.updated_parsed) == article.updated_at.timestamp()
    assert atom.media_content[0]["url"] == article.image_url
    rss = parsed(output / "all.rss.xml").entries[0]
    assert rss.summary == "Les employeurs tourangeaux déclarent des difficultés : « tensions » &amp; &lt;pénuries&gt;."
    # feedparser 6.0 reads no JSON Feed: check the JSON values themselves.
    json_item = json.loads((output / "all.json").read_text())["items"][0]
    assert (json_item["id"], json_item["url"], json_item["title"]) == (article.guid, article.url, HOSTILE_TITLE)
    assert json_item["tags"] == ["bassin d'emploi", "actualité emploi-formation", "œuvre & manœuvre"]
    assert json_item["authors"] == [{"name": "Julien Marchand"}]
    assert json_item["summary"] == article.summary and json_item["image"] == article.image_url
    assert datetime.fromisoformat(json_item["date_modified"]) == article.updated_at
    assert json_item["date_published"] == "2026-08-24T09:30:00+02:00"  # site time zone, RFC 3339
    assert b"<pubDate>Mon, 24 Aug 2026 09:30:00 +0200</pubDate>" in (output / "all.rss.xml").read_bytes()


def test_feed_links_point_at_the_feed_itself_and_at_the_site_or_tag_page(app, output):
    store_articles(app.store, make_article(1, tags=("bassin d'emploi",)))
    build_feeds(app)
    for name, page in (("all", f"{SITE}/"), ("tags/bassin-d-emploi", f"{SITE}/tags/bassin-d-emploi")):
        rss = parsed(output / f"{name}.rss.xml").feed
        atom = parsed(output / f"{name}.atom.xml").feed
        feed_json = json.loads((output / f"{name}.json").read_text())
        assert rss.link == page and atom.link == page and feed_json["home_page_url"] == page
        assert {link.href for link in atom.links if link.rel == "self"} == {f"{FEEDS_URL}/{name}.atom.xml"}
        assert {link.href for link in rss.links if link.rel == "self"} == {f"{FEEDS_URL}/{name}.rss.xml"}
        assert feed_json["feed_url"] == f"{FEEDS_URL}/{name}.json"


def test_a_feed_is_as_new_as_its_newest_article_never_the_build_time(app, output, clock):
    store_articles(
        app.store,
        make_article(1, published=datetime(2026, 3, 1, 9, tzinfo=UTC)),
        make_article(2, published=datetime(2026, 3, 2, 9, tzinfo=UTC), updated_at=datetime(2026, 3, 5, 12, tzinfo=UTC)),
        # an edit time in the future is not believable: the publication time stands
        make_article(3, published=datetime(2026, 2, 1, 9, tzinfo=UTC), updated_at=clock.now() + timedelta(days=30)),
    )
    build_feeds(app)
    rss = etree.parse(str(output / "all.rss.xml")).getroot()
    assert rss.findtext("channel/lastBuildDate") == "Thu, 05 Mar 2026 13:00:00 +0100"
    atom = etree.parse(str(output / "all.atom.xml")).getroot()
    assert atom.findtext("{http://www.w3.org/2005/Atom}updated") == "2026-03-05T13:00:00+01:00"
    updated = [entry.findtext("{http://www.w3.org/2005/Atom}updated") for entry in atom.iter("{*}entry")]
    assert updated == ["2026-03-05T13:00:00+01:00", "2026-03-01T10:00:00+01:00", "2026-02-01T10:00:00+01:00"]


def test_entry_ids_are_stable_uris_that_survive_edits_and_re_tagging(app, output):
    store_articles(app.store, make_article(1, tags=("emploi",), guid="cms-article-1842"))
    build_feeds(app)
    first = json.loads((output / "all.json").read_text())["items"][0]["id"]
    store_articles(
        app.store,
        make_article(
            1,
            tags=("apprentissage",),
            guid="cms-article-1842",
            title="Nouveau titre",
            url=f"{SITE}/actualites/nouvelle-adresse",
        ),
    )
    build_feeds(app)
    second = json.loads((output / "all.json").read_text())["items"][0]
    assert second["id"] == first and first.startswith("urn:uuid:")
    assert second["url"] == f"{SITE}/actualites/nouvelle-adresse"
    assert parsed(output / "all.atom.xml").entries[0].id == first
    guid = etree.parse(str(output / "all.rss.xml")).getroot().find("channel/item/guid")
    assert guid.text == first and guid.get("isPermaLink") == "false"


def test_json_feeds_follow_the_json_feed_1_1_schema(app, output, clock):
    store_articles(app.store, make_article(1, tags=("emploi",)), make_article(2, content_html="", image_url=None))
    build_feeds(app)
    feed = json.loads((output / "all.json").read_text())
    assert check_json_feed((output / "all.json").read_bytes(), f"{FEEDS_URL}/all.json", clock.now()) == []
    assert feed["items"][0]["content_text"] == "Résumé de l'article 2." and "content_html" not in feed["items"][0]
    assert feed["authors"] == [{"name": "Horizons Emploi-Formation", "url": f"{SITE}/"}]


def test_the_local_validator_rules_catch_what_feedgen_does_by_default(clock):
    """The checks of tests/support/feedrules.py are not vacuous: a plain feedgen feed fails them."""
    generator = FeedGenerator()
    generator.id("urn:exemple")
    generator.title("Flux <b>naïf</b>")
    generator.link(href="https://exemple.fr/")
    generator.description("Un flux")
    generator.language("fr_FR")
    entry = generator.add_entry()
    entry.title("Titre")
    entry.link(href="https://exemple.fr/a")
    entry.description('<p onclick="x()">Lire <a href="/suite">la suite</a><script>x()</script></p>')
    entry.pubDate(clock.now() + timedelta(days=2))
    now = clock.now()
    rss_problems = " ".join(check_rss(generator.rss_str(), "https://exemple.fr/flux.rss", now))
    entry.id("article 1")  # Atom needs an id, and this one is not a URI
    atom_problems = " ".join(check_atom(generator.atom_str(), "https://exemple.fr/flux.atom", now))
    for expected in (
        "MissingAtomSelfLink",
        "InvalidLanguage",
        "MissingGuid",
        "ContainsRelRef",
        "SecurityRisk",
        "SecurityRiskAttr",
        "ImplausibleDate",
        "ContainsHTML",
    ):
        assert expected in rss_problems, expected
    for expected in ("MissingSelf", "MissingAuthor", "InvalidFullLink"):
        assert expected in atom_problems, expected


def test_feeds_are_exactly_what_feedgen_writes_with_add_entry(config, clock):
    """Entries are rendered once and spliced into each feed; the bytes must be feedgen's own."""
    settings = FeedSettings.from_config(config)
    renderer = FeedRenderer(settings, clock.now())
    articles = [
        make_article(n, tags=("emploi", "bassin d'emploi"), id=n, image_url=f"{SITE}/m/{n}.png", title=HOSTILE_TITLE)
        for n in range(1, 4)
    ]
    channel = settings.tag_channel(articles[0].tags[1])
    documents = renderer.feed(channel, [renderer.entry(article) for article in articles])

    for fmt in ("rss", "atom"):
        head = renderer._head(channel, fmt, max(article.updated_at for article in articles))
        generator = _generator_like(renderer, channel, fmt, articles)
        reference = generator.rss_str() if fmt == "rss" else generator.atom_str()
        assert etree.tostring(etree.fromstring(documents[fmt]), method="c14n") == etree.tostring(
            etree.fromstring(reference), method="c14n"
        ), fmt
        assert head.split(b">", 2)[:2] == documents[fmt].split(b">", 2)[:2]


def _generator_like(renderer, channel, fmt, articles) -> FeedGenerator:
    """feedgen's own feed for these articles: the same head, entries added with add_entry."""
    from feedgen.ext.dc import DcEntryExtension, DcExtension
    from feedgen.ext.media import MediaEntryExtension, MediaExtension

    settings = renderer.settings
    generator = FeedGenerator()
    generator.register_extension("media", MediaExtension, MediaEntryExtension)
    generator.register_extension("dc", DcExtension, DcEntryExtension, atom=False)
    self_url = settings.url(settings.file_name(channel.name, fmt))
    generator.id(self_url)
    generator.title(channel.title)
    generator.description(channel.description)
    generator.link(href=self_url, rel="self", type="application/rss+xml" if fmt == "rss" else "application/atom+xml")
    generator.link(href=channel.page_url, rel="alternate", type="text/html")
    generator.language("fr")
    generator.author(name=settings.site_title, uri=settings.site_url + "/")
    generator.generator("publisher")
    generator.updated(max(article.updated_at for article in articles).astimezone(settings.tz))
    generator.ttl(settings.ttl_minutes)
    for article in articles:
        generator.add_entry(_feed_entry(renderer._entry_fields(article)), order="append")
    return generator


@pytest.mark.parametrize("hub", [None, "https://hub.example.org/"])
def test_spliced_feeds_are_the_bytes_of_feedgens_add_entry(config, clock, hub):
    """The fast path (entries serialised once, spliced into each feed's head) against the
    library path: the same FeedGenerator, add_entry for each entry, rss_str/atom_str."""
    settings = FeedSettings.from_config(config)
    if hub:
        settings = dataclasses.replace(settings, hub=hub)
    articles = [
        make_article(n, tags=("emploi", "bassin d'emploi"), id=n, image_url=f"{SITE}/m/{n}.png") for n in range(1, 5)
    ] + [make_article(5, tags=("emploi",), id=5, content_html="", author="")]
    fast = FeedRenderer(settings, clock.now())
    library = FeedRenderer(settings, clock.now())
    channel = settings.tag_channel(articles[0].tags[0])
    documents = fast.feed(channel, [fast.entry(article) for article in articles])
    for fmt in ("rss", "atom"):
        library._head(channel, fmt, max(article.updated_at for article in articles))
        generator = library._generators[fmt]
        for article in articles:
            generator.add_entry(_feed_entry(library._entry_fields(article)), order="append")
        reference = generator.rss_str() if fmt == "rss" else generator.atom_str()
        assert documents[fmt] == reference + b"\n", fmt
