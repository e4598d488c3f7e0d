"""Article text made safe for feeds: sanitised HTML, absolute URIs, XML-safe characters."""

from __future__ import annotations

import pytest
from support.feedrules import check_html

from publisher.feeds.content import HtmlCleaner, absolute_uri, as_uri, excerpt, html_to_text, plain_text, xml_text

ARTICLE = "https://www.horizons-emploi.example.org/actualites/2026/09/apprentissage"


@pytest.fixture(scope="module")
def cleaner():
    return HtmlCleaner()


def test_formatting_is_kept(cleaner):
    html = (
        "<h2>Chiffres</h2><p>Le <strong>bassin</strong> <em>de Tours</em> : <abbr title='Institut'>INSEE</abbr></p>"
        "<ul><li>un</li></ul><ol start='3'><li>trois</li></ol><blockquote><p>« Citation »</p></blockquote>"
        "<table><thead><tr><th scope='col'>Bassin</th></tr></thead><tbody><tr><td colspan='2'>Tours</td></tr></tbody>"
        "</table><figure><img src='https://cdn.example.org/a.png' alt='Graphique' width='600'><figcaption>Source"
        "</figcaption></figure><pre><code>code</code></pre>"
    )
    cleaned = cleaner.clean(html, ARTICLE)
    for kept in (
        "<h2>",
        "<strong>",
        "<em>",
        '<abbr title="Institut">',
        '<ol start="3">',
        "<blockquote>",
        '<th scope="col">',
        '<td colspan="2">',
        'alt="Graphique"',
        "<figcaption>",
        "<pre><code>",
    ):
        assert kept in cleaned, kept
    assert check_html(cleaned, "content") == []


@pytest.mark.parametrize(
    "dangerous",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        "<iframe src='https://evil.example/'></iframe>",
        "<object data='x.swf'></object><embed src='x.swf'>",
        "<style>p{display:none}</style>",
        "<p style='background:url(javascript:alert(1))'>x</p>",
        "<svg onload=alert(1)><circle/></svg>",
        "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
        "<form action='https://evil.example/'><input name=password></form>",
        "<base href='https://evil.example/'><link rel=stylesheet href=x.css><meta http-equiv=refresh content=0>",
    ],
)
def test_dangerous_markup_is_removed(cleaner, dangerous):
    cleaned = cleaner.clean(f"<p>avant</p>{dangerous}<p>après</p>", ARTICLE)
    assert check_html(cleaned, "content") == []
    lowered = cleaned.lower()
    for marker in ("script", "alert", "javascript", "iframe", "onerror", "onload", "style", "data:", "evil"):
        assert marker not in lowered, (marker, cleaned)
    assert "avant" in cleaned and "après" in cleaned


def test_broken_html_is_repaired(cleaner):
    cleaned = cleaner.clean("<p>un <b>gras <i>italique</p><div>bloc<p>paragraphe</b> &amp & < > fin", ARTICLE)
    assert check_html(cleaned, "content") == []
    assert html_to_text(cleaned) == "un gras italique bloc paragraphe & & < > fin"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("images/carte.png", "https://www.horizons-emploi.example.org/actualites/2026/09/images/carte.png"),
        ("/medias/carte.png", "https://www.horizons-emploi.example.org/medias/carte.png"),
        ("../08/article", "https://www.horizons-emploi.example.org/actualites/2026/08/article"),
        ("//cdn.example.org/doc.pdf", "https://cdn.example.org/doc.pdf"),
        ("#suite", f"{ARTICLE}#suite"),
        ("?page=2", f"{ARTICLE}?page=2"),
        ("https://autre.example.org/x", "https://autre.example.org/x"),
        ("mailto:contact@exemple.fr", "mailto:contact@exemple.fr"),
        (
            "/médias/carte régionale.jpg",
            "https://www.horizons-emploi.example.org/m%C3%A9dias/carte%20r%C3%A9gionale.jpg",
        ),
        ("https://exemple.fr/a%20b", "https://exemple.fr/a%20b"),
        ("https://bücher.example/é", "https://xn--bcher-kva.example/%C3%A9"),
        ("javascript:alert(1)", None),
        ("ftp://exemple.fr/fichier", None),
        ("http://[::1", None),
    ],
)
def test_links_are_resolved_against_the_article_url(reference, expected):
    assert absolute_uri(reference, ARTICLE) == expected


def test_relative_links_and_images_become_absolute_in_content(cleaner):
    cleaned = cleaner.clean('<a href="/agenda">agenda</a> <img src="carte.png" alt="">', ARTICLE)
    assert 'href="https://www.horizons-emploi.example.org/agenda"' in cleaned
    assert 'src="https://www.horizons-emploi.example.org/actualites/2026/09/carte.png"' in cleaned
    assert check_html(cleaned, "content") == []


def test_characters_xml_refuses_are_removed():
    assert (
        xml_text("a\x00b\x08c\x0bd\x0ce\x1ff\x7fg\x85h\ud800i\ufffej\uffffk\ufffdl\tm\nn\ro") == "abcdefghijkl\tm\nn\ro"
    )
    assert plain_text("  Titre\x01 sur\n deux   lignes ") == "Titre sur deux lignes"
    assert xml_text("émoji 🎓 « guillemets » œ’") == "émoji 🎓 « guillemets » œ’"


def test_as_uri_keeps_plain_uris_and_encodes_the_rest():
    assert as_uri("https://www.exemple.fr/a?b=1&c=2#d") == "https://www.exemple.fr/a?b=1&c=2#d"
    assert as_uri("HTTPS://Exemple.fr:8443/à voir") == "https://exemple.fr:8443/%C3%A0%20voir"


def test_excerpt_cuts_at_a_word_with_an_ellipsis():
    text = "Les derniers chiffres consolidés par notre observatoire confirment la tendance " * 10
    cut = excerpt(text.strip(), 60)
    assert len(cut) <= 60 and cut.endswith("…") and not cut.endswith(" …")
    assert excerpt("Court.", 60) == "Court."
