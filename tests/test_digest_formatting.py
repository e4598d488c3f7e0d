"""The text helpers behind the template filters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from publisher.digests.formatting import (
    absolute_url,
    format_date,
    french_spacing,
    tidy_text,
    underline,
    with_utm,
    wrap,
)
from publisher.french import plural

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("moment", "pattern", "expected"),
    [
        (datetime(2020, 2, 4, 23, 30, tzinfo=UTC), "d MMMM y", "5 février 2020"),  # already the 5th in Paris
        (datetime(2020, 2, 5, 12, 0, tzinfo=UTC), "EEEE d MMMM", "mercredi 5 février"),
        (date(2026, 8, 1), "d MMMM y", "1er août 2026"),
        (date(2026, 8, 1), "dd/MM/y", "01/08/2026"),
        (date(2026, 12, 25), "d MMMM y", "25 décembre 2026"),
    ],
)
def test_french_dates(moment, pattern, expected):
    assert format_date(moment, pattern, "fr", PARIS) == expected


def test_english_dates_have_no_premier():
    assert format_date(date(2026, 8, 1), "d MMMM y", "en") == "1 August 2026"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        format_date(datetime(2026, 1, 1), "d MMMM y", "fr", PARIS)


def test_utm_keeps_the_query_and_fragment_and_existing_utm_values():
    assert with_utm("https://example.org/a?x=1&y=%C3%A9#part", "hebdo") == (
        "https://example.org/a?x=1&y=%C3%A9&utm_source=newsletter&utm_medium=email&utm_campaign=hebdo#part"
    )
    assert with_utm("https://example.org/a?utm_source=rss", "hebdo") == (
        "https://example.org/a?utm_source=rss&utm_medium=email&utm_campaign=hebdo"
    )


def test_absolute_url_resolves_against_the_site():
    assert absolute_url("/medias/a.jpg", "https://example.org") == "https://example.org/medias/a.jpg"
    assert absolute_url("https://cdn.example.net/a.jpg", "https://example.org") == "https://cdn.example.net/a.jpg"


def test_french_plural():
    assert [plural(n, "nouveauté", "nouveautés") for n in (0, 1, 2)] == ["nouveauté", "nouveauté", "nouveautés"]


def test_wrap_never_breaks_urls_and_keeps_no_break_spaces():
    url = "https://www.horizons-emploi.example.org/actualites/" + "x" * 80
    wrapped = wrap(f"Lire la suite\u00a0: {url} et la suite du texte", width=30)
    assert url in wrapped.splitlines()[1]
    assert wrapped.splitlines()[0] == "Lire la suite\u00a0:"
    assert wrap("un deux trois quatre", width=9, indent="  ", first_indent="* ") == "* un deux\n  trois\n  quatre"


def test_french_spacing_keeps_punctuation_with_its_word():
    assert french_spacing("Emploi : « oui » ? Non !") == "Emploi\u00a0: «\u00a0oui\u00a0»\u00a0? Non\u00a0!"
    assert french_spacing("https://example.org:8080/a") == "https://example.org:8080/a"


def test_text_helpers():
    assert underline("Jeunes") == "Jeunes\n======"
    assert tidy_text("\n\na  \n\n\n\nb\n\n") == "a\n\nb\n"
